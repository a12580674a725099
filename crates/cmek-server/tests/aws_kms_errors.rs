//! Bad input to the AWS KMS implementation of the key-access port (`--kms aws`): a malformed
//! ARN, an unknown key, a key in another account, wrong or missing credentials, an unreachable
//! endpoint. Each gives a message naming the key, the call and the cause — never a panic — and
//! the server answers it as a key refusal or a key health, never a 500 of its own.
//!
//! One test only: it sets the AWS environment of the server it starts (the standard AWS
//! variables are how `--kms aws` is given credentials), which must not race another test.

mod common;

use aws_sdk_kms::config::{BehaviorVersion, Credentials};
use cmek_server::kms::aws::AwsKms;
use cmek_server::kms::{Kms, KmsError};
use common::{ErrorCode, Server};
use serde_json::json;
use std::time::{Duration, Instant};

const ACCESS_KEY_ID: &str = "AKIASANDBOXTESTKEY03";
const SECRET: &str = "errors-test-secret-0123456789abcdefghijklm";
const REGION: &str = "us-west-2";

fn with_credentials(id: &str, secret: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(id, secret, None, None, "test"))
}

fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

fn assert_names(e: &KmsError, arn: &str, call: &str, cause: &str) {
    let msg = e.to_string();
    assert!(msg.contains(arn), "names the key {arn}: {msg}");
    assert!(msg.contains(call), "names the call {call}: {msg}");
    assert!(msg.contains(cause), "names the cause ({cause}): {msg}");
}

#[tokio::test]
async fn bad_input_gives_clear_messages_naming_key_call_and_cause() {
    // SAFETY: the only test of this binary; set before any thread of ours reads the environment.
    // No instance metadata and no ~/.aws files: the credentials are exactly these.
    unsafe {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_PROFILE");
    }
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(
        dir.path(),
        &["--sandbox-access-key-id", ACCESS_KEY_ID, "--sandbox-secret-access-key", SECRET],
    )
    .await;
    let r = s.post("/api/ext/v1/sandbox-kms/keys", json!({ "region": REGION })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let arn = r.body["arn"].as_str().unwrap().to_owned();
    let key_id = r.body["key_id"].as_str().unwrap().to_owned();
    let account = r.body["account_id"].as_str().unwrap().to_owned();

    // The server's own sandbox, reached as "real" AWS at an endpoint URL.
    let kms = AwsKms::from_loader(with_credentials(ACCESS_KEY_ID, SECRET), Some(s.base.clone()));
    let d = kms.describe_key(&arn).await.expect("the key is there");
    assert_eq!(
        (d.key_id.as_str(), d.region.as_str(), d.account_id.as_str()),
        (key_id.as_str(), REGION, account.as_str())
    );
    assert!(kms.key_policy(&arn).await.expect("its policy").contains(&format!("arn:aws:iam::{account}:root")));

    // A malformed ARN: nothing is asked.
    for bad in ["not-an-arn", &format!("arn:aws:kms:{REGION}:{account}:alias/cmek")] {
        let e = kms.describe_key(bad).await.unwrap_err();
        assert!(matches!(e, KmsError::InvalidArn { .. }), "{e:?}");
        assert_names(&e, bad, "DescribeKey", "is not a KMS key ARN");
    }
    // An unknown key.
    let unknown = format!("arn:aws:kms:{REGION}:{account}:key/0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd");
    let e = kms.describe_key(&unknown).await.unwrap_err();
    assert!(matches!(e, KmsError::NotFound { .. }), "{e:?}");
    assert_names(&e, &unknown, "DescribeKey", "NotFoundException");
    // A key in another account: the caller's credentials may not read it.
    let other = format!("arn:aws:kms:{REGION}:999988887777:key/{key_id}");
    let e = kms.key_policy(&other).await.unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied { .. }), "{e:?}");
    assert_names(&e, &other, "GetKeyPolicy", "AccessDeniedException");
    assert!(e.to_string().contains("grant them kms:GetKeyPolicy"), "says which permission: {e}");
    let check = kms.check_access(&other, REGION, Some("444455556666")).await;
    assert_eq!(check.state.as_str(), "ACCESS_DENIED");
    assert!(check.causes[0].contains("kms:DescribeKey"), "{:?}", check.causes);

    // Wrong credentials: the secret, then the access key id.
    let wrong = AwsKms::from_loader(with_credentials(ACCESS_KEY_ID, "not-the-secret"), Some(s.base.clone()));
    let e = wrong.describe_key(&arn).await.unwrap_err();
    assert!(matches!(e, KmsError::Unreachable { .. }), "{e:?}");
    assert_names(&e, &arn, "DescribeKey", "InvalidSignatureException");
    assert!(e.to_string().contains("server's own AWS credentials"), "{e}");
    let unknown_id = AwsKms::from_loader(with_credentials("AKIAUNKNOWN0000000000", SECRET), Some(s.base.clone()));
    let e = unknown_id.rotation_status(&arn).await.unwrap_err();
    assert_names(&e, &arn, "GetKeyRotationStatus", "UnrecognizedClientException");
    // No credentials at all.
    let none =
        AwsKms::from_loader(aws_config::defaults(BehaviorVersion::latest()).no_credentials(), Some(s.base.clone()));
    let e = none.describe_key(&arn).await.unwrap_err();
    assert!(matches!(e, KmsError::Unreachable { .. }), "{e:?}");
    assert_names(&e, &arn, "DescribeKey", "no usable AWS credentials");
    // An unreachable endpoint: an answer within the operation timeout, not a hang.
    let unreachable_url = closed_port_url();
    let far = AwsKms::from_loader(with_credentials(ACCESS_KEY_ID, SECRET), Some(unreachable_url.clone()));
    let t0 = Instant::now();
    let e = far.describe_key(&arn).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(30), "took {:?}", t0.elapsed());
    assert!(matches!(e, KmsError::Unreachable { .. }), "{e:?}");
    assert_names(&e, &arn, "DescribeKey", &unreachable_url);

    // The same through a server with --kms aws: refusals and health that say it, never a 500.
    let dir2 = tempfile::tempdir().unwrap();
    let aws = Server::start_in(dir2.path(), &["--kms", "aws", "--kms-endpoint-url", &s.base]).await;
    let info = aws.get("/api/ext/v1/server-info").await;
    assert_eq!(info.body["kms"], "aws", "{:?}", info.body);
    let pid = aws.post("/api/v1beta/projects", json!({ "name": "aws", "aws_cmek_enabled": true })).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (key, call, cause) in [
        (unknown.clone(), "DescribeKey", "NotFoundException"),
        (other.clone(), "DescribeKey", "AccessDeniedException"),
        // The default key policy does not trust the service: read through AWS's API, decided by cmek-core.
        (arn.clone(), "", "no statement allows"),
    ] {
        let r = aws.configure_key(&pid, REGION, &key).await;
        assert!(r.status < 500 && r.status >= 400, "{key}: {} {:?}", r.status, r.body);
        let msg = format!("{} {:?}", r.message(), r.body["details"]);
        assert!(msg.contains(&key) && msg.contains(call) && msg.contains(cause), "{key}: {msg}");
    }
    drop(aws);
    let dir3 = tempfile::tempdir().unwrap();
    let far = Server::start_in(dir3.path(), &["--kms", "aws", "--kms-endpoint-url", &unreachable_url]).await;
    let pid = far.post("/api/v1beta/projects", json!({ "name": "far", "aws_cmek_enabled": true })).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = far
        .post(
            &format!("/api/v1beta/projects/{pid}/aws-cmek"),
            json!({ "specs": [{ "region": REGION, "kms_arn": arn }] }),
        )
        .await;
    let msg = format!("{} {:?}", r.message(), r.body["details"]);
    assert!(msg.contains(&arn) && msg.contains("DescribeKey") && msg.contains(&unreachable_url), "{msg}");
    assert_eq!(r.body["code"], ErrorCode::KmsUnreachable.code(), "KMS_UNREACHABLE: {:?}", r.body);
    assert_eq!(r.status, 503, "a dependency unavailable for now, not a fault of the server's own");
}
