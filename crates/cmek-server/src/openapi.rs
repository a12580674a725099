//! The server's own OpenAPI 3.1 document: the operations registered with the routers
//! (`routes::api()` and the session endpoints, utoipa-axum's `OpenApiRouter`), and what every
//! operation shares (the failures, the security schemes). Served at `/api/ext/v1/openapi.json`.

use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CMEK console reference server",
        description = "TiDB Cloud API v1beta (projects, aws-cmek, clusters, backups, restores, provider regions) with every CMEK rule enforced, and extensions under /api/ext/v1. Every failure answers an ErrorResponse {code, message, details}. Authentication: HTTP Digest (RFC 7616, SHA-256 or MD5, qop=auth) with an API key (public key as user name, private key as password), or the console's session cookie (cmek_session) plus X-CSRF-Token and Origin on changes. At most --rate-limit-per-minute requests per minute per credential (X-Ratelimit-* headers). Creates take an optional Idempotency-Key header.",
        version = "v1-beta"
    ),
    components(schemas(cmek_core::ErrorResponse))
)]
struct ApiDoc;

/// What the document starts from: its info and the shared schemas; the routers add the paths.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The reference API's document (also what a gateway serves: it forwards the same API).
pub fn document() -> Value {
    let (_, api) = utoipa_axum::router::OpenApiRouter::<crate::state::AppState>::with_openapi(base())
        .merge(crate::routes::api())
        .merge(crate::auth::session::router())
        .split_for_parts();
    finish(api)
}

/// `GET /api/ext/v1/openapi.json`.
pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

/// The document, with the failure answers every operation can give.
fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
    let error = json!({ "$ref": "#/components/schemas/ErrorResponse" });
    let failures = [
        ("400", "A request field is invalid."),
        ("401", "The request is not authenticated."),
        ("403", "The caller may not access the resource."),
        ("404", "The requested resource does not exist."),
        ("405", "The path exists, the method does not."),
        ("429", "You have exceeded the rate limit."),
        ("500", "Server error."),
        ("501", "The operation is in TiDB Cloud's v1beta but not implemented by this server."),
        (
            "502",
            "Gateway mode: the upstream v1beta API refused the gateway's key pair, failed, or could not be reached.",
        ),
        ("503", "AWS KMS could not be reached to check the project's key; nothing was changed."),
        ("504", "Gateway mode: the upstream v1beta API did not answer in time."),
    ];
    doc["components"]["securitySchemes"] = json!({
        "digest": { "type": "http", "scheme": "digest", "description": "API key: public key as user name, private key as password (RFC 7616, SHA-256 or MD5)." },
        "session": { "type": "apiKey", "in": "cookie", "name": "cmek_session", "description": "The console's session (POST /api/ext/v1/session); changes also need X-CSRF-Token and this server's Origin." }
    });
    doc["security"] = json!([{ "digest": [] }, { "session": [] }]);
    // Signing in needs no credentials.
    if let Some(ops) = doc["paths"].get_mut("/api/ext/v1/session").and_then(Value::as_object_mut) {
        for op in ops.values_mut().filter_map(Value::as_object_mut) {
            op.insert("security".into(), json!([]));
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut().filter_map(Value::as_object_mut) {
                let responses = op.entry("responses").or_insert_with(|| json!({}));
                for (status, description) in failures {
                    responses[status] = json!({
                        "description": description,
                        "content": { "application/json": { "schema": error.clone() } }
                    });
                }
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    /// Every operation the document had when openapi.rs listed the handlers by hand (before the
    /// routers registered them): method, path, and each parameter as `name:in`.
    const OPERATIONS: &[(&str, &str, &str)] = &[
        ("DELETE", "/api/ext/v1/session", ""),
        ("DELETE", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", "project_id:path cluster_id:path"),
        (
            "DELETE",
            "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}",
            "project_id:path cluster_id:path backup_id:path",
        ),
        (
            "GET",
            "/api/ext/v1/projects/{project_id}/clusters/{cluster_id}/backup-keys",
            "project_id:path cluster_id:path page:query page_size:query",
        ),
        ("GET", "/api/ext/v1/projects/{project_id}/events", "project_id:path page:query page_size:query"),
        ("GET", "/api/ext/v1/projects/{project_id}/key-health", "project_id:path"),
        ("GET", "/api/ext/v1/sandbox-kms/keys", ""),
        ("GET", "/api/ext/v1/sandbox-kms/keys/{key_id}", "key_id:path"),
        ("GET", "/api/ext/v1/server-info", ""),
        ("GET", "/api/ext/v1/session", ""),
        ("GET", "/api/v1beta/clusters/provider/regions", ""),
        ("GET", "/api/v1beta/projects", "page:query page_size:query"),
        ("GET", "/api/v1beta/projects/{project_id}/aws-cmek", "project_id:path"),
        ("GET", "/api/v1beta/projects/{project_id}/clusters", "project_id:path page:query page_size:query"),
        ("GET", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", "project_id:path cluster_id:path"),
        (
            "GET",
            "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups",
            "project_id:path cluster_id:path page:query page_size:query",
        ),
        (
            "GET",
            "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}",
            "project_id:path cluster_id:path backup_id:path",
        ),
        ("GET", "/api/v1beta/projects/{project_id}/restores", "project_id:path page:query page_size:query"),
        ("GET", "/api/v1beta/projects/{project_id}/restores/{restore_id}", "project_id:path restore_id:path"),
        ("PATCH", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", "project_id:path cluster_id:path"),
        ("POST", "/api/ext/v1/projects/{project_id}/key-health/check", "project_id:path"),
        ("POST", "/api/ext/v1/sandbox-kms/keys", ""),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/cancel-deletion", "key_id:path"),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/disable", "key_id:path"),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/enable", "key_id:path"),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/rotate", "key_id:path"),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/schedule-deletion", "key_id:path"),
        ("POST", "/api/ext/v1/session", ""),
        ("POST", "/api/v1beta/projects", ""),
        ("POST", "/api/v1beta/projects/{project_id}/aws-cmek", "project_id:path"),
        ("POST", "/api/v1beta/projects/{project_id}/clusters", "project_id:path"),
        ("POST", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups", "project_id:path cluster_id:path"),
        ("POST", "/api/v1beta/projects/{project_id}/restores", "project_id:path"),
        ("PUT", "/api/ext/v1/sandbox-kms/keys/{key_id}/policy", "key_id:path"),
        ("PUT", "/api/ext/v1/sandbox-kms/keys/{key_id}/rotation", "key_id:path"),
    ];

    #[test]
    fn the_document_keeps_every_operation_and_parameter() {
        let doc = super::document();
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let params: Vec<String> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                let (name, at) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                                assert_eq!(
                                    p["required"].as_bool().unwrap_or(false),
                                    at == "path",
                                    "{method} {path} {name}"
                                );
                                format!("{name}:{at}")
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                found.push((method.to_uppercase(), path.clone(), params.join(" ")));
                let mut statuses: Vec<&str> = op["responses"].as_object().unwrap().keys().map(String::as_str).collect();
                statuses.sort();
                assert_eq!(
                    statuses,
                    ["200", "400", "401", "403", "404", "405", "429", "500", "501", "502", "503", "504"],
                    "{method} {path}"
                );
            }
        }
        found.sort();
        let mut expected: Vec<(String, String, String)> =
            OPERATIONS.iter().map(|(m, p, ps)| ((*m).to_owned(), (*p).to_owned(), (*ps).to_owned())).collect();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn every_route_is_documented() {
        let doc = super::document();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/v1beta/projects",
            "/api/v1beta/projects/{project_id}/aws-cmek",
            "/api/v1beta/projects/{project_id}/clusters/{cluster_id}",
            "/api/ext/v1/sandbox-kms/keys/{key_id}/rotation",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert_eq!(
            doc["paths"]["/api/v1beta/projects"]["get"]["responses"]["429"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorResponse"
        );
        assert!(doc["components"]["schemas"]["CreateClusterReq"].is_object());
        assert_eq!(doc["info"]["title"], "CMEK console reference server");
        assert_eq!(doc["paths"]["/api/ext/v1/session"]["post"]["security"], serde_json::json!([]));
    }
}
