//! The error contract: v1beta's `ErrorResponse`, the stable numeric code of every cause, and
//! field errors carried in `details`.
//!
//! The real API documents three codes (49900001, 49900003, 49900007); every other cause gets a
//! code of its own here so clients can branch on it. Codes never change meaning once shipped.

use serde::{Deserialize, Serialize};
use std::fmt;

/// v1beta `ErrorResponse`: `{code, message, details}`; `details` is an array of strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub code: i64,
    pub message: String,
    #[serde(default)]
    pub details: Vec<String>,
}

impl ErrorResponse {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code: code.code(), message: message.into(), details: Vec::new() }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    /// The known cause, when the code is one of ours.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// The field errors carried in `details` (entries that are not `field: message` are skipped).
    pub fn field_errors(&self) -> Vec<FieldError> {
        self.details.iter().filter_map(|d| FieldError::from_detail(d)).collect()
    }
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $status:literal; )*) => {
        /// Every cause the server can answer with. The number is the `code` of the
        /// `ErrorResponse`; the status is the HTTP status it travels with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $(#[$doc])* $name, )* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$name, )* ];

            pub const fn code(self) -> i64 {
                match self { $( ErrorCode::$name => $code, )* }
            }

            pub const fn http_status(self) -> u16 {
                match self { $( ErrorCode::$name => $status, )* }
            }

            pub fn from_code(code: i64) -> Option<Self> {
                match code { $( $code => Some(ErrorCode::$name), )* _ => None }
            }

            /// The variant's name, for logs and documentation.
            pub const fn name(self) -> &'static str {
                match self { $( ErrorCode::$name => stringify!($name), )* }
            }
        }
    };
}

error_codes! {
    /// No or wrong credentials (the real API's code).
    Unauthenticated = 49900001, 401;
    /// Authenticated, but not allowed (the real API's code).
    PermissionDenied = 49900003, 403;
    /// More than the allowed requests per minute (the real API's code).
    RateLimited = 49900007, 429;

    /// The body is not JSON.
    MalformedJson = 49910001, 400;
    /// A field has the wrong type or shape, or is unknown.
    InvalidField = 49910002, 400;
    /// A required field is absent.
    MissingField = 49910003, 400;
    /// A query parameter is not valid.
    InvalidQuery = 49910004, 400;
    /// A path id is not a decimal uint64.
    InvalidPathId = 49910005, 400;
    /// The body is larger than the server accepts.
    PayloadTooLarge = 49910006, 400;
    /// The request body is not sent as `application/json`.
    UnsupportedMediaType = 49910007, 400;
    /// One or more fields break a rule; `details` names each.
    ValidationFailed = 49910008, 400;
    /// The path exists, the method does not.
    MethodNotAllowed = 49910009, 405;
    /// An `Idempotency-Key` sent again with another request (method, path or body), or while
    /// the first request with it is still running.
    IdempotencyKeyReused = 49910010, 400;

    /// aws-cmek on a project created without `aws_cmek_enabled`.
    CmekNotEnabled = 49920001, 400;
    /// A key for another region than the project's configured one.
    CmekRegionLocked = 49920002, 400;
    /// A different key for the region that already has one.
    CmekKeyAlreadyConfigured = 49920003, 400;
    /// A cluster in a CMEK project before its key is configured.
    CmekNotConfigured = 49920004, 400;
    /// A cluster type or cloud provider a CMEK project cannot host.
    CmekClusterNotAllowed = 49920005, 400;
    /// A cluster outside the CMEK project's key region.
    CmekClusterRegionMismatch = 49920006, 400;
    /// `kms_arn` is not a KMS key ARN.
    KmsArnInvalid = 49920007, 400;
    /// `kms_arn` is in another region than `region`.
    KmsArnRegionMismatch = 49920008, 400;
    /// A backup under a customer-managed key restored into a project whose key is another.
    CmekRestoreKeyMismatch = 49920009, 400;

    /// The key policy does not let the service use the key.
    KeyAccessDenied = 49930001, 400;
    /// The key is disabled in KMS.
    KeyDisabled = 49930002, 400;
    /// The key is scheduled for deletion in KMS.
    KeyPendingDeletion = 49930003, 400;
    /// KMS does not know the key.
    KeyNotFound = 49930004, 400;
    /// KMS could not be reached to check the key: a dependency unavailable for now (503), not a
    /// fault of this server and not a verdict on the key.
    KmsUnreachable = 49930005, 503;
    /// The key is in a state KMS refuses the operation in (sandbox KMS).
    KmsInvalidState = 49930006, 400;

    /// Pause from anything but AVAILABLE, resume from anything but PAUSED, and the like.
    ClusterStateConflict = 49940001, 400;
    /// PATCH sets both `config.paused` and `config.components`.
    UpdateConflictingFields = 49940002, 400;
    /// PATCH sets neither `config.paused` nor `config.components`.
    UpdateEmpty = 49940003, 400;
    /// A backup or restore of a cluster that is not DEDICATED.
    BackupNotAllowed = 49940004, 400;
    /// Deleting a running backup, restoring one that has not succeeded.
    BackupStateConflict = 49940005, 400;
    /// A second TiKV storage change on AWS within six hours of the last.
    StorageChangeTooSoon = 49940006, 400;

    ProjectNotFound = 49950001, 404;
    ClusterNotFound = 49950002, 404;
    /// No such path.
    RouteNotFound = 49950003, 404;
    SandboxKeyNotFound = 49950004, 404;
    /// The sandbox KMS is not what this server runs.
    SandboxDisabled = 49950005, 404;
    BackupNotFound = 49950006, 404;
    RestoreNotFound = 49950007, 404;
    /// An operation of the official v1beta OAS that this server does not implement.
    NotImplemented = 49950008, 501;

    /// Gateway mode: the upstream v1beta API refused the gateway's organisation key pair (its
    /// 401): the pair is wrong or was revoked. The operator must replace it.
    UpstreamUnauthenticated = 49960001, 502;
    /// Gateway mode: the upstream could not be reached, dropped the connection, or answered
    /// something that is not v1beta.
    UpstreamUnreachable = 49960002, 502;
    /// Gateway mode: the upstream did not answer in time.
    UpstreamTimeout = 49960003, 504;
    /// Gateway mode: the upstream failed (its 5xx); its own code and message are in `details`.
    UpstreamFailed = 49960004, 502;

    /// A bug or an unexpected storage failure; the message says what to report.
    Internal = 49990001, 500;
}

/// One broken rule on one field: which field, the value sent, and the rule, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `config.components.tikv.node_quantity`.
    pub field: String,
    /// What a person reads: names the value and the rule.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// `details` entry form: `field: message`.
    pub fn to_detail(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }

    /// Reads back a `details` entry written by [`FieldError::to_detail`].
    pub fn from_detail(detail: &str) -> Option<Self> {
        let (field, message) = detail.split_once(": ")?;
        let is_path = !field.is_empty()
            && field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
        is_path.then(|| Self::new(field, message))
    }
}

/// A message and its causes, each said once. An `ErrorResponse`'s message ends with its first
/// cause (so API clients that read only the message see it) while `details` lists every cause:
/// shown together, the message drops that ending, and a single cause equal to the message is not
/// listed again.
pub fn said_once(message: &str, details: &[String]) -> (String, Vec<String>) {
    match details.first() {
        Some(first) if details.len() == 1 && first == message => (message.to_owned(), Vec::new()),
        Some(first) => match message.strip_suffix(first.as_str()).and_then(|m| m.strip_suffix(": ")) {
            Some(head) => (format!("{head}."), details.to_vec()),
            None => (message.to_owned(), details.to_vec()),
        },
        None => (message.to_owned(), Vec::new()),
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A refusal by a rule: the cause, a summary, and the field errors behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl RuleError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), fields: Vec::new() }
    }

    /// A refusal for field errors; the message is the first error, the rest go in `details`.
    pub fn fields(code: ErrorCode, fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [] => "the request breaks a rule".to_owned(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        };
        Self { code, message, fields }
    }

    pub fn with_field(mut self, field: FieldError) -> Self {
        self.fields.push(field);
        self
    }

    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse::new(self.code, self.message.clone())
            .with_details(self.fields.iter().map(FieldError::to_detail).collect())
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_said_once() {
        let causes = vec!["the policy allows no kms:Decrypt".to_owned(), "the key is Disabled".to_owned()];
        let message = "Resuming the cluster was refused: the policy allows no kms:Decrypt";
        assert_eq!(said_once(message, &causes), ("Resuming the cluster was refused.".to_owned(), causes.clone()));
        // The message is the only cause: nothing to list.
        assert_eq!(said_once("the key is Disabled", &causes[1..]), ("the key is Disabled".to_owned(), vec![]));
        // A message that does not end with the first cause stays whole.
        assert_eq!(said_once("Refused.", &causes), ("Refused.".to_owned(), causes.clone()));
        assert_eq!(said_once("Refused.", &[]), ("Refused.".to_owned(), vec![]));
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "{} reuses {}", c.name(), c.code());
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
            assert!(matches!(c.http_status(), 400 | 401 | 403 | 404 | 405 | 429 | 500 | 501 | 502 | 503 | 504));
        }
        assert_eq!(ErrorCode::from_code(1), None);
    }

    #[test]
    fn field_errors_travel_in_details() {
        let e = RuleError::fields(
            ErrorCode::ValidationFailed,
            vec![FieldError::new("config.port", "10080 is reserved"), FieldError::new("name", "too short")],
        );
        let r = e.to_response();
        assert_eq!(r.message, "config.port: 10080 is reserved (and 1 more)");
        assert_eq!(r.details, vec!["config.port: 10080 is reserved", "name: too short"]);
        assert_eq!(r.field_errors(), e.fields);
        assert_eq!(FieldError::from_detail("not a field error"), None);
        assert_eq!(FieldError::from_detail("has space: x"), None);
    }
}
