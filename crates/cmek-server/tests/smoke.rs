mod common;
use common::*;

#[tokio::test]
async fn lists_projects_in_the_v1beta_shape() {
    let oas = Oas::load();
    let s = Server::start().await;
    let r = s.post("/api/v1beta/projects", serde_json::json!({"name": "p", "aws_cmek_enabled": true})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    check(&oas, "CreateProject", &r);
    let r = s.get("/api/v1beta/projects").await;
    assert_eq!(r.status, 200);
    check(&oas, "ListProjects", &r);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["aws_cmek_enabled"], true);
}
