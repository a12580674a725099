//! API keys, as TiDB Cloud has them: a public key (the Digest user name) and a private key (the
//! password) shown once, at creation. Only the Digest hashes `HA1 = H(public:tidbcloud:private)`
//! for MD5 and SHA-256 are stored, never the private key. `cmek-server api-key …` manages them.

use super::digest::{Algorithm, REALM, ha1};
use crate::config::{ApiKeyArgs, ApiKeyCommand};
use crate::db::Db;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

/// One stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub public_key: String,
    pub name: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    /// Unix ms.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    pub fn ha1(&self, alg: Algorithm) -> &str {
        match alg {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A new key pair: 8 upper-case letters and digits (like TiDB Cloud's public keys) and a
/// 32-character private key (about 190 random bits).
pub fn generate() -> (String, String) {
    (
        random_string(8, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        random_string(32, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
    )
}

/// Whether a name can be stored: 1–64 characters, no control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(format!("the name must be 1–64 characters; it has {n}"));
    }
    if name.chars().any(char::is_control) {
        return Err("the name must not contain control characters".into());
    }
    if let Some((c, at, what)) = cmek_core::text::hidden_character(name) {
        return Err(format!("the name {}", cmek_core::text::hidden_character_message(c, at, what)));
    }
    Ok(())
}

pub fn insert(c: &Connection, public: &str, private: &str, name: &str, now_ms: i64) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO api_keys (public_key, name, ha1_md5, ha1_sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            public,
            name,
            ha1(Algorithm::Md5, public, REALM, private),
            ha1(Algorithm::Sha256, public, REALM, private),
            now_ms
        ],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        public_key: r.get(0)?,
        name: r.get(1)?,
        ha1_md5: r.get(2)?,
        ha1_sha256: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

const COLUMNS: &str = "public_key, name, ha1_md5, ha1_sha256, created_at, revoked_at";

pub fn find(c: &Connection, public: &str) -> rusqlite::Result<Option<ApiKeyRow>> {
    c.query_row(&format!("SELECT {COLUMNS} FROM api_keys WHERE public_key = ?1"), [public], row).optional()
}

pub fn list(c: &Connection) -> rusqlite::Result<Vec<ApiKeyRow>> {
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, public_key"))?;
    st.query_map([], row)?.collect()
}

/// What `revoke` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    Now,
    Already(i64),
    Unknown,
}

pub fn revoke(c: &Connection, public: &str, now_ms: i64) -> rusqlite::Result<Revoked> {
    Ok(match find(c, public)? {
        None => Revoked::Unknown,
        Some(ApiKeyRow { revoked_at: Some(at), .. }) => Revoked::Already(at),
        Some(_) => {
            c.execute("UPDATE api_keys SET revoked_at = ?2 WHERE public_key = ?1", params![public, now_ms])?;
            Revoked::Now
        }
    })
}

/// `YYYY-MM-DD hh:mm:ss UTC` of a Unix ms timestamp, for people.
pub fn utc(ms: i64) -> String {
    cmek_core::time::utc_seconds(ms)
}

/// Runs `cmek-server api-key …`; the text to print, or why it failed.
pub fn run(args: &ApiKeyArgs) -> Result<String, String> {
    let now = crate::clock::now_ms();
    let (data_dir, must_exist) = match &args.command {
        ApiKeyCommand::Create { data_dir, .. } => (data_dir, false),
        ApiKeyCommand::List { data_dir } | ApiKeyCommand::Revoke { data_dir, .. } => (data_dir, true),
    };
    if must_exist && !data_dir.join("cmek.db").is_file() {
        return Err(format!(
            "there is no database in {} (start the server with --data-dir {} first, or create a key there)",
            data_dir.display(),
            data_dir.display()
        ));
    }
    let db = Db::open(data_dir).map_err(|e| e.to_string())?;
    let fail = |e: crate::db::StorageError| e.to_string();
    match &args.command {
        ApiKeyCommand::Create { name, .. } => {
            let name = name.clone().unwrap_or_else(|| "api-key".to_owned());
            check_name(&name)?;
            let (public, private) = db
                .write_blocking(|tx| {
                    loop {
                        let (public, private) = generate();
                        if find(tx, &public)?.is_none() {
                            insert(tx, &public, &private, &name, now)?;
                            return Ok((public, private));
                        }
                    }
                })
                .map_err(fail)?;
            Ok(format!(
                "API key \"{name}\" created.\n\
                 public key: {public}\n\
                 private key: {private}\n\
                 The private key is shown only this once: the server keeps only its Digest hashes.\n\
                 Use the pair with HTTP Digest authentication, e.g.\n  \
                 curl --digest --user '{public}:{private}' http://127.0.0.1:8080/api/v1beta/projects\n"
            ))
        }
        ApiKeyCommand::List { .. } => {
            let keys = db.write_blocking(|tx| Ok(list(tx)?)).map_err(fail)?;
            if keys.is_empty() {
                return Ok("no API keys (create one with: cmek-server api-key create --data-dir DIR)\n".into());
            }
            let width = keys.iter().map(|k| k.name.chars().count()).max().unwrap_or(4).max(4);
            let mut out = format!("{:<10}  {:<width$}  {:<23}  REVOKED\n", "PUBLIC KEY", "NAME", "CREATED");
            for k in &keys {
                let revoked = k.revoked_at.map_or_else(|| "-".to_owned(), utc);
                out.push_str(&format!(
                    "{:<10}  {:<width$}  {:<23}  {revoked}\n",
                    k.public_key,
                    k.name,
                    utc(k.created_at)
                ));
            }
            Ok(out)
        }
        ApiKeyCommand::Revoke { public_key, .. } => {
            let key = public_key.clone();
            match db.write_blocking(move |tx| Ok(revoke(tx, &key, now)?)).map_err(fail)? {
                Revoked::Now => {
                    Ok(format!("API key {public_key} revoked: requests signed with it are refused from now on.\n"))
                }
                Revoked::Already(at) => Ok(format!("API key {public_key} was already revoked at {}.\n", utc(at))),
                Revoked::Unknown => Err(format!("there is no API key {public_key} (see: cmek-server api-key list)")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys() {
        let (p, s) = generate();
        assert_eq!(p.len(), 8);
        assert!(p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(s.len(), 32);
        assert_ne!(generate(), generate());
    }

    #[test]
    fn names() {
        assert!(check_name("ci").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name("a\nb").is_err());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_210_096_000), "2024-02-29 12:34:56 UTC");
        assert_eq!(utc(4_102_444_799_999), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn only_hashes_are_stored_and_revoking_sticks() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write_blocking(|tx| Ok(insert(tx, "PUB12345", "secret-private", "n", 5)?)).unwrap();
        let k = db.write_blocking(|tx| Ok(find(tx, "PUB12345")?)).unwrap().unwrap();
        assert_eq!(k.ha1(Algorithm::Md5), ha1(Algorithm::Md5, "PUB12345", "tidbcloud", "secret-private"));
        assert_eq!(k.ha1_sha256.len(), 64);
        let raw = std::fs::read(db.path()).unwrap();
        let wal = std::fs::read(db.path().with_extension("db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(14).any(|w| w == b"secret-private"), "the private key is never stored");
        }
        assert_eq!(db.write_blocking(|tx| Ok(revoke(tx, "PUB12345", 9)?)).unwrap(), Revoked::Now);
        assert_eq!(db.write_blocking(|tx| Ok(revoke(tx, "PUB12345", 10)?)).unwrap(), Revoked::Already(9));
        assert_eq!(db.write_blocking(|tx| Ok(revoke(tx, "NOPE", 10)?)).unwrap(), Revoked::Unknown);
    }
}
