//! The sandbox KMS's AWS endpoint driven by the real AWS CLI (PyPI `awscli`, pinned, installed by
//! scripts/setup into `$CMEK_TOOLS/venv`): every `aws kms …` command the console prints runs
//! exactly as printed (the endpoint comes from `AWS_ENDPOINT_URL_KMS`, so nothing is added to
//! the command), plus the rest of the key's lifecycle the user guide walks through. The server's
//! own key checks (through aws-sdk-kms) see each change.

mod common;

use cmek_core::policy::{self, POLICY_FILE_NAME, PolicyRegion};
use common::Server;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const ACCESS_KEY_ID: &str = "AKIASANDBOXTESTKEY01";
const SECRET: &str = "sandbox/secret/for+tests/0123456789abcdefghij";
const REGION: &str = "us-west-2";

/// The `aws` of the tools venv (never installed from the network here).
fn aws_cli() -> PathBuf {
    let tools = std::env::var_os("CMEK_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/cmek-console-tools")))
        .expect("CMEK_TOOLS or HOME");
    let aws = tools.join("venv/bin/aws");
    assert!(aws.is_file(), "{} is missing, so the AWS CLI test cannot run; run scripts/setup", aws.display());
    aws
}

struct Cli {
    dir: tempfile::TempDir,
    path: String,
    endpoint: String,
    secret: String,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new(endpoint: &str) -> Self {
        let bin = aws_cli().parent().expect("venv/bin").to_owned();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        Self { dir: tempfile::tempdir().unwrap(), path, endpoint: endpoint.to_owned(), secret: SECRET.to_owned() }
    }

    /// Runs `script` with bash in the CLI's working directory, with the sandbox's credentials
    /// and endpoint in the environment only (no config files, no instance metadata).
    async fn run(&self, script: &str) -> Out {
        let out = tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_ENDPOINT_URL_KMS", &self.endpoint)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .output()
            .await
            .expect("run bash");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, script: &str) -> String {
        let o = self.run(script).await;
        assert!(o.ok, "{script}\nfailed:\n{}{}", o.stdout, o.stderr);
        o.stdout
    }

    async fn json(&self, script: &str) -> Value {
        let out = self.ok(script).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{script}\nprinted no JSON ({e}):\n{out}"))
    }

    /// The command fails, and the CLI names `error_type`.
    async fn fails_with(&self, script: &str, error_type: &str) -> String {
        let o = self.run(script).await;
        assert!(!o.ok, "{script}\nshould have failed:\n{}", o.stdout);
        assert!(o.stderr.contains(&format!("({error_type})")), "{script}\nnames {error_type}:\n{}", o.stderr);
        o.stderr
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

/// `format::shell_quote` of the console (src/format.rs).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

// The commands as the console prints them (same text, same quoting): src/pages/encryption.rs
// (Create Encryption Key), src/pages/checker.rs (key policy checker), src/pages/revoke.rs.

fn console_create_key_commands(region: &str, arn: &str) -> String {
    format!(
        "# Replace the key's policy with ROLE-TRUST-POLICY.JSON merged into your own statements\n\
         # (the key policy checker on this console merges them for you):\n\
         aws kms put-key-policy --region {region} --key-id {} --policy-name default --policy file://{POLICY_FILE_NAME}\n\
         # Optional: automatic rotation (nothing to change in this console afterwards):\n\
         aws kms enable-key-rotation --region {region} --key-id {}",
        shell_quote(arn),
        shell_quote(arn)
    )
}

fn console_checker_command(region: &str, arn: &str) -> String {
    format!(
        "aws kms put-key-policy --region {} --key-id {} --policy-name default --policy file://key-policy.json",
        region,
        shell_quote(arn)
    )
}

fn console_revoke_steps(arn: &str, region: &str, change: &str) -> String {
    let key = shell_quote(arn);
    format!(
        "aws kms get-key-policy --region {region} --key-id {key} --policy-name default --query Policy --output text > key-policy.json\n\
         # {change}\n\
         aws kms put-key-policy --region {region} --key-id {key} --policy-name default --policy file://key-policy.json"
    )
}

/// A server whose sandbox endpoint accepts the test's key pair (and its data directory).
async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(
        dir.path(),
        &["--sandbox-access-key-id", ACCESS_KEY_ID, "--sandbox-secret-access-key", SECRET],
    )
    .await;
    (s, dir)
}

async fn accounts(s: &Server) -> (String, String) {
    let r = s.get("/api/ext/v1/server-info").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (
        r.body["service_account_id"].as_str().unwrap().to_owned(),
        r.body["sandbox_account_id"].as_str().unwrap().to_owned(),
    )
}

async fn sandbox_key(s: &Server, key_id: &str) -> Value {
    let r = s.get(&format!("/api/ext/v1/sandbox-kms/keys/{key_id}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn check_now(s: &Server, pid: &str) -> Value {
    let r = s.post(&format!("/api/ext/v1/projects/{pid}/key-health/check"), json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"][0].clone()
}

#[tokio::test]
async fn the_console_commands_run_as_printed_against_the_sandbox() {
    let (s, _dir) = server().await;
    let cli = Cli::new(&s.base);
    let (service, sandbox) = accounts(&s).await;

    // CreateKey, with the AWS default policy (the owner only).
    let created = cli.json(&format!("aws kms create-key --region {REGION} --description 'CMEK for the guide'")).await;
    let meta = &created["KeyMetadata"];
    let arn = meta["Arn"].as_str().expect("Arn").to_owned();
    let key_id = meta["KeyId"].as_str().expect("KeyId").to_owned();
    assert_eq!(arn, format!("arn:aws:kms:{REGION}:{sandbox}:key/{key_id}"));
    assert_eq!((meta["KeyState"].as_str(), meta["Enabled"].as_bool()), (Some("Enabled"), Some(true)));
    assert_eq!(meta["KeyManager"], "CUSTOMER");
    assert_eq!(sandbox_key(&s, &key_id).await["state"], "Enabled", "the console's sandbox page sees the key");

    // The project uses the key: refused until the policy trusts the service.
    let pid = s.post("/api/v1beta/projects", json!({ "name": "cli", "aws_cmek_enabled": true })).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.configure_key(&pid, REGION, &arn).await;
    assert_eq!(r.status, 400, "the default policy does not trust the service: {:?}", r.body);

    // Create Encryption Key page: put the guide's policy, enable rotation — as printed.
    let guide =
        policy::pretty(&policy::default_key_policy(&sandbox, Some(&service), &PolicyRegion::Region(REGION.into())));
    cli.write(POLICY_FILE_NAME, &guide);
    cli.ok(&console_create_key_commands(REGION, &arn)).await;
    let k = sandbox_key(&s, &key_id).await;
    assert_eq!(k["policy"].as_str(), Some(guide.as_str()), "stored exactly as written");
    assert_eq!(k["rotation"]["enabled"], true);
    let status = cli.json(&format!("aws kms get-key-rotation-status --region {REGION} --key-id {key_id}")).await;
    assert_eq!(
        (status["KeyRotationEnabled"].as_bool(), status["RotationPeriodInDays"].as_i64()),
        (Some(true), Some(365))
    );
    let r = s.configure_key(&pid, REGION, &arn).await;
    assert_eq!(r.status, 200, "the guide's policy trusts the service: {:?}", r.body);
    assert_eq!(check_now(&s, &pid).await["state"], "ACCESSIBLE");

    // The key policy checker's command, with a policy that says the same in another layout.
    cli.write("key-policy.json", &serde_json::to_string(&serde_json::from_str::<Value>(&guide).unwrap()).unwrap());
    cli.ok(&console_checker_command(REGION, &arn)).await;
    assert_eq!(check_now(&s, &pid).await["state"], "ACCESSIBLE");

    // Revoke: get the policy as printed, remove the service's statements, put it back.
    let revoke = console_revoke_steps(&arn, REGION, "remove the statements that name the TiDB Cloud account");
    let (get, put) = revoke.split_once("\n# remove").map(|(g, rest)| (g, rest.split_once('\n').unwrap().1)).unwrap();
    cli.ok(get).await;
    let fetched: Value = serde_json::from_str(&cli.read("key-policy.json"))
        .expect("get-key-policy --query Policy --output text wrote the policy");
    assert_eq!(fetched, serde_json::from_str::<Value>(&guide).unwrap());
    let mut revoked = fetched.clone();
    revoked["Statement"].as_array_mut().unwrap().retain(|st| !st.to_string().contains(&service));
    cli.write("key-policy.json", &revoked.to_string());
    cli.ok(put).await;
    let h = check_now(&s, &pid).await;
    assert_eq!(h["state"], "ACCESS_DENIED", "{h:#}");
    // Restore: the whole printed script, with the guide's policy in place of the edit.
    cli.write("key-policy.json", &guide);
    cli.ok(&format!("{get}\ncp {POLICY_FILE_NAME} key-policy.json\n{put}")).await;
    assert_eq!(check_now(&s, &pid).await["state"], "ACCESSIBLE");

    // Disable, enable, schedule and cancel the deletion, rotation — the guide's other steps.
    cli.ok(&format!("aws kms disable-key --region {REGION} --key-id {}", shell_quote(&arn))).await;
    assert_eq!(check_now(&s, &pid).await["state"], "KEY_DISABLED");
    cli.fails_with(&format!("aws kms enable-key-rotation --region {REGION} --key-id {key_id}"), "DisabledException")
        .await;
    cli.ok(&format!("aws kms enable-key --region {REGION} --key-id {}", shell_quote(&arn))).await;
    assert_eq!(check_now(&s, &pid).await["state"], "ACCESSIBLE");
    let scheduled = cli
        .json(&format!(
            "aws kms schedule-key-deletion --region {REGION} --key-id {} --pending-window-in-days 7",
            shell_quote(&arn)
        ))
        .await;
    assert_eq!(
        (scheduled["KeyState"].as_str(), scheduled["PendingWindowInDays"].as_i64()),
        (Some("PendingDeletion"), Some(7))
    );
    assert_eq!(scheduled["KeyId"].as_str(), Some(arn.as_str()));
    assert!(scheduled["DeletionDate"].is_number(), "{scheduled}");
    assert_eq!(check_now(&s, &pid).await["state"], "PENDING_DELETION");
    cli.fails_with(&format!("aws kms enable-key --region {REGION} --key-id {key_id}"), "KMSInvalidStateException")
        .await;
    let described = cli.json(&format!("aws kms describe-key --region {REGION} --key-id {key_id}")).await;
    assert_eq!(described["KeyMetadata"]["KeyState"], "PendingDeletion");
    assert!(described["KeyMetadata"]["DeletionDate"].is_number());
    cli.json(&format!("aws kms cancel-key-deletion --region {REGION} --key-id {}", shell_quote(&arn))).await;
    assert_eq!(sandbox_key(&s, &key_id).await["state"], "Disabled", "a cancelled deletion leaves the key Disabled");
    cli.ok(&format!("aws kms enable-key --region {REGION} --key-id {key_id}")).await;
    assert_eq!(check_now(&s, &pid).await["state"], "ACCESSIBLE");
    let rotated = cli.json(&format!("aws kms rotate-key-on-demand --region {REGION} --key-id {key_id}")).await;
    assert_eq!(rotated["KeyId"].as_str(), Some(key_id.as_str()));
    let rotations = cli.json(&format!("aws kms list-key-rotations --region {REGION} --key-id {key_id}")).await;
    assert_eq!(rotations["Rotations"][0]["RotationType"], "ON_DEMAND", "{rotations}");
    assert_eq!(check_now(&s, &pid).await["rotation"]["rotation_count"], 1);
    cli.ok(&format!("aws kms disable-key-rotation --region {REGION} --key-id {key_id}")).await;
    let listed = cli.json(&format!("aws kms list-keys --region {REGION}")).await;
    assert_eq!(listed["Keys"], json!([{ "KeyId": key_id, "KeyArn": arn }]));
    assert_eq!(cli.json("aws kms list-keys --region eu-west-1").await["Keys"], json!([]), "keys are per region");

    // --endpoint-url works as well as the environment.
    let explicit = cli
        .json(&format!(
            "AWS_ENDPOINT_URL_KMS= aws kms describe-key --region {REGION} --key-id {key_id} --endpoint-url {}",
            s.base
        ))
        .await;
    assert_eq!(explicit["KeyMetadata"]["Arn"].as_str(), Some(arn.as_str()));
}

#[tokio::test]
async fn the_cli_gets_aws_errors() {
    let (s, _dir) = server().await;
    let mut cli = Cli::new(&s.base);
    let created = cli.json(&format!("aws kms create-key --region {REGION}")).await;
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let (_, sandbox) = accounts(&s).await;

    let msg = cli
        .fails_with(
            &format!("aws kms describe-key --region {REGION} --key-id 0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd"),
            "NotFoundException",
        )
        .await;
    assert!(msg.contains("0b5c2a4e-1d7e-4c5e-9a3e-12345678abcd"), "{msg}");
    let other = format!("arn:aws:kms:{REGION}:999988887777:key/{key_id}");
    let msg = cli
        .fails_with(&format!("aws kms describe-key --region {REGION} --key-id {other}"), "AccessDeniedException")
        .await;
    assert!(msg.contains("999988887777") && msg.contains("kms:DescribeKey"), "{msg}");
    let msg = cli
        .fails_with(
            &format!("aws kms describe-key --region eu-west-1 --key-id arn:aws:kms:{REGION}:{sandbox}:key/{key_id}"),
            "NotFoundException",
        )
        .await;
    assert!(msg.contains("eu-west-1"), "{msg}");
    cli.write("bad.json", "{\"Statement\": \"not a list\"}");
    cli.fails_with(
        &format!(
            "aws kms put-key-policy --region {REGION} --key-id {key_id} --policy-name default --policy file://bad.json"
        ),
        "MalformedPolicyDocumentException",
    )
    .await;
    cli.fails_with(
        &format!("aws kms schedule-key-deletion --region {REGION} --key-id {key_id} --pending-window-in-days 3"),
        "ValidationException",
    )
    .await;
    cli.fails_with(
        &format!("aws kms cancel-key-deletion --region {REGION} --key-id {key_id}"),
        "KMSInvalidStateException",
    )
    .await;
    cli.fails_with(
        &format!("aws kms encrypt --region {REGION} --key-id {key_id} --plaintext aGk="),
        "UnknownOperationException",
    )
    .await;

    // Wrong and unknown credentials are refused by the SigV4 check.
    cli.secret = "not-the-secret".into();
    cli.fails_with(&format!("aws kms list-keys --region {REGION}"), "InvalidSignatureException").await;
    let o = cli.run(&format!("AWS_ACCESS_KEY_ID=AKIAUNKNOWN0000000000 aws kms list-keys --region {REGION}")).await;
    assert!(!o.ok && o.stderr.contains("(UnrecognizedClientException)"), "{}", o.stderr);
    // Unsigned requests too.
    let r = reqwest::Client::new()
        .post(format!("{}/", s.base))
        .header("x-amz-target", "TrentService.ListKeys")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException", "{body}");
}
