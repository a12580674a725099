//! Extractors that turn every malformed input into an `ErrorResponse` naming the field, the
//! value and the rule, instead of axum's plain-text rejections.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use cmek_core::page::Page;
use cmek_core::{ErrorCode, FieldError};
use serde::de::DeserializeOwned;

/// The largest body any endpoint takes (a key policy is at most 32 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How much of a body is read before answering, even one that is refused for its size: a
/// server that answers while the client is still sending closes the connection under it, and
/// the client sees a reset instead of the refusal. Past this, the connection is cut.
pub const READ_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body, refused with the path of the offending field when it does not fit `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A request body to be read as JSON, after the Content-Type and size checks.
///
/// Content-Type: an API client (HTTP Digest) may send its JSON body with any Content-Type or
/// none — TiDB Cloud's gateway (grpc-gateway) reads a body of any other type with its default
/// JSON marshaler, so `curl --digest -d '{…}'` without `-H` (which sends
/// `application/x-www-form-urlencoded`) works there and here; the body must still be JSON. The
/// console's session must send `application/json`: a browser sends that type cross-origin only
/// after a CORS preflight, which a form or a simple `fetch` from another site cannot pass.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let api_key =
            matches!(req.extensions().get::<crate::auth::Credential>(), Some(crate::auth::Credential::ApiKey { .. }));
        if essence != "application/json" && !api_key {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                if content_type.is_empty() {
                    "the request has no Content-Type; send the JSON body with Content-Type: application/json".to_owned()
                } else {
                    format!(
                        "Content-Type \"{content_type}\" is not accepted; send the JSON body with Content-Type: application/json"
                    )
                },
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::new(ErrorCode::MalformedJson, format!("the body could not be read: {e}"))
            }
        })?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        Ok(JsonBytes(bytes))
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}

/// Parses `bytes` as `T`, mapping serde's errors to the field they are about.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ErrorCode::MalformedJson, "the body is empty; send a JSON object"));
    }
    // First: is it JSON at all? (So a syntax error is not reported as a field problem.)
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(ApiError::new(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}")));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_owned(),
            None => msg,
        };
        if let Some(rest) = msg.strip_prefix("missing field ") {
            let field = rest.trim_matches('`');
            let full = if path == "." { field.to_owned() } else { format!("{path}.{field}") };
            ApiError::fields(ErrorCode::MissingField, vec![FieldError::new(full, "is required")])
        } else if cmek_core::cluster::is_secret_field(&path) {
            // serde quotes the value it refused; a secret is never repeated.
            ApiError::fields(
                ErrorCode::InvalidField,
                vec![FieldError::new(path, "must be a string (the value is not repeated: it is a secret)")],
            )
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::fields(ErrorCode::InvalidField, vec![FieldError::new(field, msg)])
        }
    })
}

/// Path parameters, refused with an `ErrorResponse` (not axum's plain text) when they cannot be
/// read, e.g. a percent-encoded byte that is not UTF-8.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidPathId, format!("the path is not valid: {}", e.body_text()))),
        }
    }
}

/// A decimal uint64 path id (v1beta ids are `format: uint64` strings).
pub fn parse_id(name: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::fields(
            ErrorCode::InvalidPathId,
            vec![FieldError::new(name, format!("\"{raw}\" is not a decimal uint64 id"))],
        )
    })
}

/// `page` and `page_size` from the query string, with v1beta's defaults.
pub struct PageQuery(pub Page);

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let (mut page, mut size) = (None, None);
        for (k, v) in form_pairs(query) {
            match k.as_str() {
                "page" => page = Some(v),
                "page_size" => size = Some(v),
                _ => {}
            }
        }
        Page::parse(page.as_deref(), size.as_deref())
            .map(PageQuery)
            .map_err(|f| ApiError::fields(ErrorCode::InvalidQuery, f))
    }
}

/// `application/x-www-form-urlencoded` pairs of a query string (undecodable input: none).
pub fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmek_core::api::CreateClusterReq;

    #[test]
    fn field_paths_name_the_offending_field() {
        let e = parse_json::<CreateClusterReq>(br#"{"name":"abcd","cluster_type":"DEDICATED","cloud_provider":"AWS","region":"us-west-2","config":{"root_password":"12345678","port":"4000"}}"#).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidField));
        assert!(
            e.body.message.starts_with("config.port: invalid type: string \"4000\", expected i32"),
            "{}",
            e.body.message
        );
        let e = parse_json::<CreateClusterReq>(
            br#"{"name":"abcd","cluster_type":"DEDICATED","cloud_provider":"AWS","region":"us-west-2","config":{}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::MissingField));
        assert_eq!(e.body.message, "config.root_password: is required");
        let e = parse_json::<CreateClusterReq>(br#"{"name":"abcd","cluster_type":"SERVERLESS"}"#).unwrap_err();
        assert!(e.body.message.contains("cluster_type: unknown variant `SERVERLESS`"), "{}", e.body.message);
        let e = parse_json::<CreateClusterReq>(br#"{"name": 5"#).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::MalformedJson));
        let e = parse_json::<CreateClusterReq>(br#"{"name":"abcd","cluster_type":"DEDICATED","cloud_provider":"AWS","region":"us-west-2","config":{"root_password":"12345678","port":99999999999}}"#).unwrap_err();
        assert!(e.body.message.contains("config.port"), "{}", e.body.message);
    }

    #[test]
    fn query_pairs_are_decoded() {
        assert_eq!(
            form_pairs("page=2&page_size=%31%30&x"),
            vec![
                ("page".to_owned(), "2".to_owned()),
                ("page_size".to_owned(), "10".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
    }
}
