//! The data directory holds what signs requests (the API keys' Digest `HA1` hashes) and the
//! fingerprint secret: another account on the machine must not read it. The directory is made
//! 0700 and its files 0600 whatever the umask; an existing directory or file that others can
//! read is tightened (and said so on stderr) when this account owns it, refused otherwise.

use std::path::{Path, PathBuf};

/// Why the data directory or one of its files cannot be kept private.
#[derive(Debug, thiserror::Error)]
pub enum PrivateError {
    #[error("cannot create the data directory {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot read the mode of {path}: {source}")]
    Stat { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} has mode {mode:04o} and belongs to another user (uid {owner}): others could read the API key hashes in it; use a directory of your own, or chmod {want:o} it"
    )]
    NotOwned { path: PathBuf, mode: u32, owner: u32, want: u32 },
    #[error(
        "{path} has mode {mode:04o}, a directory shared with other users: the data directory must be one of its own (e.g. {path}/cmek-data)"
    )]
    Shared { path: PathBuf, mode: u32 },
    #[error("{path} has mode {mode:04o} (others can read it) and cannot be made {want:04o}: {source}")]
    Chmod { path: PathBuf, mode: u32, want: u32, source: std::io::Error },
    #[error("cannot read or write the secret {path}: {source}")]
    Secret { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a regular file (it is a symbolic link or a special file); refusing to use it")]
    NotAFile { path: PathBuf },
}

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) 0700, or tightens an existing one to 0700.
pub fn private_dir(dir: &Path) -> Result<(), PrivateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|source| PrivateError::Create { path: dir.to_owned(), source })?;
        }
        tighten(dir, DIR_MODE)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(|source| PrivateError::Create { path: dir.to_owned(), source })
    }
}

/// Creates `file` empty with mode 0600 if missing, or tightens it to 0600.
pub fn private_file(file: &Path) -> Result<(), PrivateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if std::fs::symlink_metadata(file).is_err() {
            // create_new: never follows a symlink planted in between.
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(file) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(PrivateError::Create { path: file.to_owned(), source }),
            }
        }
    }
    private_if_present(file)
}

/// Tightens `file` to 0600 if it exists.
pub fn private_if_present(file: &Path) -> Result<(), PrivateError> {
    match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PrivateError::Stat { path: file.to_owned(), source }),
        Ok(m) if !m.file_type().is_file() => Err(PrivateError::NotAFile { path: file.to_owned() }),
        Ok(_) => tighten(file, FILE_MODE),
    }
}

#[cfg(unix)]
fn tighten(path: &Path, want: u32) -> Result<(), PrivateError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path).map_err(|source| PrivateError::Stat { path: path.to_owned(), source })?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if meta.is_dir() && mode & 0o1000 != 0 {
        return Err(PrivateError::Shared { path: path.to_owned(), mode });
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(PrivateError::NotOwned { path: path.to_owned(), mode, owner: meta.uid(), want });
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(want)).map_err(|source| PrivateError::Chmod {
        path: path.to_owned(),
        mode,
        want,
        source,
    })?;
    // On stderr, not only in the log: the api-key commands log warnings only.
    eprintln!("cmek-server: {} had mode {mode:04o} (readable by other users); it is now {want:04o}", path.display());
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: u32) -> Result<(), PrivateError> {
    Ok(())
}

/// A secret of `len` random bytes kept in `file` (0600), created on first use.
pub fn secret(file: &Path, len: usize) -> Result<Vec<u8>, PrivateError> {
    use rand::RngCore;
    use std::io::Write;
    let read_err = |source| PrivateError::Secret { path: file.to_owned(), source };
    if std::fs::symlink_metadata(file).is_err() {
        let mut bytes = vec![0u8; len];
        rand::rng().fill_bytes(&mut bytes);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, FILE_MODE);
        match opts.open(file) {
            Ok(mut f) => {
                f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(read_err)?;
                return Ok(bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(PrivateError::Create { path: file.to_owned(), source }),
        }
    }
    private_if_present(file)?;
    let bytes = std::fs::read(file).map_err(read_err)?;
    if bytes.len() != len {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it holds {} bytes, not the {len} of a secret this server wrote", bytes.len()),
        )));
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_and_tightens() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("f");
        private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_if_present(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        private_if_present(&dir.join("absent")).unwrap();
        let sticky = tmp.path().join("shared");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = private_dir(&sticky).unwrap_err().to_string();
        assert!(e.contains("1777") && e.contains("shared"), "{e}");
        std::os::unix::fs::symlink(&f, dir.join("link")).unwrap();
        assert!(private_if_present(&dir.join("link")).unwrap_err().to_string().contains("symbolic link"));
    }

    #[test]
    fn secrets_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("s");
        let a = secret(&f, 32).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(secret(&f, 32).unwrap(), a);
        std::fs::write(&f, b"short").unwrap();
        assert!(secret(&f, 32).unwrap_err().to_string().contains("5 bytes"));
    }
}
