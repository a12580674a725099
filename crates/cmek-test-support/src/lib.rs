//! Test support shared by the server's tests (`crates/cmek-server/tests`), the end-to-end tests
//! (`e2e`) and, through the end-to-end harness, the benchmark (`bench`):
//!
//! - [`digest`]: API keys and the HTTP Digest client, signing with the gateway's own signer
//!   (`cmek_server::gateway::digest_client`), so tests and production sign one way;
//! - [`process`]: `cmek-server api-key …` and starting the binary until it listens (the binary's
//!   path is passed in: `CARGO_BIN_EXE_cmek-server` exists only in cmek-server's own tests);
//! - [`catalog`]: lookups in the provider catalog (`ListProviderRegions`);
//! - [`fake_upstream`]: a v1beta upstream that fails on demand, for gateway mode.
#![cfg(not(target_arch = "wasm32"))]

pub mod catalog;
pub mod digest;
pub mod fake_upstream;
pub mod process;

/// Tests name error codes, never their numbers (one table test in cmek-core pins those).
pub use cmek_core::ErrorCode;
