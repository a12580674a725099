//! Domain types and every CMEK rule, shared by the console (wasm32) and the server (native).
//!
//! No I/O and no clock: callers pass the time in. A rule lives here once; the server enforces
//! it and the console checks the same thing as the person types.

pub mod api;
pub mod arn;
pub mod backup;
pub mod cluster;
pub mod cluster_update;
pub mod cmek;
pub mod error;
pub mod ext;
pub mod key_health;
pub mod kms;
pub mod lifecycle;
pub mod page;
pub mod policy;
pub mod project_cmek;
pub mod region;
pub mod text;
pub mod time;

pub use error::{ErrorCode, ErrorResponse, FieldError, RuleError};
