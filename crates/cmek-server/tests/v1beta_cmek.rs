//! v1beta aws-cmek over real HTTP: configuring a project's key with every rule of the user guide
//! (CMEK chosen at project creation, one AWS region per project, a key that cannot be replaced),
//! the ARN checks, and the test of the key in KMS before it is recorded.
mod common;
mod v1beta_support;

use cmek_core::policy::{Grant, PolicyRegion, default_key_policy, pretty};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use v1beta_support::*;

const UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn arn(region: &str) -> String {
    format!("arn:aws:kms:{region}:{SANDBOX_ACCOUNT}:key/{UUID}")
}

fn spec(region: &str, kms_arn: &str) -> Value {
    json!({"specs": [{"region": region, "kms_arn": kms_arn}]})
}

async fn keys(s: &Server, oas: &Option<Oas>, pid: &str) -> Value {
    let r = s.get(&aws_cmek(pid)).await;
    let body = ok(oas, "ListAwsCmek", &r);
    // `items` must be there even when empty: a `{}` would make every "nothing was recorded"
    // check pass without reading anything.
    assert!(body["items"].is_array(), "ListAwsCmek answered no `items` array: {body}");
    body["items"].clone()
}

async fn configure(s: &Server, pid: &str, region: &str, kms_arn: &str) -> Resp {
    s.post(&aws_cmek(pid), spec(region, kms_arn)).await
}

#[tokio::test]
async fn a_usable_key_is_configured_once_and_the_same_key_again_changes_nothing() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    assert_eq!(keys(&s, &oas, &pid).await, json!([]), "a new CMEK project has no key");

    let (kms_arn, _) = usable_key(&s, "us-west-2").await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    assert_eq!(ok(&oas, "CreateAwsCmek", &r), &json!({}));
    let configured = json!([{"region": "us-west-2", "kms_arn": kms_arn}]);
    assert_eq!(keys(&s, &oas, &pid).await, configured);

    // The same region and key again: 200 {}, and nothing changes.
    for _ in 0..2 {
        let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
        assert_eq!(ok(&oas, "CreateAwsCmek", &r), &json!({}));
        assert_eq!(keys(&s, &oas, &pid).await, configured, "still one item");
    }
    // The same spec twice in one request is one key.
    let r = s
        .post(&aws_cmek(&pid), json!({"specs": [{"region": "us-west-2", "kms_arn": kms_arn}, {"region": "us-west-2", "kms_arn": kms_arn}]}))
        .await;
    assert_eq!(ok(&oas, "CreateAwsCmek", &r), &json!({}));
    assert_eq!(keys(&s, &oas, &pid).await, configured);
}

#[tokio::test]
async fn the_same_spec_twice_in_a_first_request_records_one_key() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let (kms_arn, _) = usable_key(&s, "us-east-1").await;
    let one = json!({"region": "us-east-1", "kms_arn": kms_arn});
    let r = s.post(&aws_cmek(&pid), json!({"specs": [one, one]})).await;
    assert_eq!(ok(&oas, "CreateAwsCmek", &r), &json!({}));
    assert_eq!(keys(&s, &oas, &pid).await, json!([one]));
}

#[tokio::test]
async fn a_project_created_without_cmek_cannot_configure_a_key() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (kms_arn, _) = usable_key(&s, "us-west-2").await;
    for cmek in [Some(false), None] {
        let body = match cmek {
            Some(b) => json!({"name": "plain", "aws_cmek_enabled": b}),
            None => json!({"name": "plain"}),
        };
        let r = s.post("/api/v1beta/projects", body).await;
        let pid = ok(&oas, "CreateProject", &r)["id"].as_str().unwrap().to_owned();
        let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
        let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::CmekNotEnabled.code());
        // Says why: CMEK is chosen when the project is created, and what to do instead.
        assert!(msg.contains("aws_cmek_enabled"), "{msg}");
        assert!(msg.contains("created"), "{msg}");
        assert!(msg.contains("new project"), "{msg}");
        assert_eq!(keys(&s, &oas, &pid).await, json!([]), "listing works and shows nothing");
    }
}

#[tokio::test]
async fn malformed_arns_are_refused_naming_the_field_and_the_reason() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let acct = SANDBOX_ACCOUNT;
    for (bad, says) in [
        ("arn:aws:kms:example".to_owned(), "not a complete KMS key ARN"),
        ("".to_owned(), "enter the key ARN"),
        (UUID.to_owned(), "is not an ARN"),
        (format!(" {}", arn("us-west-2")), "spaces"),
        (format!("arn:azure:kms:us-west-2:{acct}:key/{UUID}"), "partition \"azure\""),
        (format!("arn:aws:s3:us-west-2:{acct}:key/{UUID}"), "\"s3\" service"),
        (format!("arn:aws:kms::{acct}:key/{UUID}"), "no region"),
        (format!("arn:aws:kms:us-west:{acct}:key/{UUID}"), "\"us-west\" is not an AWS region"),
        (format!("arn:aws:kms:us-west-2:1234:key/{UUID}"), "\"1234\" must be a 12-digit"),
        (format!("arn:aws:kms:us-west-2:{acct}:grant/{UUID}"), "is not a key"),
        (format!("arn:aws:kms:us-west-2:{acct}:key/not-a-uuid"), "\"not-a-uuid\""),
        (format!("arn:aws:kms:us-west-2:{acct}:key/{}", UUID.to_uppercase()), "lowercase"),
        (format!("arn:aws:kms:us-west-2:{acct}:key/mrk-123"), "mrk-"),
    ] {
        let r = configure(&s, &pid, "us-west-2", &bad).await;
        let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KmsArnInvalid.code());
        assert!(msg.starts_with("specs[0].kms_arn: "), "{bad:?}: {msg}");
        assert!(msg.contains(says), "{bad:?}: the reason should say {says:?}: {msg}");
        assert_eq!(detail_fields(&r), vec!["specs[0].kms_arn"], "{bad:?}");
    }
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
}

#[tokio::test]
async fn an_alias_arn_is_refused_with_the_key_arn_asked_for() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let alias = format!("arn:aws:kms:us-west-2:{SANDBOX_ACCOUNT}:alias/prod-cmek");
    let r = configure(&s, &pid, "us-west-2", &alias).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KmsArnInvalid.code());
    assert!(msg.starts_with("specs[0].kms_arn: "), "{msg}");
    assert!(msg.contains("alias/prod-cmek") && msg.contains("is an alias"), "{msg}");
    assert!(msg.contains("key/"), "it says what to give instead: {msg}");
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
}

#[tokio::test]
async fn an_arn_of_another_region_is_refused() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let r = configure(&s, &pid, "us-west-2", &arn("us-east-1")).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KmsArnRegionMismatch.code());
    assert!(msg.starts_with("specs[0].kms_arn: "), "{msg}");
    assert!(msg.contains("us-east-1") && msg.contains("us-west-2"), "both regions are named: {msg}");
    assert_eq!(detail_fields(&r), vec!["specs[0].kms_arn"]);
    // A real key of another region is refused the same way, before KMS is asked.
    let (east, _) = usable_key(&s, "us-east-1").await;
    let r = configure(&s, &pid, "us-west-2", &east).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KmsArnRegionMismatch.code());
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
}

#[tokio::test]
async fn regions_must_be_aws_regions_of_the_catalog() {
    let oas = Oas::load();
    let s = Server::start().await;
    let cat = catalog(&s, &oas).await;
    let aws = catalog_regions(&cat, "DEDICATED", "AWS");
    let pid = create_project(&s, &oas, "cmek", true).await;
    // A well-formed AWS region the catalog does not offer; the message lists the offered ones.
    assert!(!aws.contains(&"ca-central-1".to_owned()));
    let r = configure(&s, &pid, "ca-central-1", &arn("ca-central-1")).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::ValidationFailed.code());
    assert!(msg.starts_with("specs[0].region: "), "{msg}");
    for region in &aws {
        assert!(msg.contains(region.as_str()), "{region} is offered and listed: {msg}");
    }
    // Not AWS region codes at all (a GCP region, nonsense, wrong case).
    for region in ["us-central1", "mars", "US-WEST-2", ""] {
        let r = configure(&s, &pid, region, &arn("us-west-2")).await;
        err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::ValidationFailed.code());
        assert_eq!(detail_fields(&r), vec!["specs[0].region"], "{region:?}: {}", r.body);
    }
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
}

#[tokio::test]
async fn every_aws_dedicated_region_of_the_catalog_takes_a_key() {
    let oas = Oas::load();
    let s = Server::start().await;
    let cat = catalog(&s, &oas).await;
    let aws = catalog_regions(&cat, "DEDICATED", "AWS");
    assert!(!aws.is_empty());
    for region in &aws {
        let (pid, kms_arn, _) = cmek_project_with_key(&s, &oas, &format!("cmek-{region}"), region).await;
        assert_eq!(keys(&s, &oas, &pid).await, json!([{"region": region, "kms_arn": kms_arn}]));
    }
}

#[tokio::test]
async fn specs_must_hold_one_region() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    // Empty.
    let r = s.post(&aws_cmek(&pid), json!({"specs": []})).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::ValidationFailed.code());
    assert!(msg.starts_with("specs: "), "{msg}");
    // Missing.
    let r = s.post(&aws_cmek(&pid), json!({})).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::MissingField.code());
    assert!(msg.starts_with("specs"), "{msg}");
    // Two regions in one request: one AWS region per project.
    let (west, _) = usable_key(&s, "us-west-2").await;
    let (east, _) = usable_key(&s, "us-east-1").await;
    let two = json!({"specs": [{"region": "us-west-2", "kms_arn": west}, {"region": "us-east-1", "kms_arn": east}]});
    let r = s.post(&aws_cmek(&pid), two).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::CmekRegionLocked.code());
    assert_eq!(detail_fields(&r), vec!["specs[1].region"], "{}", r.body);
    assert!(msg.contains("us-east-1") && msg.contains("us-west-2") && msg.contains("one AWS region"), "{msg}");
    // Two keys for one region in one request.
    let (west2, _) = usable_key(&s, "us-west-2").await;
    let r = s
        .post(
            &aws_cmek(&pid),
            json!({"specs": [{"region": "us-west-2", "kms_arn": west}, {"region": "us-west-2", "kms_arn": west2}]}),
        )
        .await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::ValidationFailed.code());
    assert_eq!(detail_fields(&r), vec!["specs[1].kms_arn"], "{}", r.body);
    // A malformed ARN in the second spec is named by its index.
    let r = s
        .post(&aws_cmek(&pid), json!({"specs": [{"region": "us-west-2", "kms_arn": west}, {"region": "us-west-2", "kms_arn": "arn:aws:kms:example"}]}))
        .await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KmsArnInvalid.code());
    assert_eq!(detail_fields(&r), vec!["specs[1].kms_arn"], "{}", r.body);
    assert_eq!(keys(&s, &oas, &pid).await, json!([]), "nothing was recorded");
}

#[tokio::test]
async fn a_second_region_or_another_key_is_refused_once_configured() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (pid, west, _) = cmek_project_with_key(&s, &oas, "cmek", "us-west-2").await;
    let configured = json!([{"region": "us-west-2", "kms_arn": west}]);

    // Another region, with a key that would be usable there.
    let (east, _) = usable_key(&s, "us-east-1").await;
    let r = configure(&s, &pid, "us-east-1", &east).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::CmekRegionLocked.code());
    assert_eq!(detail_fields(&r), vec!["specs[0].region"]);
    assert!(msg.contains("us-west-2") && msg.contains("us-east-1"), "{msg}");
    assert_eq!(keys(&s, &oas, &pid).await, configured);

    // The same region, another (usable) key: cannot be replaced; rotation is the way.
    let (west2, _) = usable_key(&s, "us-west-2").await;
    let r = configure(&s, &pid, "us-west-2", &west2).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::CmekKeyAlreadyConfigured.code());
    assert_eq!(detail_fields(&r), vec!["specs[0].kms_arn"]);
    assert!(msg.contains(&west), "the configured key is named: {msg}");
    assert!(msg.contains("rotate"), "{msg}");
    assert_eq!(keys(&s, &oas, &pid).await, configured);

    // Other projects are not affected by this project's key.
    let (other, ..) = cmek_project_with_key(&s, &oas, "other", "us-east-1").await;
    assert_eq!(keys(&s, &oas, &other).await.as_array().unwrap().len(), 1);
    assert_eq!(keys(&s, &oas, &pid).await, configured);
}

#[tokio::test]
async fn a_well_formed_arn_kms_does_not_know_is_refused_as_not_found() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let unknown = arn("us-west-2");
    let r = configure(&s, &pid, "us-west-2", &unknown).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyNotFound.code());
    assert!(msg.contains(&unknown), "the key is named: {msg}");
    assert!(msg.contains("has no key"), "it says KMS does not know the key: {msg}");
    assert!(!details(&r).is_empty(), "the cause is in details: {}", r.body);
    assert_eq!(keys(&s, &oas, &pid).await, json!([]), "a refused key is not recorded");
}

#[tokio::test]
async fn a_key_without_the_service_statements_is_refused_naming_the_missing_grants() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    // A key with the AWS default policy: its owner only.
    let key = sandbox_key(&s, "us-west-2", None).await;
    let (kms_arn, key_id) = (key["arn"].as_str().unwrap().to_owned(), key["key_id"].as_str().unwrap().to_owned());
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyAccessDenied.code());
    assert!(msg.contains(&kms_arn), "{msg}");
    let d = details(&r);
    for grant in Grant::ALL {
        assert!(
            d.iter().any(|x| x.contains(grant.label()) && x.contains(grant.sid())),
            "details name the missing {} grant and its statement: {d:?}",
            grant.label()
        );
    }
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));

    // Only the S3 statement missing: only that grant is named.
    let mut policy =
        default_key_policy(SANDBOX_ACCOUNT, Some(SERVICE_ACCOUNT), &PolicyRegion::Region("us-west-2".into()));
    policy["Statement"].as_array_mut().unwrap().retain(|st| st["Sid"] != Grant::S3Backup.sid());
    put_policy(&s, &key_id, pretty(&policy)).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyAccessDenied.code());
    let d = details(&r);
    assert!(d.iter().any(|x| x.contains(Grant::S3Backup.label())), "{d:?}");
    assert!(!d.iter().any(|x| x.contains(Grant::Ebs.label())), "the EBS grant is there: {d:?}");

    // Fixed in KMS: the same request now succeeds.
    put_policy(&s, &key_id, good_policy("us-west-2")).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    ok(&oas, "CreateAwsCmek", &r);
    assert_eq!(keys(&s, &oas, &pid).await, json!([{"region": "us-west-2", "kms_arn": kms_arn}]));
}

#[tokio::test]
async fn near_misses_in_the_policy_are_explained() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    // Another account than the service's.
    let wrong_account =
        pretty(&default_key_policy(SANDBOX_ACCOUNT, Some("999988887777"), &PolicyRegion::Region("us-west-2".into())));
    let key = sandbox_key(&s, "us-west-2", Some(wrong_account)).await;
    let r = configure(&s, &pid, "us-west-2", key["arn"].as_str().unwrap()).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyAccessDenied.code());
    let d = details(&r).join("\n");
    assert!(d.contains("999988887777") && d.contains(SERVICE_ACCOUNT), "{d}");
    // The EBS statement written for another region.
    let east_policy = good_policy("us-east-1");
    let key = sandbox_key(&s, "us-west-2", Some(east_policy)).await;
    let r = configure(&s, &pid, "us-west-2", key["arn"].as_str().unwrap()).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyAccessDenied.code());
    let d = details(&r).join("\n");
    assert!(d.contains("ec2.us-east-1.amazonaws.com") && d.contains("ec2.us-west-2.amazonaws.com"), "{d}");
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
    // The guide's "any region" form (StringLike ec2.*) is usable.
    let any = pretty(&default_key_policy(SANDBOX_ACCOUNT, Some(SERVICE_ACCOUNT), &PolicyRegion::Any));
    let key = sandbox_key(&s, "us-west-2", Some(any)).await;
    let r = configure(&s, &pid, "us-west-2", key["arn"].as_str().unwrap()).await;
    ok(&oas, "CreateAwsCmek", &r);
}

#[tokio::test]
async fn a_disabled_key_or_one_pending_deletion_is_refused() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let (kms_arn, key_id) = usable_key(&s, "us-west-2").await;
    key_action(&s, &key_id, "disable", json!({})).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyDisabled.code());
    assert!(msg.contains("Disabled"), "{msg}");
    key_action(&s, &key_id, "schedule-deletion", json!({"pending_window_days": 7})).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    let msg = err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyPendingDeletion.code());
    assert!(msg.contains("PendingDeletion"), "{msg}");
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
    // Deletion cancelled (the key comes back Disabled), then enabled: usable.
    key_action(&s, &key_id, "cancel-deletion", json!({})).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::KeyDisabled.code());
    key_action(&s, &key_id, "enable", json!({})).await;
    let r = configure(&s, &pid, "us-west-2", &kms_arn).await;
    ok(&oas, "CreateAwsCmek", &r);
}

#[tokio::test]
async fn a_multi_region_key_is_usable() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let r = s
        .post(
            "/api/ext/v1/sandbox-kms/keys",
            json!({"region": "eu-central-1", "multi_region": true, "policy": good_policy("eu-central-1")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kms_arn = r.body["arn"].as_str().unwrap().to_owned();
    assert!(kms_arn.contains(":key/mrk-"), "{kms_arn}");
    let r = configure(&s, &pid, "eu-central-1", &kms_arn).await;
    ok(&oas, "CreateAwsCmek", &r);
    assert_eq!(keys(&s, &oas, &pid).await, json!([{"region": "eu-central-1", "kms_arn": kms_arn}]));
}

#[tokio::test]
async fn aws_cmek_bodies_are_checked_field_by_field() {
    let oas = Oas::load();
    let s = Server::start().await;
    let pid = create_project(&s, &oas, "cmek", true).await;
    let path = aws_cmek(&pid);
    for (body, code, field) in [
        (
            json!({"specs": [{"region": "us-west-2", "kms_arn": arn("us-west-2"), "extra": 1}]}),
            ErrorCode::InvalidField.code(),
            "specs[0]",
        ),
        (json!({"specs": [{"region": "us-west-2"}]}), ErrorCode::MissingField.code(), "specs[0].kms_arn"),
        (json!({"specs": [{"kms_arn": arn("us-west-2")}]}), ErrorCode::MissingField.code(), "specs[0].region"),
        (
            json!({"specs": [{"region": 2, "kms_arn": arn("us-west-2")}]}),
            ErrorCode::InvalidField.code(),
            "specs[0].region",
        ),
        (
            json!({"specs": {"region": "us-west-2", "kms_arn": arn("us-west-2")}}),
            ErrorCode::InvalidField.code(),
            "specs",
        ),
        (json!({"specs": null}), ErrorCode::InvalidField.code(), "specs"),
        (json!({"spec": []}), ErrorCode::InvalidField.code(), "spec"),
    ] {
        let r = s.post(&path, body.clone()).await;
        let msg = err(&oas, "CreateAwsCmek", &r, 400, code);
        assert!(msg.starts_with(field), "{body}: the message names {field}: {msg}");
    }
    let r = s.raw(Method::POST, &path, Some("application/json"), "{\"specs\": [").await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::MalformedJson.code());
    let r = s.raw(Method::POST, &path, Some("text/plain"), "specs=us-west-2").await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::MalformedJson.code());
    let r = s.raw(Method::POST, &path, Some("application/json"), "").await;
    err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::MalformedJson.code());
    assert_eq!(keys(&s, &oas, &pid).await, json!([]));
}

#[tokio::test]
async fn unknown_and_malformed_project_ids() {
    let oas = Oas::load();
    let s = Server::start().await;
    let real = create_project(&s, &oas, "cmek", true).await;
    let (kms_arn, _) = usable_key(&s, "us-west-2").await;
    let missing = (real.parse::<u64>().unwrap() + 1000).to_string();
    for pid in [missing.as_str(), "0", "18446744073709551615"] {
        let r = s.get(&aws_cmek(pid)).await;
        let msg = err(&oas, "ListAwsCmek", &r, 404, ErrorCode::ProjectNotFound.code());
        assert!(msg.contains(pid), "{msg}");
        let r = configure(&s, pid, "us-west-2", &kms_arn).await;
        err(&oas, "CreateAwsCmek", &r, 404, ErrorCode::ProjectNotFound.code());
    }
    for pid in ["abc", "-1", "1.5", "18446744073709551616", "0x10", "%20"] {
        let r = s.get(&aws_cmek(pid)).await;
        err(&oas, "ListAwsCmek", &r, 400, ErrorCode::InvalidPathId.code());
        assert_eq!(detail_fields(&r), vec!["project_id"], "{pid}");
        let r = configure(&s, pid, "us-west-2", &kms_arn).await;
        err(&oas, "CreateAwsCmek", &r, 400, ErrorCode::InvalidPathId.code());
    }
    assert_eq!(keys(&s, &oas, &real).await, json!([]));
}

#[tokio::test]
async fn a_project_id_that_is_not_utf8_is_an_error_response() {
    // %FF decodes to a byte that is not UTF-8: still a malformed id, answered as ErrorResponse.
    let oas = Oas::load();
    let s = Server::start().await;
    let r = s.get(&aws_cmek("%FF")).await;
    err(&oas, "ListAwsCmek", &r, 400, ErrorCode::InvalidPathId.code());
}

#[tokio::test]
async fn concurrent_configures_of_two_regions_record_exactly_one() {
    let oas = Oas::load();
    let s = Server::start().await;
    let (west, _) = usable_key(&s, "us-west-2").await;
    let (east, _) = usable_key(&s, "us-east-1").await;
    for round in 0..4 {
        let pid = create_project(&s, &oas, &format!("race-{round}"), true).await;
        let (a, b) = tokio::join!(configure(&s, &pid, "us-west-2", &west), configure(&s, &pid, "us-east-1", &east));
        verify(&oas, "CreateAwsCmek", &a);
        verify(&oas, "CreateAwsCmek", &b);
        let (winner, loser) = match (a.status, b.status) {
            (200, _) => (json!({"region": "us-west-2", "kms_arn": west}), &b),
            (_, 200) => (json!({"region": "us-east-1", "kms_arn": east}), &a),
            _ => panic!("one of two regions must win: {} / {}", a.body, b.body),
        };
        err(&oas, "CreateAwsCmek", loser, 400, ErrorCode::CmekRegionLocked.code());
        assert_eq!(keys(&s, &oas, &pid).await, json!([winner]), "one AWS region per project, even in a race");
    }
}
