//! The reference server: TiDB Cloud API v1beta with every CMEK rule enforced, SQLite storage,
//! a simulated cluster lifecycle and a sandbox AWS KMS; it also serves the built console.
//!
//! Map: `config` (command line) → `serve` (start, background jobs) → `app` (the router) with
//! `state` (what handlers get) → `routes::*` (one module per API area; handlers, the only code
//! that knows HTTP) → `store`/`backup_store` over `db` (SQL) / `key_access` (key checks and
//! health) / `kms` (the KMS trait and the sandbox), each with its own error type that `error`
//! turns into an answer. `auth` holds the layers in front of every `/api/` request
//! (authentication, rate limit, origin, idempotency) and the security headers. Every rule
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
pub mod key_access;
pub mod kms;
pub mod list_cache;
pub mod not_implemented;
pub mod openapi;
pub mod private_files;
pub mod routes;
pub mod serve;
pub mod state;
pub mod static_site;
pub mod store;
