//! The server's own OpenAPI 3.1 document, generated from the Rust types and handlers: the
//! v1beta operations it implements and the extensions. Served at `/api/ext/v1/openapi.json`.

use crate::auth::session;
use crate::routes::{backups, clusters, cmek, ext, projects, regions, sandbox};
use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CMEK console reference server",
        description = "TiDB Cloud API v1beta (projects, aws-cmek, clusters, backups, restores, provider regions) with every CMEK rule enforced, and extensions under /api/ext/v1. Every failure answers an ErrorResponse {code, message, details}. Authentication: HTTP Digest (RFC 7616, SHA-256 or MD5, qop=auth) with an API key (public key as user name, private key as password), or the console's session cookie (cmek_session) plus X-CSRF-Token and Origin on changes. At most --rate-limit-per-minute requests per minute per credential (X-Ratelimit-* headers). Creates take an optional Idempotency-Key header.",
        version = "v1-beta"
    ),
    paths(
        projects::list_projects,
        projects::create_project,
        cmek::list_aws_cmek,
        cmek::create_aws_cmek,
        clusters::list_clusters,
        clusters::create_cluster,
        clusters::get_cluster,
        clusters::update_cluster,
        clusters::delete_cluster,
        backups::list_backups,
        backups::create_backup,
        backups::get_backup,
        backups::delete_backup,
        backups::list_restores,
        backups::create_restore,
        backups::get_restore,
        backups::list_backup_keys,
        regions::list_provider_regions,
        ext::server_info,
        ext::key_health,
        ext::check_key_health,
        ext::list_events,
        sandbox::list_keys,
        sandbox::create_key,
        sandbox::get_key,
        sandbox::put_key_policy,
        sandbox::enable_key,
        sandbox::disable_key,
        sandbox::schedule_key_deletion,
        sandbox::cancel_key_deletion,
        sandbox::rotate_key_on_demand,
        sandbox::set_key_rotation,
        session::sign_in,
        session::get_session,
        session::sign_out,
    ),
    components(schemas(cmek_core::ErrorResponse))
)]
struct ApiDoc;

/// The document, with the failure answers every operation can give.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
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
    }
}
