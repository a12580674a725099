//! The reference server: TiDB Cloud API v1beta with every CMEK rule enforced, SQLite storage,
//! a simulated cluster lifecycle and a sandbox AWS KMS; it also serves the built console.
//!
//! Map: `config` (command line) → `serve` (start, background jobs) → `app` (state, router) →
//! `routes::*` (one module per API area) → `store` (SQL) / `keys` (key checks) / `kms` (the
//! KMS trait and the sandbox). `auth` authenticates every `/api/` request (HTTP Digest for API
//! clients, sessions for the console), limits its rate and sets the security headers. Every rule
//! itself is in `cmek-core`.

pub mod app;
pub mod auth;
pub mod backup_store;
pub mod clock;
pub mod config;
pub mod console;
pub mod cors;
pub mod db;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod keys;
pub mod kms;
pub mod list_cache;
pub mod not_implemented;
pub mod openapi;
pub mod private_files;
pub mod routes;
pub mod serve;
pub mod static_site;
pub mod store;
