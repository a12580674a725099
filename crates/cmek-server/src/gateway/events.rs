//! Every change made through the gateway becomes an event of its project in the local database:
//! who (the console session or the gateway's API key), what (method, path, body), when, and what
//! the upstream answered. The console's events page shows them as in reference mode.

use crate::auth::Credential;
use crate::clock::now_ms;
use crate::db::Db;
use crate::store::{self, NewEvent};
use axum::http::Method;
use cmek_core::ext::EventKind;

/// Who made a change, in words (a session by the start of its id's hash, never the id).
pub fn who(cred: &Credential) -> String {
    match cred {
        Credential::ApiKey { public_key } => format!("the gateway API key {public_key}"),
        Credential::Session { id_hash, .. } => {
            format!("console session {}", id_hash.get(..8).unwrap_or(id_hash))
        }
    }
}

/// The parts of a v1beta path: project id and cluster id, when present.
fn ids(path: &str) -> (Option<u64>, Option<u64>, Vec<&str>) {
    let segs: Vec<&str> = path.trim_start_matches("/api/v1beta/").split('/').collect();
    let pid = (segs.first() == Some(&"projects")).then(|| segs.get(1).and_then(|s| s.parse().ok())).flatten();
    let cid = (segs.get(2) == Some(&"clusters")).then(|| segs.get(3).and_then(|s| s.parse().ok())).flatten();
    (pid, cid, segs)
}

/// What a change is, as an event kind (accepted, refused) and words.
fn kind_of(method: &Method, segs: &[&str], body: &serde_json::Value) -> (EventKind, EventKind, String) {
    match (method.as_str(), segs.len(), segs.get(2).copied()) {
        ("POST", 1, _) => (EventKind::ProjectCreated, EventKind::Other, "create project".to_owned()),
        ("POST", 3, Some("aws-cmek")) => (
            EventKind::KeyConfigured,
            EventKind::KeyConfigureRefused,
            "configure the project's AWS CMEK key".to_owned(),
        ),
        ("POST", 3, Some("clusters")) => {
            (EventKind::ClusterCreated, EventKind::ClusterCreateRefused, "create cluster".to_owned())
        }
        ("PATCH", 4, Some("clusters")) => match body["config"]["paused"].as_bool() {
            Some(true) => {
                (EventKind::ClusterPauseRequested, EventKind::ClusterModifyRefused, "pause cluster".to_owned())
            }
            Some(false) => {
                (EventKind::ClusterResumeRequested, EventKind::ClusterResumeRefused, "resume cluster".to_owned())
            }
            None => (EventKind::ClusterModifyRequested, EventKind::ClusterModifyRefused, "modify cluster".to_owned()),
        },
        ("DELETE", 4, Some("clusters")) => (EventKind::ClusterDeleted, EventKind::Other, "delete cluster".to_owned()),
        _ => (EventKind::Other, EventKind::Other, format!("{method} {}", segs.join("/"))),
    }
}

/// The outcome of a forwarded change.
pub struct Outcome<'a> {
    pub status: u16,
    /// The upstream's answer (or the gateway's error) body.
    pub answer: &'a str,
    pub accepted: bool,
    /// Said when the answer came from reconciling a create whose answer was lost.
    pub note: Option<&'a str>,
}

/// Records a forwarded change; a change that names no project (a refused project create) is
/// logged only.
pub async fn record(
    db: &std::sync::Arc<Db>,
    cred: &Credential,
    method: &Method,
    path: &str,
    body: &[u8],
    out: Outcome<'_>,
) {
    let req: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let (pid, cid, segs) = ids(path);
    let (ok_kind, refused_kind, what) = kind_of(method, &segs, &req);
    let answer: serde_json::Value = serde_json::from_str(out.answer).unwrap_or(serde_json::Value::Null);
    let created_id = answer["id"].as_str().and_then(|s| s.parse::<u64>().ok());
    let project = pid.or(if segs.len() == 1 { created_id.filter(|_| out.accepted) } else { None });
    let cluster = cid.or(if segs.get(2) == Some(&"clusters") && out.accepted { created_id } else { None });
    let who = who(cred);
    let Some(project_id) = project else {
        tracing::info!(%who, %method, %path, status = out.status, "a change through the gateway was refused upstream");
        return;
    };
    let verdict = if out.accepted {
        "the upstream accepted it".to_owned()
    } else {
        let msg = answer["message"].as_str().unwrap_or("");
        format!("the upstream refused it: {msg}")
    };
    let mut details = vec![
        format!("by: {who}"),
        format!("request: {method} {path}"),
        format!("upstream answer: HTTP {} {}", out.status, out.answer.chars().take(2000).collect::<String>()),
    ];
    if !req.is_null() {
        let recorded = without_passwords(req.clone());
        details.insert(2, format!("request body: {}", recorded.to_string().chars().take(2000).collect::<String>()));
    }
    if let Some(n) = out.note {
        details.push(n.to_owned());
    }
    let name = req["name"].as_str().map(str::to_owned);
    let region = req["region"].as_str().or(req["specs"][0]["region"].as_str()).map(str::to_owned);
    let event_kind = if out.accepted { ok_kind } else { refused_kind };
    let message = format!("{what} through the gateway by {who}: {verdict}");
    let r = db
        .write(move |tx| {
            store::insert_event(
                tx,
                &NewEvent {
                    project_id,
                    at_ms: now_ms(),
                    kind: event_kind,
                    cluster: cluster.map(|c| (c, name.as_deref().unwrap_or(""))),
                    region: region.as_deref(),
                    message,
                    details,
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "recording a gateway event failed");
    }
}

/// A request as the events keep it: every password field (a cluster's or a restore's
/// `root_password`) replaced, since events are shown to everyone who can see the project.
fn without_passwords(mut v: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, inner) in map.iter_mut() {
                    if k.contains("password") {
                        *inner = serde_json::Value::String("(not recorded)".to_owned());
                    } else {
                        walk(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_get_their_kinds() {
        let (pid, cid, segs) = ids("/api/v1beta/projects/12/clusters/34");
        assert_eq!((pid, cid), (Some(12), Some(34)));
        let pause = serde_json::json!({"config": {"paused": true}});
        assert_eq!(kind_of(&Method::PATCH, &segs, &pause).0, EventKind::ClusterPauseRequested);
        let resume = serde_json::json!({"config": {"paused": false}});
        assert_eq!(kind_of(&Method::PATCH, &segs, &resume).1, EventKind::ClusterResumeRefused);
        let (_, _, segs) = ids("/api/v1beta/projects");
        assert_eq!(kind_of(&Method::POST, &segs, &serde_json::Value::Null).0, EventKind::ProjectCreated);
        let who = who(&Credential::Session { id_hash: "0123456789abcdef".into(), csrf_token: "c".into() });
        assert_eq!(who, "console session 01234567");
    }
}
