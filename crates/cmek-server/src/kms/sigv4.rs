//! Checks the AWS Signature Version 4 of a request to the sandbox's AWS KMS endpoint: the
//! request is signed again with `aws-sigv4` (the SDK's own signer) over exactly the headers the
//! client says it signed, and the two signatures are compared in constant time.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::HeaderMap;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// How far a request's `X-Amz-Date` may be from this server's clock, as in AWS.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The access key pair the sandbox endpoint accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl SandboxCredentials {
    /// A fresh pair, shaped like AWS's (`AKIA…` and 40 characters).
    pub fn generate() -> Self {
        use rand::Rng;
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = rand::rng();
        let id: String = (0..16).map(|_| UPPER[rng.random_range(0..UPPER.len())] as char).collect();
        let secret: String = (0..40).map(|_| SECRET[rng.random_range(0..SECRET.len())] as char).collect();
        Self { access_key_id: format!("AKIA{id}"), secret_access_key: secret }
    }
}

/// Why a request was not accepted, as AWS names it (`__type`) and words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFailure {
    pub error_type: &'static str,
    pub message: String,
}

fn fail(error_type: &'static str, message: impl Into<String>) -> AuthFailure {
    AuthFailure { error_type, message: message.into() }
}

/// What a verified request was signed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedScope {
    pub region: String,
}

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let auth = Authorization {
        access_key_id: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    };
    (scope.next()? == "aws4_request" && scope.next().is_none()).then_some(auth)
}

/// `20261130T062600Z` → the instant.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    if s.len() != 16 || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let iso = format!("{}-{}-{}T{}:{}:{}Z", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15]);
    let t = aws_smithy_types::DateTime::from_str(&iso, aws_smithy_types::date_time::Format::DateTime).ok()?;
    SystemTime::try_from(t).ok()
}

/// Verifies `Authorization` of a request to `path` with `body`; the region it was signed for.
pub fn verify(
    creds: &SandboxCredentials,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<SignedScope, AuthFailure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(value) = header("authorization") else {
        return Err(fail(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: sign the request with AWS Signature Version 4 (the AWS CLI and SDKs do)",
        ));
    };
    let Some(auth) = parse_authorization(value) else {
        return Err(fail(
            "IncompleteSignatureException",
            "the Authorization header is not an AWS4-HMAC-SHA256 signature with Credential, SignedHeaders and Signature",
        ));
    };
    if auth.access_key_id != creds.access_key_id {
        return Err(fail(
            "UnrecognizedClientException",
            format!(
                "The security token included in the request is invalid: access key {} is not the sandbox KMS's \
                 (cmek-server prints its key pair at start)",
                auth.access_key_id
            ),
        ));
    }
    if auth.service != "kms" {
        return Err(fail(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: 'kms', not '{}'", auth.service),
        ));
    }
    if header("x-amz-security-token").is_some() {
        return Err(fail(
            "UnrecognizedClientException",
            "The security token included in the request is invalid: the sandbox KMS has no session tokens",
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&required) {
            return Err(fail("InvalidSignatureException", format!("the signed headers must include {required}")));
        }
    }
    let Some(time) = header("x-amz-date").and_then(parse_amz_date) else {
        return Err(fail("IncompleteSignatureException", "X-Amz-Date is missing or not like 20261130T062600Z"));
    };
    if !header("x-amz-date").is_some_and(|d| d.starts_with(auth.date)) {
        return Err(fail(
            "InvalidSignatureException",
            format!("Credential should be scoped to a valid date, the one of X-Amz-Date, not '{}'", auth.date),
        ));
    }
    let skew = now.duration_since(time).or_else(|e| Ok::<_, ()>(e.duration())).unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(fail(
            "InvalidSignatureException",
            format!(
                "Signature expired: X-Amz-Date is {} s away from the server's clock (at most {} s allowed)",
                skew.as_secs(),
                MAX_SKEW.as_secs()
            ),
        ));
    }
    // Every signed header with each of its values as sent (aws-sigv4 joins them as SigV4 does).
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        let before = signed.len();
        signed.extend(headers.get_all(*name).iter().filter_map(|v| v.to_str().ok()).map(|v| (*name, v)));
        if signed.len() == before {
            return Err(fail("InvalidSignatureException", format!("the signed header {name} is not in the request")));
        }
    }
    let identity = Credentials::new(&creds.access_key_id, &creds.secret_access_key, None, None, "sandbox").into();
    let mut settings = SigningSettings::default();
    // The client chose what to sign; sign exactly that again.
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name("kms")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| fail("InvalidSignatureException", e.to_string()))?
        .into();
    let signable = SignableRequest::new(method, path_and_query, signed.into_iter(), SignableBody::Bytes(body))
        .map_err(|e| fail("InvalidSignatureException", format!("the request cannot be signed again: {e}")))?;
    let expected =
        sign(signable, &params).map_err(|e| fail("InvalidSignatureException", e.to_string()))?.signature().to_owned();
    if expected.as_bytes().ct_eq(auth.signature.as_bytes()).into() {
        Ok(SignedScope { region: auth.region.to_owned() })
    } else {
        Err(fail(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
             Access Key and signing method.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates() {
        let t = parse_amz_date("20261130T062600Z").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_796_019_960);
        assert_eq!(parse_amz_date("2026-11-30T06:26:00Z"), None);
        assert_eq!(parse_amz_date("20261130T062600"), None);
    }

    #[test]
    fn authorization_headers() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-west-2/kms/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!((a.access_key_id, a.date, a.region, a.service), ("AKIDEXAMPLE", "20261130", "us-west-2", "kms"));
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20261130/us-west-2/kms/other").is_none());
        assert!(parse_authorization("Digest username=x").is_none());
    }
}
