//! The benchmark driver behind `scripts/bench` (which builds everything first): it serves the
//! release console, its static twin, a React build and the table pages from one `cmek-server`,
//! seeds 10,000 clusters through the API, measures in headless Chromium and with its own HTTP
//! load generator, and prints one table with the targets. See docs/performance.md.
//!
//! Times are printed, never asserted: this is a measurement, not a test.

#[cfg(not(target_arch = "wasm32"))]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod cpu_profile;
#[cfg(not(target_arch = "wasm32"))]
mod load;
#[cfg(not(target_arch = "wasm32"))]
mod network;
#[cfg(not(target_arch = "wasm32"))]
mod report;
#[cfg(not(target_arch = "wasm32"))]
mod run;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let opts = match run::Opts::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) if e == "help" => {
            println!("{}", run::USAGE);
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cmek-bench: {e}\n\n{}", run::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run::run(opts));
    std::process::ExitCode::SUCCESS
}

#[cfg(target_arch = "wasm32")]
fn main() {}
