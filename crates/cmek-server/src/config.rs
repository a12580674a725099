//! Command line: `cmek-server [serve] [--listen ADDR] [--data-dir DIR] [--console-dir DIR] …`, and
//! `cmek-server api-key create|list|revoke --data-dir DIR …`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cmek-server",
    version,
    about = "TiDB Cloud API v1beta with every CMEK rule, a simulated cluster lifecycle and a sandbox AWS KMS; serves the console.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start: the size of the serve variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the console (the default).
    Serve(ServeArgs),
    /// Manage the API keys (HTTP Digest credentials) of a data directory.
    ApiKey(ApiKeyArgs),
    /// Print the response headers a static host must send with a built console (its
    /// Content-Security-Policy, with the hash of trunk's inline loader, and the other security
    /// headers this server sets), one `Name: value` a line. Used by scripts/build-static.
    StaticHeaders {
        /// The built console's index.html (its `cmek-api-base` meta names the API's origin).
        index_html: PathBuf,
    },
}

#[derive(Clone, Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Clone, Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key pair; prints the public and the private key (the private key only now).
    Create {
        /// Directory of the SQLite database (created if missing).
        #[arg(long, env = "CMEK_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// A name to recognise the key by in `api-key list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// List the keys: public key, name, when created, when revoked.
    List {
        #[arg(long, env = "CMEK_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Revoke a key: requests signed with it are refused from then on.
    Revoke {
        #[arg(long, env = "CMEK_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The public key to revoke.
        public_key: String,
    },
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CMEK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the SQLite database (created if missing).
    #[arg(long, env = "CMEK_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The built console (trunk's dist/). Missing: the API is served alone.
    #[arg(long, env = "CMEK_CONSOLE_DIR", default_value = "dist")]
    pub console_dir: PathBuf,
    /// Seconds each simulated cluster transition takes (CREATING, PAUSING, RESUMING, MODIFYING).
    #[arg(long, env = "CMEK_TRANSITION_SECS", default_value_t = 5.0, value_parser = parse_secs)]
    pub transition_secs: f64,
    /// Seconds between automatic checks of every configured key.
    #[arg(long, env = "CMEK_KEY_CHECK_SECS", default_value_t = 60.0, value_parser = parse_secs)]
    pub key_check_secs: f64,
    /// Seconds between the automatic backups of each running Dedicated cluster: daily, as the
    /// real service; shorter to watch the schedule (and a revoked key failing it) in a demo.
    #[arg(long, env = "CMEK_AUTO_BACKUP_SECS", default_value_t = cmek_core::backup::AUTO_BACKUP_INTERVAL_SECS, value_parser = parse_positive_secs)]
    pub auto_backup_secs: f64,
    /// The AWS account the key policy must trust (TiDB Cloud's `<pingcap-account>`); "none" to
    /// serve no account, as the real service does.
    #[arg(long, env = "CMEK_SERVICE_ACCOUNT", default_value = "444455556666", value_parser = parse_account)]
    pub service_account: Account,
    /// The sandbox KMS's own AWS account (the customer's side).
    #[arg(long, env = "CMEK_SANDBOX_ACCOUNT", default_value = "111122223333", value_parser = parse_account)]
    pub sandbox_account: Account,
    /// A file whose first line is a password that also signs the console in (besides the
    /// one-time link printed at start). The environment variable CMEK_CONSOLE_PASSWORD does the
    /// same without a file.
    #[arg(long, env = "CMEK_CONSOLE_PASSWORD_FILE")]
    pub console_password_file: Option<PathBuf>,
    /// Mark the session cookie `Secure` and expect `https://` origins: set this when a reverse
    /// proxy in front terminates TLS.
    #[arg(long, env = "CMEK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Hours a console session lasts (fractions allowed).
    #[arg(long, env = "CMEK_SESSION_HOURS", default_value_t = 12.0, value_parser = parse_hours)]
    pub session_hours: f64,
    /// Requests per minute per API key and per console session; 0 turns the limit off.
    #[arg(long, env = "CMEK_RATE_LIMIT_PER_MINUTE", default_value_t = 100)]
    pub rate_limit_per_minute: u32,
    /// Seconds a Digest nonce stays valid; after that the client is told `stale=true`.
    #[arg(long, env = "CMEK_NONCE_SECS", default_value_t = 300.0, value_parser = parse_positive_secs)]
    pub nonce_secs: f64,
    /// An origin (scheme://host[:port]) the console is served from besides this server: a
    /// static host, or `http://127.0.0.1:8081` for `trunk serve`. Its pages get CORS (with
    /// credentials) and may use a console session. Repeatable.
    #[arg(long = "allowed-origin", env = "CMEK_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,
    /// A name (host or host:port) this server is also reached under, e.g. the public name of a
    /// reverse proxy in front. Repeatable. Requests whose Host is none of these and none of the
    /// --listen address's own names are refused (DNS rebinding).
    #[arg(long = "public-name", env = "CMEK_PUBLIC_NAMES", value_delimiter = ',', value_parser = parse_public_name)]
    pub public_names: Vec<String>,
    /// Minutes the one-time sign-in link printed at start stays usable (fractions allowed).
    #[arg(long, env = "CMEK_SIGN_IN_LINK_MINUTES", default_value_t = 60.0, value_parser = parse_minutes)]
    pub sign_in_link_minutes: f64,
    /// Failed authentications (401 answers) per minute per client address before that address
    /// gets 429 without any checking; 0 turns the limit off.
    #[arg(long, env = "CMEK_FAILED_AUTH_PER_MINUTE", default_value_t = 300)]
    pub failed_auth_per_minute: u32,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept.
    #[arg(long, env = "CMEK_HEADER_READ_TIMEOUT_SECS", default_value_t = 10.0, value_parser = parse_positive_secs)]
    pub header_read_timeout_secs: f64,
    /// Seconds a client has to send a request's body.
    #[arg(long, env = "CMEK_BODY_TIMEOUT_SECS", default_value_t = 30.0, value_parser = parse_positive_secs)]
    pub body_timeout_secs: f64,
    /// Connections served at once (more wait to be accepted). Also kept below the process's
    /// open-file limit.
    #[arg(long, env = "CMEK_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds open connections get to finish after SIGTERM / Ctrl-C before the server exits
    /// anyway.
    #[arg(long, env = "CMEK_SHUTDOWN_GRACE_SECS", default_value_t = 10.0, value_parser = parse_secs)]
    pub shutdown_grace_secs: f64,
    /// Where the console is hosted when not by this server (e.g.
    /// `https://example.github.io/cmek/`): the printed sign-in link points there.
    #[arg(long, env = "CMEK_CONSOLE_URL", value_parser = parse_console_url)]
    pub console_url: Option<String>,
    /// Gateway mode (`--upstream URL`): serve v1beta from another v1beta API instead.
    #[command(flatten)]
    pub gateway: crate::gateway::GatewayArgs,
    #[command(flatten)]
    pub kms: crate::kms::KmsArgs,
}

/// An absolute http(s) URL, without a query or fragment; kept without its trailing slash.
fn parse_console_url(s: &str) -> Result<String, String> {
    let t = s.trim();
    let rest = t.strip_prefix("http://").or_else(|| t.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) => {
            Ok(t.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "\"{s}\" is not the console's URL, like https://console.example.com/ or https://example.github.io/cmek/"
        )),
    }
}

/// A 12-digit AWS account id, or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account(pub Option<String>);

fn parse_account(s: &str) -> Result<Account, String> {
    if s == "none" {
        return Ok(Account(None));
    }
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Account(Some(s.to_owned())))
    } else {
        Err(format!("\"{s}\" is not a 12-digit AWS account id (or \"none\")"))
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("\"{s}\" is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(format!("{v} is outside 0–86400 seconds"));
    }
    Ok(v)
}

fn parse_positive_secs(s: &str) -> Result<f64, String> {
    let v = parse_secs(s)?;
    if v <= 0.0 {
        return Err("must be more than 0 seconds".into());
    }
    Ok(v)
}

fn parse_hours(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("\"{s}\" is not a number of hours"))?;
    if !(v > 0.0 && v <= 24.0 * 366.0) {
        return Err(format!("{v} is outside 0–8784 hours (more than 0)"));
    }
    Ok(v)
}

fn parse_minutes(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("\"{s}\" is not a number of minutes"))?;
    if !(v > 0.0 && v <= 24.0 * 60.0) {
        return Err(format!("{v} is outside 0–1440 minutes (more than 0)"));
    }
    Ok(v)
}

/// `host` or `host:port`: a DNS name, an IPv4 address or a bracketed IPv6 address.
fn parse_public_name(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    let bad = || format!("\"{s}\" is not a host name like console.example.com or console.example.com:8443");
    let (host, port) = crate::auth::hosts::split_host(&s).ok_or_else(bad)?;
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(bad());
    }
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
    if !name_ok {
        return Err(bad());
    }
    Ok(s)
}

fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(s.to_ascii_lowercase()),
        _ => Err(format!("\"{s}\" is not an origin like http://127.0.0.1:8081")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let cli = Cli::try_parse_from(["cmek-server"]).unwrap();
        assert_eq!(cli.serve.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.serve.service_account, Account(Some("444455556666".into())));
        let e = Cli::try_parse_from(["cmek-server", "--listen", "nowhere"]).unwrap_err().to_string();
        assert!(e.contains("--listen") && e.contains("nowhere"), "{e}");
        let e = Cli::try_parse_from(["cmek-server", "--service-account", "12"]).unwrap_err().to_string();
        assert!(e.contains("12-digit"), "{e}");
        let e = Cli::try_parse_from(["cmek-server", "--transition-secs=-1"]).unwrap_err().to_string();
        assert!(e.contains("outside"), "{e}");
        let cli = Cli::try_parse_from(["cmek-server", "serve", "--service-account", "none"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve(a)) if a.service_account == Account(None)));
    }

    #[test]
    fn security_flags() {
        let cli = Cli::try_parse_from(["cmek-server"]).unwrap();
        assert_eq!(
            (cli.serve.rate_limit_per_minute, cli.serve.session_hours, cli.serve.nonce_secs),
            (100, 12.0, 300.0)
        );
        assert!(!cli.serve.secure_cookies && cli.serve.allowed_origins.is_empty());
        let cli = Cli::try_parse_from([
            "cmek-server",
            "--secure-cookies",
            "--session-hours",
            "0.5",
            "--rate-limit-per-minute",
            "0",
            "--nonce-secs",
            "2",
            "--allowed-origin",
            "http://127.0.0.1:8081/",
        ])
        .unwrap();
        assert!(cli.serve.secure_cookies);
        assert_eq!(cli.serve.allowed_origins, vec!["http://127.0.0.1:8081".to_owned()]);
        assert_eq!(cli.serve.sign_in_link_minutes, 60.0);
        let cli =
            Cli::try_parse_from(["cmek-server", "--public-name", "Console.Example.com", "--public-name", "a.b:8443"])
                .unwrap();
        assert_eq!(cli.serve.public_names, vec!["console.example.com".to_owned(), "a.b:8443".to_owned()]);
        for bad in [
            ["--session-hours", "0"],
            ["--nonce-secs", "0"],
            ["--allowed-origin", "127.0.0.1:8081"],
            ["--public-name", "http://x"],
            ["--public-name", "a b"],
            ["--public-name", "x:99999"],
            ["--max-connections", "0"],
            ["--sign-in-link-minutes", "0"],
        ] {
            assert!(Cli::try_parse_from(["cmek-server", bad[0], bad[1]]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn console_url() {
        let cli = Cli::try_parse_from(["cmek-server", "--console-url", "https://example.github.io/cmek/"]).unwrap();
        assert_eq!(cli.serve.console_url.as_deref(), Some("https://example.github.io/cmek"));
        for bad in ["example.com", "https://", "https://x/?a", "ftp://x"] {
            let e = Cli::try_parse_from(["cmek-server", "--console-url", bad]).unwrap_err().to_string();
            assert!(e.contains("--console-url") && e.contains("is not the console's URL"), "{e}");
        }
        let cli = Cli::try_parse_from(["cmek-server", "static-headers", "dist/index.html"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::StaticHeaders { index_html }) if index_html.ends_with("index.html"))
        );
    }

    #[test]
    fn api_key_commands() {
        let cli = Cli::try_parse_from(["cmek-server", "api-key", "create", "--data-dir", "d", "--name", "ci"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::ApiKey(ApiKeyArgs { command: ApiKeyCommand::Create { name: Some(n), .. } })) if n == "ci")
        );
        let cli = Cli::try_parse_from(["cmek-server", "api-key", "revoke", "--data-dir", "d", "ABCD1234"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::ApiKey(ApiKeyArgs { command: ApiKeyCommand::Revoke { public_key, .. } })) if public_key == "ABCD1234")
        );
        assert!(Cli::try_parse_from(["cmek-server", "api-key", "revoke", "--data-dir", "d"]).is_err());
    }
}
