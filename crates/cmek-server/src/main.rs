use clap::Parser;
use cmek_server::config::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The api-key commands print their answer on stdout; only problems go to the log.
    let default_log = if matches!(cli.command, Some(Command::ApiKey(_) | Command::StaticHeaders { .. })) {
        "warn"
    } else {
        "info,tower_http=warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CMEK_LOG").unwrap_or_else(|_| default_log.into()))
        .with_writer(std::io::stderr)
        .init();
    let mut args = match cli.command {
        Some(Command::Serve(a)) => a,
        Some(Command::StaticHeaders { index_html }) => {
            return printed(cmek_server::static_site::headers_of(&index_html));
        }
        Some(Command::ApiKey(a)) => return printed(cmek_server::auth::api_keys::run(&a)),
        None => cli.serve,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cmek-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let data_dir = args.data_dir.clone();
    let console = args.console_dir.join("index.html").is_file() || args.console_url.is_some();
    let console_url = args.console_url.clone();
    // Made here (when not given) so they can be printed; the server uses the same pair.
    let kms_given = args.kms.sandbox_access_key_id.is_some();
    let kms_creds = args.kms.sandbox_credentials();
    let result = runtime.block_on(cmek_server::serve::serve(args, |addr, token| {
        // On stdout, one line each, so scripts and tests can read them.
        println!("cmek-server: listening on http://{addr}");
        println!("cmek-server: data in {}", data_dir.join("cmek.db").display());
        if console {
            println!("cmek-server: open the sign-in link below in a browser (it works once; restart for a new one)");
        }
        println!("sandbox KMS endpoint (AWS KMS API, e.g. aws kms list-keys --endpoint-url): http://{addr}");
        if kms_given {
            println!("sandbox KMS credentials: the pair given (AWS_ACCESS_KEY_ID={})", kms_creds.access_key_id);
        } else {
            println!(
                "sandbox KMS credentials: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
                kms_creds.access_key_id, kms_creds.secret_access_key
            );
        }
        let console_url = console_url.unwrap_or_else(|| format!("http://{addr}"));
        println!("console sign-in: {console_url}/sign-in#token={token}");
    }));
    // Connections still open after the shutdown deadline, and background jobs, end here.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmek-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A one-shot command's answer on stdout, or its error on stderr, as the exit code says.
fn printed<E: std::fmt::Display>(answer: Result<String, E>) -> ExitCode {
    match answer {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cmek-server: {e}");
            ExitCode::FAILURE
        }
    }
}
