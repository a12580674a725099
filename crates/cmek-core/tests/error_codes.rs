//! The one place that pins every error code's number and HTTP status. Every other test names
//! the `ErrorCode` (never its number), so renumbering a code fails this test and only this one:
//! the numbers are the API's contract (three are the real TiDB Cloud API's own), and clients,
//! the console and the docs rely on them.

use cmek_core::ErrorCode;

/// (code, its number, the HTTP status it travels with): every code, in the catalogue's order.
const TABLE: &[(ErrorCode, i64, u16)] = &[
    (ErrorCode::Unauthenticated, 49900001, 401),
    (ErrorCode::PermissionDenied, 49900003, 403),
    (ErrorCode::RateLimited, 49900007, 429),
    (ErrorCode::MalformedJson, 49910001, 400),
    (ErrorCode::InvalidField, 49910002, 400),
    (ErrorCode::MissingField, 49910003, 400),
    (ErrorCode::InvalidQuery, 49910004, 400),
    (ErrorCode::InvalidPathId, 49910005, 400),
    (ErrorCode::PayloadTooLarge, 49910006, 400),
    (ErrorCode::UnsupportedMediaType, 49910007, 400),
    (ErrorCode::ValidationFailed, 49910008, 400),
    (ErrorCode::MethodNotAllowed, 49910009, 405),
    (ErrorCode::IdempotencyKeyReused, 49910010, 400),
    (ErrorCode::CmekNotEnabled, 49920001, 400),
    (ErrorCode::CmekRegionLocked, 49920002, 400),
    (ErrorCode::CmekKeyAlreadyConfigured, 49920003, 400),
    (ErrorCode::CmekNotConfigured, 49920004, 400),
    (ErrorCode::CmekClusterNotAllowed, 49920005, 400),
    (ErrorCode::CmekClusterRegionMismatch, 49920006, 400),
    (ErrorCode::KmsArnInvalid, 49920007, 400),
    (ErrorCode::KmsArnRegionMismatch, 49920008, 400),
    (ErrorCode::CmekRestoreKeyMismatch, 49920009, 400),
    (ErrorCode::KeyAccessDenied, 49930001, 400),
    (ErrorCode::KeyDisabled, 49930002, 400),
    (ErrorCode::KeyPendingDeletion, 49930003, 400),
    (ErrorCode::KeyNotFound, 49930004, 400),
    (ErrorCode::KmsUnreachable, 49930005, 503),
    (ErrorCode::KmsInvalidState, 49930006, 400),
    (ErrorCode::ClusterStateConflict, 49940001, 400),
    (ErrorCode::UpdateConflictingFields, 49940002, 400),
    (ErrorCode::UpdateEmpty, 49940003, 400),
    (ErrorCode::BackupNotAllowed, 49940004, 400),
    (ErrorCode::BackupStateConflict, 49940005, 400),
    (ErrorCode::StorageChangeTooSoon, 49940006, 400),
    (ErrorCode::ProjectNotFound, 49950001, 404),
    (ErrorCode::ClusterNotFound, 49950002, 404),
    (ErrorCode::RouteNotFound, 49950003, 404),
    (ErrorCode::SandboxKeyNotFound, 49950004, 404),
    (ErrorCode::SandboxDisabled, 49950005, 404),
    (ErrorCode::BackupNotFound, 49950006, 404),
    (ErrorCode::RestoreNotFound, 49950007, 404),
    (ErrorCode::NotImplemented, 49950008, 501),
    (ErrorCode::UpstreamUnauthenticated, 49960001, 502),
    (ErrorCode::UpstreamUnreachable, 49960002, 502),
    (ErrorCode::UpstreamTimeout, 49960003, 504),
    (ErrorCode::UpstreamFailed, 49960004, 502),
    (ErrorCode::Internal, 49990001, 500),
];

#[test]
fn every_error_code_keeps_its_number_and_http_status() {
    let listed: Vec<ErrorCode> = TABLE.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(listed, ErrorCode::ALL, "the table lists every code, in the catalogue's order");
    for &(code, number, status) in TABLE {
        assert_eq!((code.code(), code.http_status()), (number, status), "{}", code.name());
    }
}
