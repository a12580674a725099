//! Command line: `cmek-server [serve] [--listen ADDR] [--data-dir DIR] [--console-dir DIR] …`.

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the console (the default).
    Serve(ServeArgs),
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
    /// The AWS account the key policy must trust (TiDB Cloud's `<pingcap-account>`); "none" to
    /// serve no account, as the real service does.
    #[arg(long, env = "CMEK_SERVICE_ACCOUNT", default_value = "444455556666", value_parser = parse_account)]
    pub service_account: Account,
    /// The sandbox KMS's own AWS account (the customer's side).
    #[arg(long, env = "CMEK_SANDBOX_ACCOUNT", default_value = "111122223333", value_parser = parse_account)]
    pub sandbox_account: Account,
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
}
