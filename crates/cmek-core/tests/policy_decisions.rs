//! The access decision on a table of key policies, plus `merge()`, `without_service_statements()`
//! and `validate_document()`.
//!
//! Every expectation below is worked out from how AWS evaluates a key policy for the calls the
//! service makes (EBS through EC2 from the service account; backups through S3 from the service
//! account's role), not copied from the checker's output. Where the reasoning is not obvious,
//! a comment says why.

use cmek_core::kms::{KeyHealthState, KeyState};
use cmek_core::policy::{
    self, AccessDecision, AccessQuery, EBS_SID, Finding, Grant, MAX_POLICY_BYTES, PolicyRegion, S3_SID, StatementRef,
};
use serde_json::{Value, json};

const SERVICE: &str = "444455556666";
const OWNER: &str = "111122223333";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab";
const REGION: &str = "us-west-2";

/// The Appendix of the user guide, as a person copies it from the page (the code block, without
/// the page's indentation). Input data: the comments and the `...` line are what make it invalid
/// JSON.
const GUIDE_APPENDIX: &str = r#"{
    "Version": "2012-10-17",
    "Id": "cmek-policy",
    "Statement": [
        // EBS-related policy
        {
            "Sid": "Allow access through EBS for all principals in the account that are authorized to use EBS",
            "Effect": "Allow",
            "Principal": {
                "AWS": "*"
            },
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:CreateGrant",
                "kms:DescribeKey"
            ],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": "<pingcap-account>",
                    "kms:ViaService": "ec2.<region>.amazonaws.com"
                }
            }
        },
        // S3-related policy
        {
            "Sid": "Allow TiDB cloud role to use KMS to store encrypted backup to S3",
            "Effect": "Allow",
            "Principal": {
                "AWS": "arn:aws:iam::<pingcap-account>:root"
            },
            "Action": [
                "kms:Decrypt",
                "kms:GenerateDataKey"
            ],
            "Resource": "*"
        },
        ... // user's own admin access to KMS
    ]
}
"#;

/// Every concrete KMS action the EBS statement's patterns stand for.
const EBS_ALL: [&str; 10] = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:CreateGrant",
    "kms:DescribeKey",
];
/// The EBS actions the guide's S3 statement does NOT also give: that statement's principal is
/// the whole service account (`…:root`, no condition), so it lets every principal of that
/// account, the EBS caller included, Decrypt and GenerateDataKey.
const EBS_NOT_COVERED_BY_S3_STATEMENT: [&str; 8] = [
    "kms:Encrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:CreateGrant",
    "kms:DescribeKey",
];
const S3_ALL: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];

// ------------------------------------------------------------------------------ building blocks

/// The guide's EBS statement for us-west-2 and the service account, written out by hand.
fn guide_ebs() -> Value {
    json!({
        "Sid": EBS_SID,
        "Effect": "Allow",
        "Principal": { "AWS": "*" },
        "Action": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
            "kms:DescribeKey"
        ],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": SERVICE,
                "kms:ViaService": "ec2.us-west-2.amazonaws.com"
            }
        }
    })
}

/// The guide's EBS statement for "any region": the wildcard under StringLike.
fn guide_ebs_any() -> Value {
    json!({
        "Sid": EBS_SID,
        "Effect": "Allow",
        "Principal": { "AWS": "*" },
        "Action": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
            "kms:DescribeKey"
        ],
        "Resource": "*",
        "Condition": {
            "StringEquals": { "kms:CallerAccount": SERVICE },
            "StringLike": { "kms:ViaService": "ec2.*.amazonaws.com" }
        }
    })
}

fn guide_s3() -> Value {
    json!({
        "Sid": S3_SID,
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:aws:iam::{SERVICE}:root") },
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*"
    })
}

fn doc(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Id": "cmek-policy", "Statement": statements })
}

fn with_actions(mut st: Value, actions: &[&str]) -> Value {
    st["Action"] = json!(actions);
    st
}

fn without_action(st: Value, action: &str) -> Value {
    let keep: Vec<String> = st["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .filter(|a| a != action)
        .collect();
    assert_ne!(keep.len(), st["Action"].as_array().unwrap().len(), "{action} is not in the statement");
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    with_actions(st, &keep)
}

fn with(mut st: Value, key: &str, value: Value) -> Value {
    st[key] = value;
    st
}

/// The statements of the AWS console's default key policy for the owner: root, a key
/// administrator, a key user and the key user's grants for AWS resources.
fn owner_statements() -> Vec<Value> {
    vec![
        json!({
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{OWNER}:root") },
            "Action": "kms:*",
            "Resource": "*"
        }),
        json!({
            "Sid": "Allow access for Key Administrators",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{OWNER}:role/KeyAdmin") },
            "Action": [
                "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"
            ],
            "Resource": "*"
        }),
        json!({
            "Sid": "Allow use of the key",
            "Effect": "Allow",
            "Principal": { "AWS": [format!("arn:aws:iam::{OWNER}:role/KeyUser"), OWNER] },
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*"
        }),
        json!({
            "Sid": "Allow attachment of persistent resources",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{OWNER}:role/KeyUser") },
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } }
        }),
    ]
}

/// `{op: {key: value}}`.
fn cond(op: &str, key: &str, value: Value) -> Value {
    json!({ op: { key: value } })
}

/// The guide's EBS statement with `StringEquals` on other CallerAccount/ViaService values.
fn ebs_with(op: &str, caller_account: &str, via_service: Value) -> Value {
    with(
        guide_ebs(),
        "Condition",
        json!({ op: { "kms:CallerAccount": caller_account, "kms:ViaService": via_service } }),
    )
}

fn deny(principal: Value, actions: Value, condition: Option<Value>) -> Value {
    let mut st =
        json!({ "Sid": "Guardrail", "Effect": "Deny", "Principal": principal, "Action": actions, "Resource": "*" });
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    st
}

fn at(index: usize, sid: &str) -> StatementRef {
    StatementRef { index, sid: Some(sid.to_owned()) }
}

fn principal(arn: &str) -> Value {
    json!({ "AWS": arn })
}

fn text(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn query(state: KeyState, account: Option<&'static str>) -> AccessQuery<'static> {
    AccessQuery { key_state: state, key_arn: KEY_ARN, service_account: account, region: REGION }
}

fn q() -> AccessQuery<'static> {
    query(KeyState::Enabled, Some(SERVICE))
}

fn decide(policy: &str) -> AccessDecision {
    policy::decide(policy, q())
}

/// The finding kinds, sorted (a multiset: the same kind twice is two findings).
fn kinds(d: &AccessDecision) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = d.findings.iter().map(Finding::kind).collect();
    k.sort_unstable();
    k
}

fn missing(d: &AccessDecision, g: Grant) -> Option<Vec<String>> {
    d.findings.iter().find_map(|f| match f {
        Finding::MissingActions { grant, actions } if *grant == g => Some(actions.clone()),
        _ => None,
    })
}

fn denied(d: &AccessDecision, g: Grant) -> Vec<Vec<String>> {
    d.findings
        .iter()
        .filter_map(|f| match f {
            Finding::DenyBlocks { grant, actions, .. } if *grant == g => Some(actions.clone()),
            _ => None,
        })
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The guide's text with the comment lines and the `...` line taken out and the trailing comma
/// before `]` removed: valid JSON that still has the `<pingcap-account>`/`<region>` placeholders.
fn guide_without_comments() -> String {
    let kept: Vec<&str> = GUIDE_APPENDIX
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with("..."))
        .collect();
    let joined = kept.join("\n");
    let fixed = joined.replacen("        },\n    ]", "        }\n    ]", 1);
    assert_ne!(fixed, joined, "the trailing comma before ] was not found");
    serde_json::from_str::<Value>(&fixed).expect("the cleaned guide text is JSON");
    fixed
}

// ------------------------------------------------------------------------------ the table

const USABLE: (bool, KeyHealthState) = (true, KeyHealthState::Accessible);
const DENIED: (bool, KeyHealthState) = (false, KeyHealthState::AccessDenied);

struct Case {
    name: &'static str,
    policy: String,
    state: KeyState,
    account: Option<&'static str>,
    kinds: Vec<&'static str>,
    usable: bool,
    health: KeyHealthState,
    /// Whether the policy has a Deny statement (merge leaves those alone).
    has_deny: bool,
    check: fn(&AccessDecision),
}

impl Case {
    fn new(name: &'static str, policy: &Value, kinds: &[&'static str], outcome: (bool, KeyHealthState)) -> Self {
        Self::text(name, text(policy), kinds, outcome)
    }

    fn text(name: &'static str, policy: String, kinds: &[&'static str], outcome: (bool, KeyHealthState)) -> Self {
        let mut kinds = kinds.to_vec();
        kinds.sort_unstable();
        let has_deny = serde_json::from_str::<Value>(&policy)
            .ok()
            .and_then(|v| v.get("Statement").cloned())
            .map(|s| match s {
                Value::Array(a) => a.iter().any(|st| st.get("Effect") == Some(&json!("Deny"))),
                st => st.get("Effect") == Some(&json!("Deny")),
            })
            .unwrap_or(false);
        Case {
            name,
            policy,
            state: KeyState::Enabled,
            account: Some(SERVICE),
            kinds,
            usable: outcome.0,
            health: outcome.1,
            has_deny,
            check: |_| {},
        }
    }

    fn state(mut self, s: KeyState) -> Self {
        self.state = s;
        self
    }

    fn account(mut self, a: Option<&'static str>) -> Self {
        self.account = a;
        self
    }

    fn check(mut self, f: fn(&AccessDecision)) -> Self {
        self.check = f;
        self
    }

    fn run(&self) -> AccessDecision {
        let d = policy::decide(&self.policy, query(self.state, self.account));
        assert_eq!(kinds(&d), self.kinds, "{}: finding kinds; findings: {:#?}", self.name, d.findings);
        assert_eq!(d.is_usable(), self.usable, "{}: is_usable; findings: {:#?}", self.name, d.findings);
        assert_eq!(d.health_state(), self.health, "{}: health_state", self.name);
        // Every finding has words, and blocking ones come first in messages().
        let messages = d.messages();
        assert_eq!(messages.len(), d.findings.len(), "{}", self.name);
        assert!(messages.iter().all(|m| !m.trim().is_empty()), "{}", self.name);
        (self.check)(&d);
        d
    }
}

fn cases() -> Vec<Case> {
    let ebs = guide_ebs;
    let s3 = guide_s3;
    vec![
        // --- the Appendix itself
        Case::new("appendix_for_the_region", &doc(vec![ebs(), s3()]), &[], USABLE),
        Case::new("appendix_for_any_region", &doc(vec![guide_ebs_any(), s3()]), &[], USABLE),
        Case::new(
            "appendix_with_owner_statements",
            &doc([owner_statements(), vec![ebs(), s3()]].concat()),
            &[],
            USABLE,
        ),
        // --- each EBS action missing in turn
        Case::new(
            "ebs_without_encrypt",
            &doc(vec![without_action(ebs(), "kms:Encrypt"), s3()]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:Encrypt"])));
            assert_eq!(missing(d, Grant::S3Backup), None);
        }),
        // The S3 statement trusts the whole service account with Decrypt, so EBS still gets it.
        Case::new("ebs_without_decrypt", &doc(vec![without_action(ebs(), "kms:Decrypt"), s3()]), &[], USABLE),
        Case::new(
            "ebs_and_s3_without_decrypt",
            &doc(vec![without_action(ebs(), "kms:Decrypt"), with_actions(s3(), &["kms:GenerateDataKey"])]),
            &["missing_actions", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:Decrypt"])));
            assert_eq!(missing(d, Grant::S3Backup), Some(strs(&["kms:Decrypt"])));
        }),
        Case::new(
            "ebs_without_reencrypt",
            &doc(vec![without_action(ebs(), "kms:ReEncrypt*"), s3()]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:ReEncryptFrom", "kms:ReEncryptTo"])))),
        // "kms:ReEncrypt" (no star) is not an action: it covers neither ReEncryptFrom nor ReEncryptTo.
        Case::new(
            "ebs_with_reencrypt_without_star",
            &doc(vec![
                with_actions(
                    ebs(),
                    &[
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                    ],
                ),
                s3(),
            ]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:ReEncryptFrom", "kms:ReEncryptTo"])))),
        // GenerateDataKey itself still comes from the S3 statement (account root).
        Case::new(
            "ebs_without_generate_data_key_star",
            &doc(vec![without_action(ebs(), "kms:GenerateDataKey*"), s3()]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(
                missing(d, Grant::Ebs),
                Some(strs(&[
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:GenerateDataKeyPair",
                    "kms:GenerateDataKeyPairWithoutPlaintext"
                ]))
            )
        }),
        Case::new(
            "ebs_without_create_grant",
            &doc(vec![without_action(ebs(), "kms:CreateGrant"), s3()]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:CreateGrant"])))),
        Case::new(
            "ebs_without_describe_key",
            &doc(vec![without_action(ebs(), "kms:DescribeKey"), s3()]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::Ebs), Some(strs(&["kms:DescribeKey"])))),
        Case::new("ebs_statement_missing", &doc(vec![s3()]), &["missing_actions"], DENIED)
            .check(|d| assert_eq!(missing(d, Grant::Ebs), Some(strs(&EBS_NOT_COVERED_BY_S3_STATEMENT)))),
        // --- each S3 action missing in turn (the EBS statement is tied to EC2, so it does not help)
        Case::new(
            "s3_without_decrypt",
            &doc(vec![ebs(), without_action(s3(), "kms:Decrypt")]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::S3Backup), Some(strs(&["kms:Decrypt"])));
            assert_eq!(missing(d, Grant::Ebs), None);
        }),
        Case::new(
            "s3_without_generate_data_key",
            &doc(vec![ebs(), without_action(s3(), "kms:GenerateDataKey")]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::S3Backup), Some(strs(&["kms:GenerateDataKey"])))),
        Case::new("s3_statement_missing", &doc(vec![ebs()]), &["missing_actions"], DENIED)
            .check(|d| assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)))),
        // --- EBS conditions
        Case::new(
            "wrong_caller_account",
            &doc(vec![ebs_with("StringEquals", "999988887777", json!("ec2.us-west-2.amazonaws.com")), s3()]),
            &["wrong_caller_account", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::Ebs), Some(strs(&EBS_NOT_COVERED_BY_S3_STATEMENT)));
            assert!(d.findings.contains(&Finding::WrongCallerAccount {
                statement: at(0, EBS_SID),
                found: strs(&["999988887777"]),
                expected: SERVICE.into(),
            }));
        }),
        Case::new(
            "wrong_region_in_via_service",
            &doc(vec![ebs_with("StringEquals", SERVICE, json!("ec2.us-east-1.amazonaws.com")), s3()]),
            &["wrong_via_service", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert!(d.findings.contains(&Finding::WrongViaService {
                statement: at(0, EBS_SID),
                found: strs(&["ec2.us-east-1.amazonaws.com"]),
                expected: "ec2.us-west-2.amazonaws.com".into(),
            }));
        }),
        Case::new(
            "star_region_under_string_equals",
            &doc(vec![ebs_with("StringEquals", SERVICE, json!("ec2.*.amazonaws.com")), s3()]),
            &["wildcard_needs_string_like", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert!(d.findings.contains(&Finding::WildcardNeedsStringLike {
                statement: at(0, EBS_SID),
                operator: "StringEquals".into(),
                key: "kms:ViaService".into(),
                value: "ec2.*.amazonaws.com".into(),
            }));
        }),
        Case::new(
            "star_region_under_string_like_with_both_keys",
            &doc(vec![ebs_with("StringLike", SERVICE, json!("ec2.*.amazonaws.com")), s3()]),
            &[],
            USABLE,
        ),
        Case::new(
            "via_service_list_with_the_region",
            &doc(vec![
                ebs_with(
                    "StringEquals",
                    SERVICE,
                    json!(["ec2.us-east-1.amazonaws.com", "ec2.us-west-2.amazonaws.com"]),
                ),
                s3(),
            ]),
            &[],
            USABLE,
        ),
        // Condition keys are case-insensitive in AWS; values are not.
        Case::new(
            "condition_keys_in_other_case",
            &doc(vec![
                with(
                    ebs(),
                    "Condition",
                    json!({"StringEquals": {
                        "KMS:CALLERACCOUNT": SERVICE,
                        "kms:viaservice": "ec2.us-west-2.amazonaws.com"
                    }}),
                ),
                s3(),
            ]),
            &[],
            USABLE,
        ),
        // --- Deny statements
        Case::new(
            "deny_encrypt",
            &doc(vec![ebs(), s3(), deny(json!("*"), json!("kms:Encrypt"), None)]),
            &["deny_blocks"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(denied(d, Grant::Ebs), vec![strs(&["kms:Encrypt"])]);
            assert!(denied(d, Grant::S3Backup).is_empty());
        }),
        Case::new(
            "deny_kms_star",
            &doc(vec![ebs(), s3(), deny(json!({"AWS": "*"}), json!("kms:*"), None)]),
            &["deny_blocks", "deny_blocks"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(denied(d, Grant::Ebs), vec![strs(&EBS_ALL)]);
            assert_eq!(denied(d, Grant::S3Backup), vec![strs(&S3_ALL)]);
        }),
        // "Only my own account may use the key": hits the service's account.
        Case::new(
            "deny_other_caller_accounts",
            &doc(vec![
                ebs(),
                s3(),
                deny(
                    json!("*"),
                    json!(["kms:Decrypt", "kms:Encrypt"]),
                    Some(cond("StringNotEquals", "kms:CallerAccount", json!(OWNER))),
                ),
            ]),
            &["deny_blocks", "deny_blocks"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(denied(d, Grant::Ebs), vec![strs(&["kms:Encrypt", "kms:Decrypt"])]);
            assert_eq!(denied(d, Grant::S3Backup), vec![strs(&["kms:Decrypt"])]);
        }),
        // A Deny that applies only through RDS does not touch EC2 or S3 requests.
        Case::new(
            "deny_through_another_service",
            &doc(vec![
                ebs(),
                s3(),
                deny(
                    json!("*"),
                    json!("kms:*"),
                    Some(cond("StringEquals", "kms:ViaService", json!("rds.us-west-2.amazonaws.com"))),
                ),
            ]),
            &[],
            USABLE,
        ),
        // "Only through EC2": the S3 backup requests come through S3 and are denied.
        Case::new(
            "deny_unless_through_ec2",
            &doc(vec![
                ebs(),
                s3(),
                deny(
                    json!("*"),
                    json!("kms:*"),
                    Some(cond("StringNotEquals", "kms:ViaService", json!("ec2.us-west-2.amazonaws.com"))),
                ),
            ]),
            &["deny_blocks"],
            DENIED,
        )
        .check(|d| {
            assert!(denied(d, Grant::Ebs).is_empty());
            assert_eq!(denied(d, Grant::S3Backup), vec![strs(&S3_ALL)]);
        }),
        // NotPrincipal: deny everyone but the owner's root.
        Case::new(
            "deny_everyone_but_the_owner",
            &doc(vec![
                ebs(),
                s3(),
                json!({
                    "Sid": "OnlyOwner", "Effect": "Deny",
                    "NotPrincipal": {"AWS": format!("arn:aws:iam::{OWNER}:root")},
                    "Action": "kms:*", "Resource": "*"
                }),
            ]),
            &["deny_blocks", "deny_blocks"],
            DENIED,
        ),
        // A Deny with NotAction denies everything it does not list.
        Case::new(
            "deny_with_not_action",
            &doc(vec![
                ebs(),
                s3(),
                json!({"Sid": "OnlyDecrypt", "Effect": "Deny", "Principal": "*",
                       "NotAction": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}),
            ]),
            &["deny_blocks"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(denied(d, Grant::Ebs), vec![strs(&EBS_NOT_COVERED_BY_S3_STATEMENT)]);
            assert!(denied(d, Grant::S3Backup).is_empty());
        }),
        // An operator the checker does not know: an Allow with it is not counted, a Deny is.
        Case::new(
            "deny_with_unknown_operator",
            &doc(vec![
                ebs(),
                s3(),
                deny(
                    json!("*"),
                    json!("kms:*"),
                    Some(cond("DateGreaterThan", "aws:CurrentTime", json!("2020-01-01T00:00:00Z"))),
                ),
            ]),
            &["deny_blocks", "deny_blocks", "unsupported_operator"],
            DENIED,
        ),
        // Deny with IfExists on a key the request does not carry: IfExists holds, so it denies.
        Case::new(
            "deny_with_if_exists_on_absent_key",
            &doc(vec![
                ebs(),
                s3(),
                deny(
                    json!("*"),
                    json!("kms:Decrypt"),
                    Some(cond("StringNotEqualsIfExists", "aws:SourceVpc", json!("vpc-1a2b3c4d"))),
                ),
            ]),
            &["deny_blocks", "deny_blocks"],
            DENIED,
        ),
        // --- action wildcards and case
        Case::new(
            "actions_kms_star",
            &doc(vec![with(ebs(), "Action", json!("kms:*")), with(s3(), "Action", json!("kms:*"))]),
            &[],
            USABLE,
        ),
        Case::new(
            "actions_star",
            &doc(vec![with(ebs(), "Action", json!("*")), with(s3(), "Action", json!(["*"]))]),
            &[],
            USABLE,
        ),
        Case::new(
            "actions_spelled_out",
            &doc(vec![with_actions(ebs(), &EBS_ALL), with_actions(s3(), &["kms:GenerateDataKey*", "kms:Decrypt"])]),
            &[],
            USABLE,
        ),
        Case::new(
            "actions_in_other_case",
            &doc(vec![
                with_actions(
                    ebs(),
                    &[
                        "KMS:ENCRYPT",
                        "kms:decrypt",
                        "Kms:ReEncrypt*",
                        "kms:generatedatakey*",
                        "kms:creategrant",
                        "KMS:DescribeKey",
                    ],
                ),
                with_actions(s3(), &["kms:DECRYPT", "kms:generateDataKey"]),
            ]),
            &[],
            USABLE,
        ),
        // --- principals
        Case::new("principal_string_star", &doc(vec![with(ebs(), "Principal", json!("*")), s3()]), &[], USABLE),
        Case::new(
            "principal_aws_list",
            &doc(vec![
                ebs(),
                with(
                    s3(),
                    "Principal",
                    json!({"AWS": ["arn:aws:iam::999988887777:root", format!("arn:aws:iam::{SERVICE}:root")]}),
                ),
            ]),
            &[],
            USABLE,
        ),
        Case::new(
            "principal_bare_account",
            &doc(vec![ebs(), with(s3(), "Principal", json!({"AWS": SERVICE}))]),
            &[],
            USABLE,
        ),
        Case::new(
            "ebs_principal_service_account_root",
            &doc(vec![with(ebs(), "Principal", json!({"AWS": format!("arn:aws:iam::{SERVICE}:root")})), s3()]),
            &[],
            USABLE,
        ),
        Case::new(
            "principal_the_backup_role",
            &doc(vec![
                ebs(),
                with(s3(), "Principal", principal(&format!("arn:aws:iam::{SERVICE}:role/tidb-cloud-backup"))),
            ]),
            &[],
            USABLE,
        ),
        Case::new(
            "principal_another_role",
            &doc(vec![ebs(), with(s3(), "Principal", principal(&format!("arn:aws:iam::{SERVICE}:role/SomeoneElse")))]),
            &["wrong_principal", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)));
            assert!(d.findings.contains(&Finding::WrongPrincipal {
                statement: at(1, S3_SID),
                found: vec![format!("arn:aws:iam::{SERVICE}:role/SomeoneElse")],
                expected: format!("arn:aws:iam::{SERVICE}:root"),
            }));
        }),
        Case::new(
            "principal_another_account",
            &doc(vec![ebs(), with(s3(), "Principal", json!({"AWS": "arn:aws:iam::999988887777:root"}))]),
            &["wrong_principal", "missing_actions"],
            DENIED,
        ),
        Case::new(
            "principal_a_service",
            &doc(vec![ebs(), with(s3(), "Principal", json!({"Service": "s3.amazonaws.com"}))]),
            &["wrong_principal", "missing_actions"],
            DENIED,
        ),
        // A Principal string other than "*" is not valid policy grammar.
        Case::new(
            "principal_bare_arn_string",
            &doc(vec![ebs(), with(s3(), "Principal", json!(format!("arn:aws:iam::{SERVICE}:root")))]),
            &["invalid_statement", "missing_actions"],
            DENIED,
        ),
        // --- document shapes
        Case::new(
            "single_statement_object",
            &json!({"Version": "2012-10-17", "Statement": {
                "Sid": "Service account", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{SERVICE}:root")},
                "Action": "kms:*", "Resource": "*"}}),
            &[],
            USABLE,
        ),
        Case::new(
            "version_2008",
            &json!({"Version": "2008-10-17", "Statement": [guide_ebs(), guide_s3()]}),
            &[],
            USABLE,
        ),
        Case::new("no_version", &json!({"Statement": [guide_ebs(), guide_s3()]}), &[], USABLE),
        Case::new(
            "resource_is_the_key_arn",
            &doc(vec![with(ebs(), "Resource", json!(KEY_ARN)), with(s3(), "Resource", json!([KEY_ARN]))]),
            &[],
            USABLE,
        ),
        Case::new(
            "resource_is_another_key",
            &doc(vec![with(ebs(), "Resource", json!(OTHER_KEY_ARN)), with(s3(), "Resource", json!(OTHER_KEY_ARN))]),
            &["missing_actions", "missing_actions"],
            DENIED,
        ),
        // --- invalid statements are reported and ignored
        Case::new(
            "statement_without_principal",
            &doc(vec![
                ebs(),
                s3(),
                json!({"Sid": "NoPrincipal", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
            ]),
            &["invalid_statement"],
            USABLE,
        )
        .check(|d| {
            let invalid = d.findings.iter().find_map(|f| match f {
                Finding::InvalidStatement { statement, message } => Some((statement.clone(), message.clone())),
                _ => None,
            });
            let (statement, message) = invalid.unwrap();
            assert_eq!((statement.index, statement.sid.as_deref()), (2, Some("NoPrincipal")));
            assert!(message.contains("Principal"), "{message}");
        }),
        Case::new(
            "effect_lowercase_allow",
            &doc(vec![ebs(), with(s3(), "Effect", json!("allow"))]),
            &["invalid_statement", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)));
            let invalid = d.messages().into_iter().find(|m| m.contains("is ignored")).unwrap();
            assert!(invalid.contains("\"allow\""), "{invalid}");
        }),
        // --- conditions
        Case::new(
            "unknown_operator_in_allow",
            &doc(vec![
                ebs(),
                with(s3(), "Condition", json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})),
            ]),
            &["unsupported_operator", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            let unsupported = d.findings.iter().find_map(|f| match f {
                Finding::UnsupportedOperator { operator, statement } => Some((operator.as_str(), statement.index)),
                _ => None,
            });
            assert_eq!(unsupported, Some(("DateLessThan", 1)));
        }),
        Case::new(
            "not_action_allow_for_the_service_account",
            &doc(vec![
                ebs(),
                json!({"Sid": "Service account", "Effect": "Allow",
                       "Principal": {"AWS": format!("arn:aws:iam::{SERVICE}:root")},
                       "NotAction": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"], "Resource": "*"}),
            ]),
            &[],
            USABLE,
        ),
        // NotAction that excludes what backups need.
        Case::new(
            "not_action_allow_excluding_decrypt",
            &doc(vec![
                ebs(),
                json!({"Sid": S3_SID, "Effect": "Allow",
                       "Principal": {"AWS": format!("arn:aws:iam::{SERVICE}:root")},
                       "NotAction": "kms:Decrypt", "Resource": "*"}),
            ]),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::S3Backup), Some(strs(&["kms:Decrypt"])))),
        Case::new(
            "if_exists_on_absent_key",
            &doc(vec![
                ebs(),
                with(s3(), "Condition", cond("StringEqualsIfExists", "aws:SourceVpc", json!("vpc-1a2b3c4d"))),
            ]),
            &[],
            USABLE,
        ),
        Case::new(
            "condition_on_absent_key_without_if_exists",
            &doc(vec![ebs(), with(s3(), "Condition", json!({"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}))]),
            &["condition_not_met", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert!(d.findings.contains(&Finding::ConditionNotMet {
                statement: at(1, S3_SID),
                operator: "StringEquals".into(),
                key: "aws:SourceVpc".into(),
                values: strs(&["vpc-1a2b3c4d"]),
            }));
        }),
        // Null false: "the key must be present": backups come through S3, so ViaService is.
        Case::new(
            "null_false_on_present_key",
            &doc(vec![ebs(), with(s3(), "Condition", json!({"Null": {"kms:ViaService": "false"}}))]),
            &[],
            USABLE,
        ),
        Case::new(
            "null_true_on_present_key",
            &doc(vec![ebs(), with(s3(), "Condition", json!({"Null": {"kms:ViaService": "true"}}))]),
            &["condition_not_met", "missing_actions"],
            DENIED,
        ),
        Case::new(
            "null_true_on_absent_key",
            &doc(vec![ebs(), with(s3(), "Condition", json!({"Null": {"aws:SourceVpc": "true"}}))]),
            &[],
            USABLE,
        ),
        // --- the owner's own statements are no near miss
        Case::new(
            "owner_statements_without_s3",
            &doc([owner_statements(), vec![ebs()]].concat()),
            &["missing_actions"],
            DENIED,
        )
        .check(|d| assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)))),
        Case::new("owner_statements_only", &doc(owner_statements()), &["missing_actions", "missing_actions"], DENIED)
            .check(|d| {
                assert_eq!(missing(d, Grant::Ebs), Some(strs(&EBS_ALL)));
                assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)));
            }),
        // --- the key's state
        Case::new("key_disabled", &doc(vec![ebs(), s3()]), &["key_not_enabled"], (false, KeyHealthState::KeyDisabled))
            .state(KeyState::Disabled),
        Case::new(
            "key_pending_deletion",
            &doc(vec![ebs(), s3()]),
            &["key_not_enabled"],
            (false, KeyHealthState::PendingDeletion),
        )
        .state(KeyState::PendingDeletion),
        Case::new(
            "key_pending_deletion_and_no_s3",
            &doc(vec![ebs()]),
            &["key_not_enabled", "missing_actions"],
            (false, KeyHealthState::PendingDeletion),
        )
        .state(KeyState::PendingDeletion),
        // --- the service account
        Case::text(
            "account_unknown",
            policy::template_text(None, &PolicyRegion::Region(REGION.into())),
            &["account_unknown"],
            DENIED,
        )
        .account(None),
        Case::new("account_empty", &doc(vec![ebs(), s3()]), &["account_unknown"], DENIED).account(Some("")),
        // --- not a policy
        Case::text("guide_text_with_comments", GUIDE_APPENDIX.to_owned(), &["not_json"], DENIED).check(|d| {
            let first_comment = GUIDE_APPENDIX.lines().position(|l| l.trim_start().starts_with("//")).unwrap() + 1;
            assert_eq!(first_comment, 5);
            match &d.findings[0] {
                Finding::NotJson { line, column, hint, .. } => {
                    assert_eq!(*line, first_comment);
                    assert_eq!(*column, 9, "the column of the first /");
                    let hint = hint.as_deref().expect("a hint");
                    assert!(hint.contains("comments"), "{hint}");
                }
                other => panic!("{other:?}"),
            }
            assert!(d.messages()[0].contains("line 5"), "{}", d.messages()[0]);
        }),
        // The guide's text cleaned up, but the placeholders not filled in.
        Case::text(
            "guide_placeholders_not_filled_in",
            guide_without_comments(),
            &["wrong_caller_account", "wrong_via_service", "wrong_principal", "missing_actions", "missing_actions"],
            DENIED,
        )
        .check(|d| {
            assert_eq!(missing(d, Grant::Ebs), Some(strs(&EBS_ALL)));
            assert_eq!(missing(d, Grant::S3Backup), Some(strs(&S3_ALL)));
        }),
        Case::text("empty_string", String::new(), &["not_json"], DENIED).check(|d| match &d.findings[0] {
            Finding::NotJson { line, hint, .. } => {
                assert_eq!(*line, 1);
                assert!(hint.as_deref().unwrap_or_default().contains("paste"), "{hint:?}");
            }
            other => panic!("{other:?}"),
        }),
        Case::text("json_array", "[]".into(), &["not_a_policy"], DENIED),
        Case::text(
            "trailing_comma",
            text(&doc(vec![guide_ebs(), guide_s3()])).replacen("\"Resource\": \"*\"\n", "\"Resource\": \"*\",\n", 1),
            &["not_json"],
            DENIED,
        ),
        Case::new(
            "version_wrong",
            &json!({"Version": "2012-10-18", "Statement": [guide_ebs(), guide_s3()]}),
            &["not_a_policy"],
            DENIED,
        )
        .check(|d| assert!(d.messages()[0].contains("2012-10-18"), "{:?}", d.messages())),
        Case::new("statement_missing", &json!({"Version": "2012-10-17"}), &["not_a_policy"], DENIED),
        Case::new("statement_empty", &json!({"Version": "2012-10-17", "Statement": []}), &["not_a_policy"], DENIED),
        Case::new(
            "statement_a_string",
            &json!({"Version": "2012-10-17", "Statement": "Allow everything"}),
            &["not_a_policy"],
            DENIED,
        ),
        Case::text(
            "not_json_disabled_key",
            "{".into(),
            &["key_not_enabled", "not_json"],
            (false, KeyHealthState::KeyDisabled),
        )
        .state(KeyState::Disabled),
    ]
}

fn run(name: &str) {
    let cases = cases();
    let case = cases.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"));
    case.run();
}

macro_rules! table_tests {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run(stringify!($name)); } )*

        #[test]
        fn every_case_has_a_test_and_there_are_enough() {
            let tested = [$(stringify!($name)),*];
            let cases = cases();
            let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(names.len(), before, "case names are unique");
            let mut tested_sorted = tested.to_vec();
            tested_sorted.sort_unstable();
            assert_eq!(tested_sorted, names);
            let mut policies: Vec<&str> = cases.iter().map(|c| c.policy.as_str()).collect();
            policies.sort_unstable();
            policies.dedup();
            assert!(policies.len() >= 30, "{} distinct policies", policies.len());
        }
    };
}

table_tests!(
    appendix_for_the_region,
    appendix_for_any_region,
    appendix_with_owner_statements,
    ebs_without_encrypt,
    ebs_without_decrypt,
    ebs_and_s3_without_decrypt,
    ebs_without_reencrypt,
    ebs_with_reencrypt_without_star,
    ebs_without_generate_data_key_star,
    ebs_without_create_grant,
    ebs_without_describe_key,
    ebs_statement_missing,
    s3_without_decrypt,
    s3_without_generate_data_key,
    s3_statement_missing,
    wrong_caller_account,
    wrong_region_in_via_service,
    star_region_under_string_equals,
    star_region_under_string_like_with_both_keys,
    via_service_list_with_the_region,
    condition_keys_in_other_case,
    deny_encrypt,
    deny_kms_star,
    deny_other_caller_accounts,
    deny_through_another_service,
    deny_unless_through_ec2,
    deny_everyone_but_the_owner,
    deny_with_not_action,
    deny_with_unknown_operator,
    deny_with_if_exists_on_absent_key,
    actions_kms_star,
    actions_star,
    actions_spelled_out,
    actions_in_other_case,
    principal_string_star,
    principal_aws_list,
    principal_bare_account,
    ebs_principal_service_account_root,
    principal_the_backup_role,
    principal_another_role,
    principal_another_account,
    principal_a_service,
    principal_bare_arn_string,
    single_statement_object,
    version_2008,
    no_version,
    resource_is_the_key_arn,
    resource_is_another_key,
    statement_without_principal,
    effect_lowercase_allow,
    unknown_operator_in_allow,
    not_action_allow_for_the_service_account,
    not_action_allow_excluding_decrypt,
    if_exists_on_absent_key,
    condition_on_absent_key_without_if_exists,
    null_false_on_present_key,
    null_true_on_present_key,
    null_true_on_absent_key,
    owner_statements_without_s3,
    owner_statements_only,
    key_disabled,
    key_pending_deletion,
    key_pending_deletion_and_no_s3,
    account_unknown,
    account_empty,
    guide_text_with_comments,
    guide_placeholders_not_filled_in,
    empty_string,
    json_array,
    trailing_comma,
    version_wrong,
    statement_missing,
    statement_empty,
    statement_a_string,
    not_json_disabled_key,
);

// ------------------------------------------------------------------------------ the template

#[test]
fn template_is_the_guide_appendix_filled_in() {
    let filled = guide_without_comments().replace("<pingcap-account>", SERVICE).replace("<region>", REGION);
    let from_guide: Value = serde_json::from_str(&filled).unwrap();
    assert_eq!(policy::template(Some(SERVICE), &PolicyRegion::Region(REGION.into())), from_guide);
    assert_eq!(from_guide, doc(vec![guide_ebs(), guide_s3()]));
    // Unknown account: the guide's own placeholder.
    let unfilled = guide_without_comments().replace("<region>", REGION);
    assert_eq!(
        policy::template(None, &PolicyRegion::Region(REGION.into())),
        serde_json::from_str::<Value>(&unfilled).unwrap()
    );
}

#[test]
fn template_for_any_region_puts_the_wildcard_under_string_like() {
    let t = policy::template(Some(SERVICE), &PolicyRegion::Any);
    assert_eq!(t, doc(vec![guide_ebs_any(), guide_s3()]));
    // And it is usable whatever region the cluster is in.
    for region in ["us-west-2", "eu-central-1", "ap-southeast-1"] {
        let d = policy::decide(&policy::pretty(&t), AccessQuery { region, ..q() });
        assert!(d.is_usable() && d.findings.is_empty(), "{region}: {:?}", d.findings);
    }
    // While the one for us-west-2 is not usable in eu-central-1.
    let w2 = policy::template_text(Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    let d = policy::decide(&w2, AccessQuery { region: "eu-central-1", ..q() });
    assert_eq!(kinds(&d), vec!["missing_actions", "wrong_via_service"]);
}

#[test]
fn default_key_policy_is_usable_and_keeps_the_owner_first() {
    let p = policy::default_key_policy(OWNER, Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    let statements = p["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(statements[0]["Principal"]["AWS"], json!(format!("arn:aws:iam::{OWNER}:root")));
    let d = decide(&policy::pretty(&p));
    assert!(d.is_usable() && d.findings.is_empty(), "{:?}", d.findings);
}

// ------------------------------------------------------------------------------ merge

fn merge(policy: &str) -> String {
    policy::merge(policy, q(), &PolicyRegion::Region(REGION.into())).expect("merge")
}

#[test]
fn merge_adds_exactly_the_missing_s3_statement_and_keeps_the_rest_in_order() {
    // The customer's own key order, at the root and inside statements.
    let input = r#"{
  "Id": "key-consolepolicy-3",
  "Statement": [
    {
      "Resource": "*",
      "Action": "kms:*",
      "Principal": { "AWS": "arn:aws:iam::111122223333:root" },
      "Effect": "Allow",
      "Sid": "Enable IAM User Permissions"
    },
    {
      "Sid": "Allow access through EBS for all principals in the account that are authorized to use EBS",
      "Effect": "Allow",
      "Principal": { "AWS": "*" },
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": { "StringEquals": { "kms:ViaService": "ec2.us-west-2.amazonaws.com", "kms:CallerAccount": "444455556666" } }
    }
  ],
  "Version": "2012-10-17"
}"#;
    assert_eq!(kinds(&decide(input)), vec!["missing_actions"]);
    let merged = merge(input);
    let before: Value = serde_json::from_str(input).unwrap();
    let after: Value = serde_json::from_str(&merged).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&after), vec!["Id", "Statement", "Version"]);
    assert_eq!(after["Id"], before["Id"]);
    let (b, a) = (before["Statement"].as_array().unwrap(), after["Statement"].as_array().unwrap());
    assert_eq!(a.len(), 3, "{merged}");
    for i in 0..2 {
        // Same value and same key order.
        assert_eq!(serde_json::to_string(&a[i]).unwrap(), serde_json::to_string(&b[i]).unwrap());
    }
    assert_eq!(a[2], guide_s3());
    let d = decide(&merged);
    assert!(d.is_usable() && d.findings.is_empty(), "{:?}", d.findings);
}

#[test]
fn merge_replaces_the_guide_statement_written_for_another_region_in_place() {
    let wrong = with(
        guide_ebs(),
        "Condition",
        json!({"StringEquals": {"kms:CallerAccount": SERVICE, "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}),
    );
    let owner = owner_statements().remove(0);
    let input = text(&doc(vec![owner.clone(), wrong, guide_s3()]));
    let merged: Value = serde_json::from_str(&merge(&input)).unwrap();
    assert_eq!(merged["Statement"], json!([owner, guide_ebs(), guide_s3()]));
    assert!(decide(&policy::pretty(&merged)).is_usable());

    // Asked for any region, the replacement is the StringLike form.
    let any = policy::merge(&input, q(), &PolicyRegion::Any).unwrap();
    let any: Value = serde_json::from_str(&any).unwrap();
    assert_eq!(any["Statement"][1], guide_ebs_any());
}

#[test]
fn merge_leaves_a_usable_policy_as_it_is() {
    let p = text(&doc([owner_statements(), vec![guide_ebs(), guide_s3()]].concat()));
    let merged = merge(&p);
    assert_eq!(serde_json::from_str::<Value>(&merged).unwrap(), serde_json::from_str::<Value>(&p).unwrap());
}

#[test]
fn merge_refuses_what_is_not_a_json_object() {
    for bad in ["", "[]", "\"policy\"", "{", GUIDE_APPENDIX] {
        let e = policy::merge(bad, q(), &PolicyRegion::Region(REGION.into())).unwrap_err();
        assert!(matches!(e.kind(), "not_json" | "not_a_policy"), "{bad:?}: {e:?}");
    }
}

/// Merging the statements in fixes every table policy that has no Deny and is a policy at all.
#[test]
fn merged_table_policies_without_deny_are_usable() {
    let mut failures = Vec::new();
    let mut merged_count = 0;
    for case in cases() {
        if case.has_deny {
            continue;
        }
        let is_object = matches!(serde_json::from_str::<Value>(&case.policy), Ok(Value::Object(_)));
        let result = policy::merge(&case.policy, q(), &PolicyRegion::Region(REGION.into()));
        if !is_object {
            assert!(result.is_err(), "{}: merge of a non-object", case.name);
            continue;
        }
        // Not-a-policy documents (wrong Version, no or empty Statement) have their own tests below.
        if case.kinds.contains(&"not_a_policy") {
            continue;
        }
        let merged = result.unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
        merged_count += 1;
        let d = decide(&merged);
        if !d.is_usable() {
            failures.push(format!("{}: {:?}", case.name, d.findings));
        }
        // Merging twice changes nothing more.
        assert_eq!(merge(&merged), merged, "{}: merge is not idempotent", case.name);
    }
    assert!(merged_count >= 30, "{merged_count}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A document that is an object but has no statements yet (or an empty list) gets both
/// statements: the console offers "add the statements" for exactly this case.
#[test]
fn merge_into_a_policy_without_statements_adds_both() {
    for input in [r#"{"Version": "2012-10-17", "Statement": []}"#, r#"{"Version": "2012-10-17"}"#, "{}"] {
        let merged = merge(input);
        let d = decide(&merged);
        assert!(d.is_usable(), "merge({input}) =\n{merged}\nfindings: {:?}", d.findings);
    }
}

/// Revoking (removing the guide's statements) and merging them back restores access, also for
/// a policy that held only the guide's statements.
#[test]
fn revoke_then_merge_restores_the_appendix_policy() {
    let appendix = policy::template_text(Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    let revoked = policy::without_service_statements(&appendix).unwrap();
    assert!(!decide(&revoked).is_usable());
    let restored = merge(&revoked);
    let d = decide(&restored);
    assert!(d.is_usable(), "restored:\n{restored}\nfindings: {:?}", d.findings);
}

/// A policy with a Version AWS rejects stays unusable after merge, yet merge says Ok: it should
/// either put the Version right or refuse.
#[test]
fn merge_with_a_wrong_version_does_not_claim_success_on_a_rejected_document() {
    let input = text(&json!({"Version": "2012-10-18", "Statement": [owner_statements().remove(0)]}));
    match policy::merge(&input, q(), &PolicyRegion::Region(REGION.into())) {
        Err(f) => assert_eq!(f.kind(), "not_a_policy"),
        Ok(merged) => {
            let d = decide(&merged);
            assert!(d.is_usable(), "merge returned Ok but the result is still refused:\n{merged}\n{:?}", d.findings);
        }
    }
}

#[test]
fn merge_with_unknown_account_writes_the_placeholder() {
    let merged = policy::merge(
        &text(&doc(owner_statements())),
        query(KeyState::Enabled, None),
        &PolicyRegion::Region(REGION.into()),
    )
    .unwrap();
    assert!(merged.contains(policy::ACCOUNT_PLACEHOLDER));
    let v: Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(v["Statement"].as_array().unwrap().len(), 6);
}

#[test]
fn merge_does_not_remove_a_blocking_deny() {
    let p = text(&doc(vec![guide_ebs(), guide_s3(), deny(json!("*"), json!("kms:*"), None)]));
    let merged = merge(&p);
    let d = decide(&merged);
    assert_eq!(kinds(&d), vec!["deny_blocks", "deny_blocks"]);
    assert_eq!(serde_json::from_str::<Value>(&merged).unwrap(), serde_json::from_str::<Value>(&p).unwrap());
}

// ------------------------------------------------------------------------------ revoke

#[test]
fn without_service_statements_then_decide_misses_both_grants() {
    let p = policy::default_key_policy(OWNER, Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    let revoked = policy::without_service_statements(&policy::pretty(&p)).unwrap();
    let v: Value = serde_json::from_str(&revoked).unwrap();
    assert_eq!(v["Statement"].as_array().unwrap().len(), 1, "only the owner's statement is left");
    assert_eq!(v["Statement"][0]["Sid"], json!("Enable IAM User Permissions"));
    let d = decide(&revoked);
    // Exactly the two MissingActions: the owner's admin statement is no near miss.
    assert_eq!(kinds(&d), vec!["missing_actions", "missing_actions"], "{:?}", d.findings);
    assert_eq!(missing(&d, Grant::Ebs), Some(strs(&EBS_ALL)));
    assert_eq!(missing(&d, Grant::S3Backup), Some(strs(&S3_ALL)));
    assert_eq!(d.health_state(), KeyHealthState::AccessDenied);
}

#[test]
fn without_service_statements_keeps_other_statements_and_refuses_non_objects() {
    let p = text(&doc([owner_statements(), vec![guide_ebs(), guide_s3()]].concat()));
    let revoked: Value = serde_json::from_str(&policy::without_service_statements(&p).unwrap()).unwrap();
    assert_eq!(revoked["Statement"], json!(owner_statements()));
    assert_eq!(policy::without_service_statements("[1]").unwrap_err().kind(), "not_a_policy");
    assert_eq!(policy::without_service_statements("nope").unwrap_err().kind(), "not_json");
}

/// `Statement` may be a single object (the table shows decide() accepts it); revoking must
/// remove the guide's statement there too.
#[test]
fn without_service_statements_removes_a_single_statement_object() {
    let p = text(&json!({"Version": "2012-10-17", "Statement": guide_s3()}));
    let revoked = policy::without_service_statements(&p).unwrap();
    assert!(!revoked.contains(S3_SID), "the S3 statement is still there after revoke:\n{revoked}");
    assert!(!decide(&revoked).is_usable(), "still usable after revoke:\n{revoked}");
}

// ------------------------------------------------------------------------------ validate_document

#[test]
fn validate_accepts_the_templates() {
    for region in [PolicyRegion::Region(REGION.into()), PolicyRegion::Any] {
        assert_eq!(policy::validate_document(&policy::template_text(Some(SERVICE), &region)), Vec::<String>::new());
        assert_eq!(policy::validate_document(&policy::template_text(None, &region)), Vec::<String>::new());
        let d = policy::default_key_policy(OWNER, Some(SERVICE), &region);
        assert_eq!(policy::validate_document(&policy::pretty(&d)), Vec::<String>::new());
    }
    // A Deny or a policy that does not grant the service is still a valid document.
    let p = text(&doc(vec![deny(json!("*"), json!("kms:*"), None)]));
    assert_eq!(policy::validate_document(&p), Vec::<String>::new());
}

#[test]
fn validate_names_each_problem() {
    let one = |p: &str| {
        let m = policy::validate_document(p);
        assert_eq!(m.len(), 1, "{p}: {m:?}");
        m.into_iter().next().unwrap()
    };
    let m = one(GUIDE_APPENDIX);
    assert!(m.contains("line 5") && m.contains("comments"), "{m}");
    assert!(one("[]").contains("not a JSON object"));
    assert!(one(&text(&json!({"Version": "2012-10-18", "Statement": [guide_s3()]}))).contains("2012-10-18"));
    assert!(one(&text(&json!({"Version": "2012-10-17"}))).contains("Statement"));
    let m = one(&text(&doc(vec![guide_ebs(), json!({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})])));
    assert!(m.contains("statement #2") && m.contains("Principal"), "{m}");
    let m = one(&text(&doc(vec![with(guide_s3(), "Effect", json!("allow"))])));
    assert!(m.contains(S3_SID) && m.contains("\"allow\""), "{m}");
    let m =
        one(&text(&doc(vec![with(guide_s3(), "Condition", json!({"StringEqual": {"kms:CallerAccount": SERVICE}}))])));
    assert!(m.contains("StringEqual"), "{m}");
    // Two problems, two messages.
    let m = policy::validate_document(&text(&doc(vec![
        json!({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": "*", "Resource": "*"}),
    ])));
    assert_eq!(m.len(), 2, "{m:?}");
}

#[test]
fn validate_enforces_the_32_kib_limit() {
    assert_eq!(MAX_POLICY_BYTES, 32768);
    let base = policy::template_text(Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    let padded = |n: usize| format!("{base}{}", " ".repeat(n - base.len()));
    assert_eq!(policy::validate_document(&padded(32768)), Vec::<String>::new());
    let m = policy::validate_document(&padded(32769));
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("32769") && m[0].contains("32768"), "{m:?}");
    // Over the limit, the size is the one problem named even if the JSON is broken too.
    let m = policy::validate_document(&format!("{{{}", " ".repeat(40_000)));
    assert_eq!(m.len(), 1);
    assert!(m[0].contains("40001"), "{m:?}");
}

// ------------------------------------------------------------------------------ more AWS semantics

/// AWS: ArnEquals behaves like ArnLike: each ARN component may hold `*`/`?` wildcards. A
/// condition `ArnEquals aws:PrincipalArn arn:aws:iam::<service>:role/*` matches the backup role.
#[test]
fn arn_equals_accepts_wildcards_like_arn_like() {
    let arn_like = with(
        guide_s3(),
        "Condition",
        json!({"ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{SERVICE}:role/*")}}),
    );
    let d = decide(&text(&doc(vec![guide_ebs(), arn_like])));
    assert!(d.is_usable(), "{:?}", d.findings);
    let arn_equals = with(
        guide_s3(),
        "Condition",
        json!({"ArnEquals": {"aws:PrincipalArn": format!("arn:aws:iam::{SERVICE}:role/*")}}),
    );
    let d = decide(&text(&doc(vec![guide_ebs(), arn_equals])));
    assert!(d.is_usable(), "ArnEquals with a wildcard matches in AWS; findings: {:?}", d.findings);
}

/// AWS: a `ForAnyValue:` condition on a key the request does not carry is false, negated
/// operator or not. A Deny "ForAnyValue:StringNotEquals aws:TagKeys" therefore does not apply
/// to Encrypt/Decrypt calls, which carry no tag keys.
#[test]
fn for_any_value_on_an_absent_key_is_false_even_when_negated() {
    let guard = deny(
        json!("*"),
        json!("kms:*"),
        Some(json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Owner", "Project"]}})),
    );
    let d = decide(&text(&doc(vec![guide_ebs(), guide_s3(), guard])));
    assert!(d.is_usable() && d.findings.is_empty(), "{:?}", d.findings);
}

/// AWS: kms:GrantIsForAWSResource is only in the request context of CreateGrant, ListGrants
/// and RevokeGrant. A statement that puts every EBS action under `Bool
/// kms:GrantIsForAWSResource true` gives CreateGrant only; Encrypt, DescribeKey, … are refused.
#[test]
fn grant_is_for_aws_resource_only_holds_for_grant_operations() {
    let mut ebs = guide_ebs();
    ebs["Condition"]["Bool"] = json!({"kms:GrantIsForAWSResource": "true"});
    let d = decide(&text(&doc(vec![ebs, guide_s3()])));
    assert!(!d.is_usable(), "AWS refuses Encrypt under this condition; findings: {:?}", d.findings);
    let m = missing(&d, Grant::Ebs).unwrap_or_default();
    assert!(m.contains(&"kms:Encrypt".to_owned()) && !m.contains(&"kms:CreateGrant".to_owned()), "{m:?}");
}

/// AWS: a principal ARN cannot hold a wildcard ("arn:aws:iam::…:role/*" is not a pattern; a
/// policy with it is refused or matches no one). It does not let the backup role in.
#[test]
fn principal_arn_with_a_wildcard_matches_no_one() {
    let s3 = with(guide_s3(), "Principal", json!({"AWS": format!("arn:aws:iam::{SERVICE}:role/*")}));
    let d = decide(&text(&doc(vec![guide_ebs(), s3])));
    assert!(!d.is_usable(), "a wildcard principal ARN grants nothing in AWS; findings: {:?}", d.findings);
}

/// A statement of the owner's that is limited to the owner's account by `kms:CallerAccount`
/// (the shape of AWS-managed key policies) is the owner's own, like a statement naming the
/// owner's principals: it is no near miss of the service's grant.
#[test]
fn owner_statement_limited_by_caller_account_is_no_near_miss() {
    let own = json!({
        "Sid": "Allow use of the key by principals of the account",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": OWNER}}
    });
    let d = decide(&text(&doc(vec![owner_statements().remove(0), own, guide_ebs()])));
    assert_eq!(kinds(&d), vec!["missing_actions"], "{:#?}", d.findings);
}

/// The guide's text with the comment lines removed still has `... // user's own admin access`:
/// the parser stops at the `...`, so the hint must be about the placeholder (removing the
/// comment alone leaves invalid JSON).
#[test]
fn hint_for_the_ellipsis_line_names_the_placeholder() {
    let without_comment_lines: String =
        GUIDE_APPENDIX.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    let d = decide(&without_comment_lines);
    let Finding::NotJson { line, hint, .. } = &d.findings[0] else { panic!("{:?}", d.findings) };
    let src = without_comment_lines.lines().nth(line - 1).unwrap();
    assert!(src.trim_start().starts_with("..."), "line {line}: {src}");
    let hint = hint.as_deref().unwrap_or_default();
    assert!(hint.contains("..."), "the error is at \"...\" but the hint is: {hint}");
}

#[test]
fn findings_name_the_statement_by_sid_or_position() {
    let d = decide(&text(&doc(vec![
        with(
            guide_ebs(),
            "Condition",
            json!({"StringEquals": {
                "kms:CallerAccount": "999988887777",
                "kms:ViaService": format!("ec2.{REGION}.amazonaws.com")
            }}),
        ),
        guide_s3(),
    ])));
    let m = d.messages().join("\n");
    assert!(m.contains(EBS_SID) && m.contains("999988887777") && m.contains(SERVICE), "{m}");
    // Blocking findings come first in messages().
    assert!(d.messages()[0].contains("no statement allows"), "{:?}", d.messages());
    let d = decide(&text(&doc(vec![
        guide_ebs(),
        guide_s3(),
        json!({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
    ])));
    assert!(d.messages()[0].contains("statement #3"), "{:?}", d.messages());
}

#[test]
fn every_non_enabled_key_state_is_refused() {
    let p = policy::template_text(Some(SERVICE), &PolicyRegion::Region(REGION.into()));
    for (state, health) in [
        (KeyState::Disabled, KeyHealthState::KeyDisabled),
        (KeyState::PendingDeletion, KeyHealthState::PendingDeletion),
        (KeyState::PendingReplicaDeletion, KeyHealthState::PendingDeletion),
        (KeyState::PendingImport, KeyHealthState::KeyDisabled),
        (KeyState::Unavailable, KeyHealthState::KeyDisabled),
        (KeyState::Creating, KeyHealthState::KeyDisabled),
        (KeyState::Updating, KeyHealthState::KeyDisabled),
    ] {
        let d = policy::decide(&p, query(state, Some(SERVICE)));
        assert_eq!(d.findings, vec![Finding::KeyNotEnabled { state }]);
        assert!(!d.is_usable());
        assert_eq!(d.health_state(), health, "{state:?}");
        assert!(d.messages()[0].contains(state.as_str()));
    }
}

#[test]
fn glob_matches_like_aws() {
    assert!(policy::glob("kms:ReEncrypt*", "kms:ReEncryptFrom", true));
    assert!(policy::glob("KMS:reencrypt*", "kms:ReEncryptTo", true));
    assert!(!policy::glob("KMS:reencrypt*", "kms:ReEncryptTo", false));
    assert!(policy::glob("ec2.*.amazonaws.com", "ec2.us-west-2.amazonaws.com", false));
    assert!(!policy::glob("ec2.*.amazonaws.com", "s3.us-west-2.amazonaws.com", false));
    assert!(policy::glob("kms:GenerateDataKey*", "kms:GenerateDataKey", true));
    assert!(policy::glob("kms:Describe?ey", "kms:DescribeKey", true));
    assert!(!policy::glob("kms:Describe?ey", "kms:DescribeKKey", true));
    assert!(policy::glob("*", "", false));
    assert!(policy::glob("", "", false));
    assert!(!policy::glob("", "a", false));
    assert!(policy::glob("a*b*c", "aXXbYYbc", false));
    assert!(!policy::glob("a*b*c", "aXXbYYbcd", false));
    assert!(policy::glob("**", "abc", false));
}

/// WrongCallerAccount means "the condition names another account". A negated condition that
/// names the service's own account is not that: the message would read "kms:CallerAccount is
/// \"444455556666\" but the service's account is \"444455556666\"".
#[test]
fn negated_condition_on_caller_account_is_not_reported_as_a_wrong_value() {
    let s3 = with(guide_s3(), "Condition", json!({"StringNotEquals": {"kms:CallerAccount": SERVICE}}));
    let d = decide(&text(&doc(vec![guide_ebs(), s3])));
    assert!(!d.is_usable());
    assert_eq!(kinds(&d), vec!["condition_not_met", "missing_actions"], "{:?}", d.messages());
}

/// A statement with the guide's EBS Sid that the customer widened (the service account's root,
/// no ViaService condition) also gives the S3 backups what they need. When it lacks an EBS
/// action, merge swaps it for the guide's EBS statement, and the backups lose Decrypt and
/// GenerateDataKey: merge must not leave a policy less usable than it found it.
#[test]
fn merge_keeps_the_access_a_replaced_statement_gave_the_other_grant() {
    let widened = json!({
        "Sid": EBS_SID,
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{SERVICE}:root")},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*"
    });
    let p = text(&doc(vec![owner_statements().remove(0), widened]));
    let d = decide(&p);
    // Before: only CreateGrant is missing, for EBS; the backups are fine.
    assert_eq!(kinds(&d), vec!["missing_actions"]);
    assert_eq!(missing(&d, Grant::Ebs), Some(strs(&["kms:CreateGrant"])));
    let merged = merge(&p);
    let after = decide(&merged);
    assert!(after.is_usable(), "merged:\n{merged}\nfindings: {:?}", after.findings);
}

#[test]
fn missing_actions_are_said_in_the_policys_own_names() {
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        policy::in_policy_terms(Grant::Ebs, &s(&["kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKeyPair"])),
        s(&["kms:ReEncrypt*", "kms:GenerateDataKey*"])
    );
    assert_eq!(policy::in_policy_terms(Grant::S3Backup, &s(&["kms:Decrypt"])), s(&["kms:Decrypt"]));
    let f =
        policy::Finding::MissingActions { grant: Grant::Ebs, actions: s(&["kms:ReEncryptFrom", "kms:ReEncryptTo"]) };
    let text = f.to_string();
    assert!(text.contains("allows kms:ReEncrypt* for the service") && !text.contains("ReEncryptFrom"), "{text}");
}
