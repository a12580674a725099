//! The organisation's API key pair the gateway signs upstream requests with. It is read once at
//! start, from a private file or the environment, and never printed: its `Debug` shows neither
//! half, and errors name the file or variable, never the contents.

use std::path::{Path, PathBuf};

pub const PUBLIC_ENV: &str = "CMEK_UPSTREAM_PUBLIC_KEY";
pub const PRIVATE_ENV: &str = "CMEK_UPSTREAM_PRIVATE_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyPairError {
    #[error(
        "gateway mode needs the upstream key pair: pass --upstream-key-file FILE, or set {PUBLIC_ENV} and {PRIVATE_ENV}"
    )]
    Missing,
    #[error("only one of {PUBLIC_ENV} and {PRIVATE_ENV} is set; set both (or use --upstream-key-file)")]
    HalfInEnv,
    #[error(transparent)]
    NotPrivate(#[from] crate::private_files::PrivateError),
    #[error("cannot read the upstream key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the upstream key file {path} holds no key pair: write the lines \"public key: …\" and \"private key: …\", or one line PUBLIC_KEY:PRIVATE_KEY"
    )]
    Malformed { path: PathBuf },
    #[error("the upstream {what} contains a space, a quote, a backslash or a control character; no API key does")]
    BadCharacter { what: &'static str },
}

/// The key pair: public key (Digest user name) and private key (Digest password).
#[derive(Clone)]
pub struct KeyPair {
    public: String,
    private: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair(<withheld>)")
    }
}

impl KeyPair {
    pub fn new(public: &str, private: &str) -> Result<Self, KeyPairError> {
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
        if !ok(public) {
            return Err(KeyPairError::BadCharacter { what: "public key" });
        }
        if !ok(private) {
            return Err(KeyPairError::BadCharacter { what: "private key" });
        }
        Ok(Self { public: public.to_owned(), private: private.to_owned() })
    }

    /// From `file` (made 0600 if this account owns it, refused if another does), else from the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, KeyPairError> {
        match file {
            Some(path) => Self::from_file(path),
            None => match (std::env::var(PUBLIC_ENV), std::env::var(PRIVATE_ENV)) {
                (Ok(p), Ok(s)) => Self::new(p.trim(), s.trim()),
                (Err(_), Err(_)) => Err(KeyPairError::Missing),
                _ => Err(KeyPairError::HalfInEnv),
            },
        }
    }

    fn from_file(path: &Path) -> Result<Self, KeyPairError> {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(KeyPairError::Read {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        crate::private_files::private_if_present(path)?;
        let text =
            std::fs::read_to_string(path).map_err(|source| KeyPairError::Read { path: path.to_owned(), source })?;
        Self::parse(&text).ok_or_else(|| KeyPairError::Malformed { path: path.to_owned() })?
    }

    /// The two forms of a key file; `None` when neither is there.
    fn parse(text: &str) -> Option<Result<Self, KeyPairError>> {
        let field = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        if let (Some(p), Some(s)) = (field("public key"), field("private key")) {
            return Some(Self::new(&p, &s));
        }
        let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
        let (p, s) = line.split_once(':')?;
        Some(Self::new(p.trim(), s.trim()))
    }

    pub fn public(&self) -> &str {
        &self.public
    }

    /// Only for computing Digest hashes.
    pub(super) fn private(&self) -> &str {
        &self.private
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_in_both_forms_are_read_and_made_private() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("k");
        std::fs::write(&f, "name: e2e\npublic key: PUB1\nprivate key: SECRET-ONE\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let k = KeyPair::load(Some(&f)).unwrap();
        assert_eq!((k.public(), k.private()), ("PUB1", "SECRET-ONE"));
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!format!("{k:?}").contains("SECRET"));
        std::fs::write(&f, "# comment\nPUB2:SECRET-TWO\n").unwrap();
        let k = KeyPair::load(Some(&f)).unwrap();
        assert_eq!((k.public(), k.private()), ("PUB2", "SECRET-TWO"));
        std::fs::write(&f, "SECRET-THREE\n").unwrap();
        let e = KeyPair::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("holds no key pair") && !e.contains("SECRET"), "{e}");
        std::fs::write(&f, "PUB:SEC RET\n").unwrap();
        let e = KeyPair::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("private key") && !e.contains("SEC RET"), "{e}");
        let e = KeyPair::load(Some(&tmp.path().join("absent"))).unwrap_err().to_string();
        assert!(e.contains("absent"), "{e}");
    }
}
