//! Property tests: no parser or rule panics on any input, and the rules keep their promises
//! (round trips, monotonicity of the access decision, the lifecycle's transitions).

#![cfg(not(target_arch = "wasm32"))] // proptest is native-only

use cmek_core::api::{
    CloudProvider, ClusterStatus, ClusterType, Components, CreateClusterConfig, CreateClusterReq, IpAccessListItem,
    ListProviderRegionsResp, ProviderRegion, QuantityRange, StorageComponent, StorageProfile, StorageRange,
    TidbComponent, TidbProfile,
};
use cmek_core::arn::KmsKeyArn;
use cmek_core::cluster::{check_cidr, check_create, check_name, check_port, check_root_password, ram_bytes, vcpus};
use cmek_core::cmek::{check_project_name, check_spec};
use cmek_core::error::{ErrorCode, FieldError};
use cmek_core::kms::{KeyHealthState, KeyState};
use cmek_core::lifecycle::{Action, Durations, Lifecycle};
use cmek_core::page::{MAX_PAGE_SIZE, Page};
use cmek_core::policy::{self, AccessDecision, AccessQuery, EBS_SID, Finding, MAX_POLICY_BYTES, PolicyRegion, S3_SID};
use cmek_core::region::{Partition, is_aws_region_code};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

const SERVICE: &str = "444455556666";
const OWNER: &str = "111122223333";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const REGION: &str = "us-west-2";

/// Moderate case counts, and no regression files written next to the tests.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn q() -> AccessQuery<'static> {
    AccessQuery { key_state: KeyState::Enabled, key_arn: KEY_ARN, service_account: Some(SERVICE), region: REGION }
}

fn kinds(d: &AccessDecision) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = d.findings.iter().map(Finding::kind).collect();
    k.sort_unstable();
    k
}

const STRUCTURAL: [&str; 4] = ["not_json", "not_a_policy", "invalid_statement", "unsupported_operator"];

/// What every decision must satisfy, whatever the input.
fn check_decision(d: &AccessDecision) -> Result<(), TestCaseError> {
    let blocking = d.findings.iter().any(Finding::is_blocking);
    prop_assert_eq!(d.is_usable(), !blocking);
    let not_enabled = d.findings.iter().any(|f| matches!(f, Finding::KeyNotEnabled { .. }));
    let h = d.health_state();
    if not_enabled {
        prop_assert!(matches!(h, KeyHealthState::KeyDisabled | KeyHealthState::PendingDeletion));
    } else if blocking {
        prop_assert_eq!(h, KeyHealthState::AccessDenied);
    } else {
        prop_assert_eq!(h, KeyHealthState::Accessible);
    }
    let messages = d.messages();
    prop_assert_eq!(messages.len(), d.findings.len());
    for m in &messages {
        prop_assert!(!m.trim().is_empty());
    }
    // No finding twice.
    for (i, f) in d.findings.iter().enumerate() {
        prop_assert!(!d.findings[..i].contains(f), "duplicate finding {:?}", f);
    }
    Ok(())
}

/// Runs every policy entry point on `text`; returns the decision for the default query.
fn run_all(text: &str) -> Result<AccessDecision, TestCaseError> {
    let d = policy::decide(text, q());
    check_decision(&d)?;
    let v = policy::validate_document(text);
    if text.len() <= MAX_POLICY_BYTES {
        let structural = d.findings.iter().any(|f| STRUCTURAL.contains(&f.kind()));
        prop_assert_eq!(v.is_empty(), !structural, "validate {:?} vs decide {:?}", v, d.findings);
    } else {
        prop_assert_eq!(v.len(), 1);
    }
    let is_object = matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_)));
    for region in [PolicyRegion::Region(REGION.into()), PolicyRegion::Any] {
        let m = policy::merge(text, q(), &region);
        prop_assert_eq!(m.is_ok(), is_object);
        if let Ok(m) = m {
            prop_assert!(matches!(serde_json::from_str::<Value>(&m), Ok(Value::Object(_))));
        }
    }
    let w = policy::without_service_statements(text);
    prop_assert_eq!(w.is_ok(), is_object);
    if let Ok(w) = w {
        let v: Value = serde_json::from_str(&w).unwrap();
        if let Some(Value::Array(list)) = v.get("Statement") {
            for st in list {
                let sid = st.get("Sid").and_then(Value::as_str);
                prop_assert!(sid != Some(EBS_SID) && sid != Some(S3_SID), "a guide statement is left:\n{}", w);
            }
        }
    }
    // Unknown service account and another key state never panic either.
    let unknown = policy::decide(text, AccessQuery { service_account: None, ..q() });
    check_decision(&unknown)?;
    Ok(d)
}

// ------------------------------------------------------------------------------ JSON strategies

const WORDS: &[&str] = &[
    "Version",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "AWS",
    "Service",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "StringEquals",
    "StringLike",
    "Null",
    "Allow",
    "Deny",
    "*",
    "2012-10-17",
    "kms:*",
    "kms:Encrypt",
    "kms:CallerAccount",
    "kms:ViaService",
    SERVICE,
    "arn:aws:iam::444455556666:root",
    "ec2.us-west-2.amazonaws.com",
    EBS_SID,
    S3_SID,
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(WORDS).prop_map(str::to_owned), 1 => "\\PC{0,10}", 1 => ".{0,4}"]
}

/// Any JSON value, with policy words over-represented so objects look like policies sometimes.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

const ACCOUNTS: &[&str] = &[SERVICE, OWNER, "999988887777", "<pingcap-account>", ""];
const ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKey*",
    "kms:GenerateDataKeyPair",
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:*",
    "*",
    "KMS:DECRYPT",
    "kms:ScheduleKeyDeletion",
    "s3:GetObject",
    "kms:Describe?ey",
    "",
];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringEqualsIfExists",
    "StringNotEqualsIfExists",
    "ArnEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "BoolIfExists",
    "Null",
    "NullIfExists",
    "ForAllValues:StringEquals",
    "ForAnyValue:StringLike",
    "ForAnyValue:StringNotEquals",
    "DateLessThan",
    "NumericEquals",
    "stringequals",
    "",
];
const CONTEXT_KEYS: &[&str] = &[
    "kms:CallerAccount",
    "kms:ViaService",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "kms:GrantIsForAWSResource",
    "aws:SecureTransport",
    "aws:SourceVpc",
    "KMS:callerAccount",
    "aws:TagKeys",
];
const CONDITION_VALUES: &[&str] = &[
    SERVICE,
    OWNER,
    "ec2.us-west-2.amazonaws.com",
    "ec2.us-east-1.amazonaws.com",
    "ec2.*.amazonaws.com",
    "s3.us-west-2.amazonaws.com",
    "s3.*.amazonaws.com",
    "*",
    "true",
    "false",
    "arn:aws:iam::444455556666:role/*",
    "arn:aws:iam::444455556666:role/tidb-cloud-backup",
    "",
];

fn arb_principal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        select(ACCOUNTS).prop_map(|a| json!({"AWS": format!("arn:aws:iam::{a}:root")})),
        select(ACCOUNTS).prop_map(|a| json!({"AWS": a})),
        (select(ACCOUNTS), select(&["tidb-cloud-node", "tidb-cloud-backup", "Admin", "*"][..]))
            .prop_map(|(a, r)| json!({"AWS": format!("arn:aws:iam::{a}:role/{r}")})),
        prop::collection::vec(select(ACCOUNTS), 0..3).prop_map(|v| json!({"AWS": v})),
        Just(json!({"Service": "ec2.amazonaws.com"})),
        Just(json!({"AWS": SERVICE, "Service": "s3.amazonaws.com"})),
        Just(json!(42)),
        Just(json!({"AWS": [1]})),
        Just(json!(format!("arn:aws:iam::{SERVICE}:root"))),
    ]
}

fn string_or_list(pool: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => select(pool).prop_map(|s| json!(s)),
        4 => prop::collection::vec(select(pool), 0..5).prop_map(|v| json!(v)),
        1 => Just(json!(7)),
        1 => Just(json!([true])),
    ]
}

fn arb_condition() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        6 => select(CONDITION_VALUES).prop_map(|s| json!(s)),
        3 => prop::collection::vec(select(CONDITION_VALUES), 0..3).prop_map(|v| json!(v)),
        1 => any::<bool>().prop_map(|b| json!(b)),
        1 => Just(json!(444455556666u64)),
        1 => Just(json!({"nested": 1})),
    ];
    let block = prop::collection::vec((select(CONTEXT_KEYS), value), 1..3)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    prop_oneof![
        10 => prop::collection::vec((select(OPERATORS), block), 1..3)
            .prop_map(|ops| Value::Object(ops.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => Just(json!("not an object")),
        1 => Just(json!({"StringEquals": "not a map"})),
    ]
}

/// A statement with random pieces; `effect` forces the Effect when given.
fn arb_statement_with(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect_s = match effect {
        Some(e) => Just(Some(e)).boxed(),
        None => prop_oneof![
            8 => Just(Some("Allow")),
            5 => Just(Some("Deny")),
            1 => Just(Some("allow")),
            1 => Just(None),
        ]
        .boxed(),
    };
    let sid = prop_oneof![
        3 => Just(None),
        1 => Just(Some(json!(EBS_SID))),
        1 => Just(Some(json!(S3_SID))),
        2 => Just(Some(json!("Custom statement"))),
        1 => Just(Some(json!(17))),
    ];
    let principal = (0u8..8, arb_principal());
    let action = (0u8..10, string_or_list(ACTIONS));
    let resource = prop_oneof![
        6 => Just(Some(("Resource", json!("*")))),
        2 => Just(Some(("Resource", json!(KEY_ARN)))),
        1 => Just(Some(("Resource", json!("arn:aws:kms:us-west-2:111122223333:key/*")))),
        1 => Just(Some(("Resource", json!("arn:aws:kms:us-west-2:111122223333:key/other")))),
        1 => Just(Some(("NotResource", json!("arn:aws:kms:us-west-2:111122223333:key/other")))),
        1 => Just(None),
    ];
    let condition = prop_oneof![3 => Just(None), 2 => arb_condition().prop_map(Some)];
    (sid, effect_s, principal, action, resource, condition).prop_map(
        |(sid, effect, (pmode, principal), (amode, action), resource, condition)| {
            let mut m = Map::new();
            if let Some(s) = sid {
                m.insert("Sid".into(), s);
            }
            if let Some(e) = effect {
                m.insert("Effect".into(), json!(e));
            }
            match pmode {
                0 => {}
                1 => {
                    m.insert("NotPrincipal".into(), principal);
                }
                2 => {
                    m.insert("Principal".into(), principal.clone());
                    m.insert("NotPrincipal".into(), principal);
                }
                _ => {
                    m.insert("Principal".into(), principal);
                }
            }
            match amode {
                0 => {}
                1 | 2 => {
                    m.insert("NotAction".into(), action);
                }
                3 => {
                    m.insert("Action".into(), action.clone());
                    m.insert("NotAction".into(), action);
                }
                _ => {
                    m.insert("Action".into(), action);
                }
            }
            if let Some((k, v)) = resource {
                m.insert(k.into(), v);
            }
            if let Some(c) = condition {
                m.insert("Condition".into(), c);
            }
            Value::Object(m)
        },
    )
}

fn arb_statement() -> impl Strategy<Value = Value> {
    arb_statement_with(None)
}

/// The statements a policy starts from before random ones are added.
fn base_statements(which: u8) -> Vec<Value> {
    let region = PolicyRegion::Region(REGION.into());
    let take = |v: Value| v["Statement"].as_array().unwrap().clone();
    match which {
        0 => Vec::new(),
        1 => take(policy::template(Some(SERVICE), &region)),
        2 => take(policy::template(Some(SERVICE), &PolicyRegion::Any)),
        3 => take(policy::default_key_policy(OWNER, Some(SERVICE), &region)),
        4 => vec![policy::ebs_statement(Some(SERVICE), &region)],
        5 => vec![policy::s3_statement(Some(SERVICE))],
        _ => take(policy::template(Some("999988887777"), &PolicyRegion::Region("eu-west-1".into()))),
    }
}

/// Structurally plausible policies: a base (often the guide's statements) plus random ones.
fn arb_policy() -> impl Strategy<Value = Value> {
    let version = prop_oneof![
        8 => Just(Some("2012-10-17")),
        1 => Just(Some("2008-10-17")),
        1 => Just(None),
        1 => Just(Some("2012-10-18")),
    ];
    (version, 0u8..7, prop::collection::vec(arb_statement(), 0..4), any::<bool>(), any::<prop::sample::Index>())
        .prop_map(|(version, base, extra, single, at)| {
            let mut statements = base_statements(base);
            for st in extra {
                let i = at.index(statements.len() + 1);
                statements.insert(i, st);
            }
            let mut m = Map::new();
            if let Some(v) = version {
                m.insert("Version".into(), json!(v));
            }
            m.insert(
                "Statement".into(),
                if single && statements.len() == 1 { statements.pop().unwrap() } else { json!(statements) },
            );
            Value::Object(m)
        })
}

/// Allow statements that carry the guide's Sids but were written by hand: some principal of the
/// service account (or anyone), some actions, rarely a condition.
fn arb_guide_sid_policy() -> impl Strategy<Value = Value> {
    let statement = (
        select(&[EBS_SID, S3_SID][..]),
        select(vec![json!("*"), json!({"AWS": format!("arn:aws:iam::{SERVICE}:root")}), json!({"AWS": SERVICE})]),
        string_or_list(ACTIONS),
        prop_oneof![4 => Just(None), 1 => arb_condition().prop_map(Some)],
    )
        .prop_map(|(sid, principal, action, condition)| {
            let mut st =
                json!({"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"});
            if let Some(c) = condition {
                st["Condition"] = c;
            }
            st
        });
    prop::collection::vec(statement, 1..3)
        .prop_map(|statements| json!({"Version": "2012-10-17", "Statement": statements}))
}

fn statements_of(v: &Value) -> Vec<Value> {
    match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    }
}

fn with_statements(v: &Value, statements: Vec<Value>) -> Value {
    let mut out = v.clone();
    out["Statement"] = json!(statements);
    out
}

fn has_deny(v: &Value) -> bool {
    statements_of(v).iter().any(|s| s.get("Effect") == Some(&json!("Deny")))
}

fn text(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn upper_actions(v: &Value) -> Value {
    let up = |a: &Value| match a {
        Value::String(s) => json!(s.to_uppercase()),
        Value::Array(l) => Value::Array(
            l.iter().map(|x| x.as_str().map(|s| json!(s.to_uppercase())).unwrap_or_else(|| x.clone())).collect(),
        ),
        other => other.clone(),
    };
    let statements = statements_of(v)
        .into_iter()
        .map(|mut s| {
            for k in ["Action", "NotAction"] {
                if let Some(a) = s.get(k).cloned() {
                    s[k] = up(&a);
                }
            }
            s
        })
        .collect();
    with_statements(v, statements)
}

// ------------------------------------------------------------------------------ policy properties

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn policy_functions_never_panic_on_arbitrary_strings(s in prop_oneof![".*", "\\PC*", any::<String>()]) {
        let d = run_all(&s)?;
        let is_json = serde_json::from_str::<Value>(&s).is_ok();
        prop_assert_eq!(d.findings.iter().any(|f| f.kind() == "not_json"), !is_json);
    }

    #[test]
    fn a_damaged_template_is_reported_at_a_real_position(
        region in prop_oneof![Just(PolicyRegion::Region(REGION.into())), Just(PolicyRegion::Any)],
        at in any::<prop::sample::Index>(),
        insert in prop::option::of(select(&['{', '}', ',', '"', '/', '.', ']', ':', 'x', '\n'][..])),
        len in 0usize..4,
    ) {
        let t = policy::template_text(Some(SERVICE), &region);
        let chars: Vec<char> = t.chars().collect();
        let i = at.index(chars.len());
        let mut damaged: Vec<char> = chars[..i].to_vec();
        if let Some(c) = insert { damaged.push(c) }
        damaged.extend(&chars[(i + len).min(chars.len())..]);
        let damaged: String = damaged.into_iter().collect();
        let d = run_all(&damaged)?;
        let not_json = d.findings.iter().find(|f| f.kind() == "not_json");
        if let Some(Finding::NotJson { line, column, message, .. }) = not_json {
            let lines = damaged.lines().count();
            prop_assert!(*line >= 1 && *line <= lines + 1, "line {} of {}", line, lines);
            prop_assert!(*column >= 1);
            prop_assert!(!message.contains(" at line "), "{}", message);
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn policy_functions_never_panic_on_arbitrary_json(v in arb_json()) {
        let s = serde_json::to_string(&v).unwrap();
        let d = run_all(&s)?;
        prop_assert!(d.findings.iter().all(|f| f.kind() != "not_json"));
        if !v.is_object() {
            prop_assert_eq!(kinds(&d), vec!["not_a_policy"]);
        }
        // Pretty or compact: the same decision.
        let pretty = policy::decide(&text(&v), q());
        prop_assert_eq!(kinds(&pretty), kinds(&d));
    }
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn plausible_policies_keep_every_promise(p in arb_policy()) {
        let s = text(&p);
        let d = run_all(&s)?;
        // Only the key's state changes when the key is not Enabled: KeyNotEnabled goes first.
        for state in [KeyState::Disabled, KeyState::PendingDeletion] {
            let off = policy::decide(&s, AccessQuery { key_state: state, ..q() });
            let mut expected = vec![Finding::KeyNotEnabled { state }];
            expected.extend(d.findings.iter().cloned());
            prop_assert_eq!(off.findings, expected);
        }
        // Merge: Ok on an object.
        let merged = policy::merge(&s, q(), &PolicyRegion::Region(REGION.into())).unwrap();
        // The customer's statements (all but the guide's) are kept, in order and unchanged.
        let not_guide = |v: &Vec<Value>| -> Vec<Value> {
            let guide = |s: &Value| [Some(EBS_SID), Some(S3_SID)].contains(&s.get("Sid").and_then(Value::as_str));
            v.iter().filter(|s| !guide(s)).cloned().collect()
        };
        let merged_v: Value = serde_json::from_str(&merged).unwrap();
        prop_assert_eq!(not_guide(&statements_of(&merged_v)), not_guide(&statements_of(&p)));
        // Usable means: merge has nothing to add.
        if d.is_usable() {
            prop_assert_eq!(statements_of(&merged_v), statements_of(&p));
        }
    }

    #[test]
    fn action_case_does_not_matter(p in arb_policy()) {
        let a = policy::decide(&text(&p), q());
        let b = policy::decide(&text(&upper_actions(&p)), q());
        prop_assert_eq!(a.findings, b.findings);
    }

    #[test]
    fn statement_order_does_not_matter(p in arb_policy()) {
        let statements = statements_of(&p);
        prop_assume!(statements.len() > 1);
        let mut reversed = statements.clone();
        reversed.reverse();
        let a = policy::decide(&text(&p), q());
        let b = policy::decide(&text(&with_statements(&p, reversed)), q());
        prop_assert_eq!(a.is_usable(), b.is_usable(), "{:?}\nvs\n{:?}", a.findings, b.findings);
        prop_assert_eq!(kinds(&a), kinds(&b));
    }

    /// For any policy decide() calls usable, one more Allow statement keeps it usable.
    #[test]
    fn an_extra_allow_keeps_a_usable_policy_usable(
        base in 1u8..4,
        extra in prop::collection::vec(arb_statement(), 0..3),
        allow in arb_statement_with(Some("Allow")),
        at in any::<prop::sample::Index>(),
    ) {
        let mut statements = base_statements(base);
        statements.extend(extra);
        let p = json!({"Version": "2012-10-17", "Statement": statements.clone()});
        prop_assume!(policy::decide(&text(&p), q()).is_usable());
        statements.insert(at.index(statements.len() + 1), allow);
        let p2 = json!({"Version": "2012-10-17", "Statement": statements});
        let d = policy::decide(&text(&p2), q());
        prop_assert!(d.is_usable(), "{}\n{:?}", text(&p2), d.findings);
    }

    /// A Deny never gives access: an unusable policy stays unusable with one more Deny.
    #[test]
    fn an_extra_deny_never_makes_a_policy_usable(
        p in arb_policy(),
        deny in arb_statement_with(Some("Deny")),
    ) {
        let d = policy::decide(&text(&p), q());
        prop_assume!(!d.is_usable());
        let mut statements = statements_of(&p);
        statements.push(deny);
        let d2 = policy::decide(&text(&with_statements(&p, statements)), q());
        prop_assert!(!d2.is_usable());
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Without a Deny, the merged policy grants the service what it needs, and merging again
    /// changes nothing. (A document that is not a policy at all, e.g. a wrong Version, has its
    /// own test in policy_decisions.rs.) Half the policies are made of statements that carry
    /// the guide's Sids, which is where merge replaces rather than adds.
    #[test]
    fn merge_fixes_every_policy_without_deny(p in prop_oneof![1 => arb_policy(), 3 => arb_guide_sid_policy()]) {
        let s = text(&p);
        let d = policy::decide(&s, q());
        prop_assume!(!has_deny(&p) && !d.findings.iter().any(|f| f.kind() == "not_a_policy"));
        let merged = policy::merge(&s, q(), &PolicyRegion::Region(REGION.into())).unwrap();
        let md = policy::decide(&merged, q());
        prop_assert!(md.is_usable(), "input:\n{}\nmerged:\n{}\nfindings: {:?}", s, merged, md.findings);
        prop_assert_eq!(policy::merge(&merged, q(), &PolicyRegion::Region(REGION.into())).unwrap(), merged);
    }
}

// ------------------------------------------------------------------------------ ARNs and regions

/// An independent statement of the region-code shape: `<2 letters>[-gov|-iso|-isob]-<word>-<1..99>`.
fn region_oracle(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let word = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let number =
        |p: &str| matches!(p.parse::<u8>(), Ok(1..=99)) && !p.starts_with('0') && p.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [area, dir, n] => area.len() == 2 && word(area) && word(dir) && number(n),
        [area, qual, dir, n] => {
            area.len() == 2 && word(area) && ["gov", "iso", "isob"].contains(qual) && word(dir) && number(n)
        }
        _ => false,
    }
}

fn partition_oracle(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

const REAL_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-3",
    "sa-east-1",
    "il-central-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
];

fn valid_region() -> impl Strategy<Value = String> {
    prop_oneof![
        select(REAL_REGIONS).prop_map(str::to_owned),
        ("[a-z]{2}", prop::option::of(select(&["gov", "iso", "isob"][..])), "[a-z]{1,10}", 1u8..=99).prop_map(
            |(area, q, dir, n)| match q {
                Some(q) => format!("{area}-{q}-{dir}-{n}"),
                None => format!("{area}-{dir}-{n}"),
            }
        ),
    ]
}

fn region_part() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => valid_region(),
        1 => select(&[
            "", "us-west", "US-WEST-2", "us-west-02", "us_west_2", "us-central1", "us-foo-west-2", "us-west-100",
        ][..])
        .prop_map(str::to_owned),
        1 => "[a-z0-9-]{0,14}",
    ]
}

fn key_id_valid(id: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if let Some(h) = id.strip_prefix("mrk-") {
        return h.len() == 32 && hex(h);
    }
    let g: Vec<&str> = id.split('-').collect();
    g.len() == 5 && g.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && hex(p))
}

const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const UUID_ANY_CASE: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

fn resource_part() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => UUID.prop_map(|u| format!("key/{u}")),
        2 => "[0-9a-f]{32}".prop_map(|h| format!("key/mrk-{h}")),
        1 => "[a-z/_-]{1,10}".prop_map(|a| format!("alias/{a}")),
        1 => "[0-9A-Fa-f-]{0,40}".prop_map(|k| format!("key/{k}")),
        2 => UUID_ANY_CASE.prop_map(|u| format!("key/{u}")),
        1 => "[0-9a-f]{0,34}".prop_map(|h| format!("key/mrk-{h}")),
        1 => UUID.prop_map(|u| format!("key/{u}:extra")),
        1 => "[a-z/:]{0,10}",
    ]
}

#[derive(Debug, Clone)]
struct ArnParts {
    partition: String,
    service: String,
    region: String,
    account: String,
    resource: String,
}

impl ArnParts {
    fn text(&self) -> String {
        format!("arn:{}:{}:{}:{}:{}", self.partition, self.service, self.region, self.account, self.resource)
    }
}

fn arn_parts() -> impl Strategy<Value = ArnParts> {
    let partition = prop_oneof![
        8 => select(Partition::ALL.to_vec()).prop_map(|p| p.as_str().to_owned()),
        1 => select(&["azure", "AWS", "aws-eu", ""][..]).prop_map(str::to_owned),
    ];
    let service =
        prop_oneof![8 => Just("kms".to_owned()), 1 => select(&["s3", "KMS", "iam", ""][..]).prop_map(str::to_owned)];
    let account = prop_oneof![8 => "[0-9]{12}", 1 => "[0-9]{0,14}", 1 => "[0-9a-f]{12}"];
    (partition, service, region_part(), account, resource_part()).prop_map(
        |(partition, service, region, account, resource)| ArnParts { partition, service, region, account, resource },
    )
}

/// Valid ARNs only: partition taken from the region.
fn valid_arn_parts() -> impl Strategy<Value = ArnParts> {
    (
        valid_region(),
        "[0-9]{12}",
        prop_oneof![UUID.prop_map(|u| format!("key/{u}")), "[0-9a-f]{32}".prop_map(|h| format!("key/mrk-{h}"))],
    )
        .prop_map(|(region, account, resource)| ArnParts {
            partition: partition_oracle(&region).to_owned(),
            service: "kms".into(),
            region,
            account,
            resource,
        })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arn_parse_never_panics_and_accepts_only_canonical_text(
        s in prop_oneof![".*", "arn:[ -~]{0,70}", any::<String>()]
    ) {
        match KmsKeyArn::parse(&s) {
            Ok(arn) => prop_assert_eq!(arn.to_string(), s),
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                if s.is_empty() {
                    prop_assert_eq!(e.kind(), "empty");
                } else if s.chars().any(char::is_whitespace) {
                    prop_assert_eq!(e.kind(), "whitespace");
                }
            }
        }
    }

    #[test]
    fn arn_parse_accepts_exactly_the_valid_parts(parts in arn_parts()) {
        let s = parts.text();
        let partition_ok = Partition::ALL.iter().any(|p| p.as_str() == parts.partition);
        let service_ok = parts.service == "kms";
        let region_ok = region_oracle(&parts.region);
        let matches_partition = region_ok && partition_oracle(&parts.region) == parts.partition;
        let account_ok = parts.account.len() == 12 && parts.account.chars().all(|c| c.is_ascii_digit());
        let resource_ok = parts.resource.strip_prefix("key/").is_some_and(key_id_valid);
        let valid = partition_ok && service_ok && region_ok && matches_partition && account_ok && resource_ok;
        match KmsKeyArn::parse(&s) {
            Ok(arn) => {
                prop_assert!(valid, "accepted {}", s);
                prop_assert_eq!(&arn.region, &parts.region);
                prop_assert_eq!(&arn.account, &parts.account);
                prop_assert_eq!(arn.partition.as_str(), parts.partition.as_str());
                prop_assert_eq!(format!("key/{}", arn.key_id), parts.resource.clone());
                prop_assert_eq!(arn.is_multi_region(), parts.resource.starts_with("key/mrk-"));
            }
            Err(e) => {
                prop_assert!(!valid, "refused {}: {}", s, e);
                // The error names a part that is wrong.
                let blamed_part_is_wrong = match e.kind() {
                    "partition" => !partition_ok,
                    "service" => !service_ok,
                    "missing_region" | "region" => !region_ok,
                    "partition_region" => region_ok && !matches_partition,
                    "account" => !account_ok,
                    "alias" | "resource" | "key_id" => !resource_ok,
                    _ => false,
                };
                prop_assert!(blamed_part_is_wrong, "{} blamed {} ({})", s, e.kind(), e);
            }
        }
    }

    #[test]
    fn valid_arns_round_trip(parts in valid_arn_parts()) {
        let arn = KmsKeyArn::parse(&parts.text()).unwrap();
        prop_assert_eq!(arn.to_string(), parts.text());
        prop_assert_eq!(KmsKeyArn::parse(&arn.to_string()).unwrap(), arn.clone());
        prop_assert!(arn.check_region(&parts.region).is_ok());
        prop_assert_eq!(Partition::of_region(&arn.region), arn.partition);
    }

    #[test]
    fn region_codes(s in prop_oneof![valid_region(), region_part(), ".*", "[a-z]{2}-[a-z-]{0,12}-?[0-9]{0,3}"]) {
        prop_assert_eq!(is_aws_region_code(&s), region_oracle(&s), "{:?}", s);
        let p = Partition::of_region(&s);
        prop_assert_eq!(p.as_str(), partition_oracle(&s));
        prop_assert_eq!(Partition::parse(p.as_str()), Some(p));
    }

    #[test]
    fn valid_region_codes_are_accepted(s in valid_region()) {
        prop_assert!(is_aws_region_code(&s), "{}", s);
    }

    #[test]
    fn check_spec_accepts_exactly_a_matching_key(
        region in region_part(),
        arn in prop_oneof![valid_arn_parts().prop_map(|p| p.text()), arn_parts().prop_map(|p| p.text()), ".{0,20}"],
        regions in prop_oneof![Just(Vec::<&str>::new()), Just(vec!["us-west-2", "us-east-1"])],
        index in 0usize..3,
    ) {
        let spec = cmek_core::api::AwsCmekSpec { region: region.clone(), kms_arn: arn.clone() };
        let errors = check_spec(index, &spec, &regions);
        let parsed = KmsKeyArn::parse(&arn);
        let region_ok = is_aws_region_code(&region) && (regions.is_empty() || regions.contains(&region.as_str()));
        let ok = region_ok && parsed.as_ref().is_ok_and(|a| a.region == region);
        prop_assert_eq!(errors.is_empty(), ok, "{:?}", errors);
        let (region_field, arn_field) = (format!("specs[{index}].region"), format!("specs[{index}].kms_arn"));
        for (code, f) in &errors {
            prop_assert!(f.field == region_field || f.field == arn_field, "{}", f.field);
            let known = [ErrorCode::ValidationFailed, ErrorCode::KmsArnInvalid, ErrorCode::KmsArnRegionMismatch];
            prop_assert!(known.contains(code), "{:?}", code);
            prop_assert_eq!(FieldError::from_detail(&f.to_detail()), Some(f.clone()));
        }
    }

    #[test]
    fn project_names_never_panic(name in prop_oneof![".{0,70}", "\\PC{60,70}", any::<String>()]) {
        let ok = !name.trim().is_empty()
            && name.chars().count() <= 64
            && name.trim() == name
            && !name.chars().any(char::is_control)
            && cmek_core::text::hidden_character(&name).is_none();
        prop_assert_eq!(check_project_name(&name).is_ok(), ok, "{:?}", name);
    }
}

// ------------------------------------------------------------------------------ cluster rules

fn catalog() -> ListProviderRegionsResp {
    let tidb = |s: &str| TidbProfile { node_size: s.into(), node_quantity_range: QuantityRange { min: 1, step: 1 } };
    let kv = |s: &str, min, max| StorageProfile {
        node_size: s.into(),
        node_quantity_range: QuantityRange { min: 3, step: 3 },
        storage_size_gib_range: StorageRange { min, max },
    };
    let flash = |s: &str| StorageProfile {
        node_size: s.into(),
        node_quantity_range: QuantityRange { min: 0, step: 1 },
        storage_size_gib_range: StorageRange { min: 500, max: 2048 },
    };
    let entry = |provider, region: &str| ProviderRegion {
        cluster_type: ClusterType::Dedicated,
        cloud_provider: provider,
        region: region.into(),
        tidb: vec![tidb("4C16G"), tidb("8C16G"), tidb("16C32G")],
        tikv: vec![kv("4C16G", 200, 2048), kv("8C32G", 500, 4096), kv("16C64G", 500, 4096)],
        tiflash: vec![flash("8C64G"), flash("16C128G")],
    };
    ListProviderRegionsResp {
        items: vec![
            entry(CloudProvider::Aws, "us-west-2"),
            entry(CloudProvider::Aws, "us-east-1"),
            entry(CloudProvider::Gcp, "us-central1"),
            ProviderRegion {
                cluster_type: ClusterType::Developer,
                cloud_provider: CloudProvider::Aws,
                region: "us-west-2".into(),
                tidb: vec![],
                tikv: vec![],
                tiflash: vec![],
            },
        ],
    }
}

const SIZES: &[&str] =
    &["4C16G", "8C16G", "16C32G", "8C32G", "16C64G", "8C64G", "16C128G", "2C4G", "", "Shared0", "4C", "x"];

fn storage_component() -> impl Strategy<Value = StorageComponent> {
    (select(SIZES), prop_oneof![-10i32..5000, any::<i32>()], prop_oneof![-2i32..200, any::<i32>()]).prop_map(
        |(size, storage_size_gib, node_quantity)| StorageComponent {
            node_size: size.to_owned(),
            storage_size_gib,
            node_quantity,
        },
    )
}

fn components() -> impl Strategy<Value = Components> {
    (select(SIZES), prop_oneof![-2i32..10, any::<i32>()], storage_component(), prop::option::of(storage_component()))
        .prop_map(|(size, q, tikv, tiflash)| Components {
            tidb: TidbComponent { node_size: size.to_owned(), node_quantity: q },
            tikv,
            tiflash,
        })
}

fn cidr_text() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        any::<[u8; 4]>().prop_map(|b| std::net::Ipv4Addr::from(b).to_string()),
        any::<[u16; 8]>().prop_map(|b| std::net::Ipv6Addr::from(b).to_string()),
        "[0-9a-f.:]{0,20}",
        "0[0-9]{1,2}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
    ];
    let prefix = prop_oneof![
        6 => "[0-9]{1,3}",
        3 => "[+-][0-9]{1,2}",
        1 => Just(String::new()),
        1 => "0[0-9]{3,4}",
        1 => "\\PC{0,3}",
    ];
    (addr, prop::option::weighted(0.9, prefix)).prop_map(|(a, p)| match p {
        Some(p) => format!("{a}/{p}"),
        None => a,
    })
}

fn create_request() -> impl Strategy<Value = CreateClusterReq> {
    let name = prop_oneof![
        "[A-Za-z0-9][A-Za-z0-9-]{2,62}[A-Za-z0-9]",
        ".{0,70}",
        "-[a-z]{3,5}",
        "[a-z]{0,5}",
        "[a-z]{60,66}",
    ];
    // The § marks the password so a message repeating it can be recognised.
    let password = "§.{0,70}";
    let port = prop_oneof![
        Just(None),
        any::<i32>().prop_map(Some),
        (1000i32..11000).prop_map(Some),
        Just(Some(10080)),
        Just(Some(4000)),
        Just(Some(65536)),
    ];
    let region = select(&["us-west-2", "us-east-1", "us-central1", "eu-west-3", "", "mars-1"][..]);
    let item = || {
        (cidr_text(), prop::option::of(prop_oneof![".{0,10}", "a{250,260}"]))
            .prop_map(|(cidr, description)| IpAccessListItem { cidr, description })
    };
    let ip_list = prop::option::of(prop_oneof![
        8 => prop::collection::vec(item(), 0..4),
        1 => prop::collection::vec(item(), 99..103),
    ]);
    (
        name,
        select(ClusterType::ALL.to_vec()),
        select(CloudProvider::ALL.to_vec()),
        region,
        password,
        port,
        prop::option::of(components()),
        ip_list,
    )
        .prop_map(
            |(name, cluster_type, cloud_provider, region, root_password, port, components, ip_access_list)| {
                CreateClusterReq {
                    name,
                    cluster_type,
                    cloud_provider,
                    region: region.to_owned(),
                    config: CreateClusterConfig { root_password, port, components, ip_access_list },
                }
            },
        )
}

/// The Dedicated entries of [`catalog`], and the sizes they offer.
const IN_CATALOG: &[(CloudProvider, &str)] =
    &[(CloudProvider::Aws, "us-west-2"), (CloudProvider::Aws, "us-east-1"), (CloudProvider::Gcp, "us-central1")];
const OFFERED_TIDB: &[&str] = &["4C16G", "8C16G", "16C32G"];
const OFFERED_TIKV: &[&str] = &["4C16G", "8C32G", "16C64G"];

/// [`create_request`], half of the time moved into the catalog (Dedicated, an offered region,
/// offered TiDB and TiKV sizes), so the component rules — the 4-vCPU rule among them — are
/// reached often rather than in about 1% of cases.
fn create_request_often_in_catalog() -> impl Strategy<Value = CreateClusterReq> {
    (create_request(), any::<bool>(), select(IN_CATALOG), select(OFFERED_TIDB), select(OFFERED_TIKV), components())
        .prop_map(|(mut req, in_catalog, (provider, region), db, kv, fallback)| {
            if in_catalog {
                req.cluster_type = ClusterType::Dedicated;
                req.cloud_provider = provider;
                req.region = (*region).to_owned();
                let c = req.config.components.get_or_insert(fallback);
                c.tidb.node_size = (*db).to_owned();
                c.tikv.node_size = (*kv).to_owned();
            }
            req
        })
}

fn field_is_known(f: &str) -> bool {
    if ["name", "config.root_password", "config.port", "region", "config.components", "config.ip_access_list"]
        .contains(&f)
    {
        return true;
    }
    if let Some(rest) = f.strip_prefix("config.ip_access_list[") {
        if let Some((n, tail)) = rest.split_once(']') {
            return n.parse::<usize>().is_ok() && (tail == ".cidr" || tail == ".description");
        }
        return false;
    }
    if let Some(rest) = f.strip_prefix("config.components.") {
        let (comp, tail) = rest.split_once('.').unwrap_or((rest, ""));
        return ["tidb", "tikv", "tiflash"].contains(&comp)
            && ["", "node_size", "node_quantity", "storage_size_gib"].contains(&tail);
    }
    false
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn cluster_names(name in prop_oneof!["[A-Za-z0-9-]{0,70}", ".{0,70}", any::<String>()]) {
        let n = name.chars().count();
        let ok = (4..=64).contains(&n)
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        let r = check_name(&name);
        prop_assert_eq!(r.is_ok(), ok, "{:?}: {:?}", name, r);
    }

    #[test]
    fn root_passwords(rest in prop_oneof![".{0,70}", any::<String>()]) {
        let password = format!("§{rest}");
        let n = password.chars().count();
        let r = check_root_password(&password);
        prop_assert_eq!(r.is_ok(), (8..=64).contains(&n));
        if let Err(m) = r {
            prop_assert!(!m.contains(&password), "{}", m);
        }
    }

    #[test]
    fn ports(port in prop_oneof![any::<i32>(), 1000i32..66000, Just(10080)]) {
        prop_assert_eq!(check_port(port).is_ok(), (1024..=65535).contains(&port) && port != 10080);
    }

    /// A CIDR is an address, a slash and a prefix length written in decimal digits.
    #[test]
    fn cidrs(cidr in prop_oneof![cidr_text(), ".{0,30}"]) {
        let oracle = match cidr.split_once('/') {
            None => false,
            Some((addr, bits)) => {
                let max = if addr.parse::<std::net::Ipv4Addr>().is_ok() {
                    Some(32)
                } else if addr.parse::<std::net::Ipv6Addr>().is_ok() {
                    Some(128)
                } else {
                    None
                };
                !bits.is_empty()
                    && bits.chars().all(|c| c.is_ascii_digit())
                    && max.is_some_and(|m| bits.parse::<u32>().is_ok_and(|b| b <= m))
            }
        };
        let r = check_cidr(&cidr);
        prop_assert_eq!(r.is_ok(), oracle, "{:?}: {:?}", cidr, r);
    }

    #[test]
    fn node_sizes(s in prop_oneof![".{0,12}", "[+-]?[0-9]{0,12}C[+-]?[0-9]{0,9}G?", any::<String>()]) {
        if let Some(n) = vcpus(&s) {
            prop_assert!(n > 0);
            // A size vcpus() understands has a RAM figure too.
            let gib: i64 = s.split_once('C').unwrap().1.trim_end_matches('G').parse().unwrap();
            prop_assert_eq!(ram_bytes(&s), Some(gib << 30));
        }
        let _ = ram_bytes(&s);
    }

    #[test]
    fn node_sizes_built_from_numbers(cpu in 1i32..=i32::MAX, gib in 0i64..=(i64::MAX >> 30)) {
        let s = format!("{cpu}C{gib}G");
        prop_assert_eq!(vcpus(&s), Some(cpu));
        prop_assert_eq!(ram_bytes(&s), Some(gib << 30));
    }

    /// ram_bytes() parses the GiB of any node-size text; a GiB count whose bytes do not fit in
    /// an i64 must give None, not panic.
    #[test]
    fn ram_bytes_never_overflows(cpu in 1u32..200, gib in prop_oneof![0u64..1 << 40, any::<u64>()]) {
        let s = format!("{cpu}C{gib}G");
        let expected = i64::try_from(gib).ok().and_then(|g| g.checked_mul(1 << 30));
        prop_assert_eq!(ram_bytes(&s), expected);
    }

    #[test]
    fn field_error_details_round_trip(
        detail in prop_oneof![".*", "[a-z_.\\[\\]0-9-]{1,20}: .{0,20}", any::<String>()],
    ) {
        if let Some(f) = FieldError::from_detail(&detail) {
            prop_assert_eq!(f.to_detail(), detail.clone());
            prop_assert!(!f.field.is_empty());
            prop_assert!(!f.field.contains(' '));
        }
    }

    #[test]
    fn field_errors_made_from_paths_come_back(field in "[a-z_][a-z_.\\[\\]0-9-]{0,30}", message in ".{0,40}") {
        let f = FieldError::new(field, message);
        prop_assert_eq!(FieldError::from_detail(&f.to_detail()), Some(f));
    }
}

const CREATE_CASES: u32 = 384;

/// Every rule of a create request, on generated requests; fails when the 4-vCPU rule was reached
/// too seldom for the property to mean anything (both firing and holding back).
#[test]
fn create_cluster_requests() {
    let (reached, fired) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
    let mut runner = proptest::test_runner::TestRunner::new(config(CREATE_CASES));
    let outcome = runner.run(&create_request_often_in_catalog(), |req| {
        let catalog = catalog();
        let errors = check_create(&req, &catalog);
        let has = |f: &str| errors.iter().any(|e| e.field == f);
        for e in &errors {
            prop_assert!(field_is_known(&e.field), "unknown field {}", e.field);
            prop_assert!(!e.message.is_empty());
            // Every error survives the trip through `details`.
            prop_assert_eq!(FieldError::from_detail(&e.to_detail()), Some(e.clone()));
            if e.field != "name" && req.config.root_password.chars().count() >= 4 {
                prop_assert!(!e.message.contains(&req.config.root_password), "{} repeats the password", e.field);
            }
        }
        prop_assert_eq!(has("name"), check_name(&req.name).is_err());
        prop_assert_eq!(has("config.root_password"), check_root_password(&req.config.root_password).is_err());
        let port = req.config.port.unwrap_or(4000);
        prop_assert_eq!(
            has("config.port"),
            check_port(port).is_err() || (req.cluster_type == ClusterType::Developer && port != 4000)
        );
        let entry = catalog.find(req.cluster_type, req.cloud_provider, &req.region);
        prop_assert_eq!(has("region"), entry.is_none());
        let list = req.config.ip_access_list.as_deref().unwrap_or_default();
        prop_assert_eq!(has("config.ip_access_list"), list.len() > 100);
        for (i, item) in list.iter().enumerate() {
            prop_assert_eq!(has(&format!("config.ip_access_list[{i}].cidr")), check_cidr(&item.cidr).is_err());
            let long = item.description.as_ref().is_some_and(|d| d.chars().count() > 256);
            prop_assert_eq!(has(&format!("config.ip_access_list[{i}].description")), long);
        }
        let component_errors = errors.iter().any(|e| e.field.starts_with("config.components"));
        if entry.is_none() || req.cluster_type == ClusterType::Developer {
            prop_assert!(!component_errors);
        } else {
            prop_assert_eq!(has("config.components"), req.config.components.is_none());
            if let Some(c) = &req.config.components {
                // The 4-vCPU rule, for sizes the catalog offers.
                let offered = |s: &str| ["4C16G", "8C16G", "16C32G", "8C32G", "16C64G"].contains(&s);
                if offered(&c.tidb.node_size) && offered(&c.tikv.node_size) {
                    let (db, kv) = (vcpus(&c.tidb.node_size).unwrap(), vcpus(&c.tikv.node_size).unwrap());
                    let rule = errors.iter().any(|e| e.message.contains("same vCPUs"));
                    prop_assert_eq!(rule, (db == 4 || kv == 4) && db != kv);
                    reached.set(reached.get() + 1);
                    fired.set(fired.get() + usize::from(rule));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let (reached, fired) = (reached.get(), fired.get());
    println!("create_cluster_requests: the 4-vCPU rule reached in {reached} of {CREATE_CASES} cases, fired in {fired}");
    let tenth = CREATE_CASES as usize / 10;
    assert!(fired >= tenth, "the 4-vCPU rule fired in only {fired} of {CREATE_CASES} cases");
    assert!(reached - fired >= tenth, "the 4-vCPU rule held back in only {} of {CREATE_CASES} cases", reached - fired);
}

// ------------------------------------------------------------------------------ pages

fn expected_number(raw: Option<&str>, default: i64, max: Option<i64>) -> Option<i64> {
    match raw {
        None => Some(default),
        Some(r) => r.parse::<i64>().ok().filter(|n| *n >= 1 && max.is_none_or(|m| *n <= m)),
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn page_parse(
        page in prop::option::of(prop_oneof!["-?[0-9]{1,20}", "\\PC{0,6}", any::<String>()]),
        size in prop::option::of(prop_oneof![
            "-?[0-9]{1,4}",
            "\\PC{0,6}",
            Just("100".to_owned()),
            Just("101".to_owned()),
        ]),
    ) {
        let r = Page::parse(page.as_deref(), size.as_deref());
        let p = expected_number(page.as_deref(), 1, None);
        let s = expected_number(size.as_deref(), 10, Some(MAX_PAGE_SIZE));
        match (r, p, s) {
            (Ok(got), Some(p), Some(s)) => {
                prop_assert_eq!(got, Page { page: p, page_size: s });
                prop_assert!(got.offset() >= 0);
                let offset = ((i128::from(p) - 1) * i128::from(s)).min(i128::from(i64::MAX));
                prop_assert_eq!(i128::from(got.offset()), offset);
            }
            (Err(errors), p, s) => {
                let mut expected = Vec::new();
                if p.is_none() { expected.push("page") }
                if s.is_none() { expected.push("page_size") }
                prop_assert!(!expected.is_empty());
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                prop_assert_eq!(fields, expected);
            }
            (Ok(got), p, s) => {
                prop_assert!(false, "accepted {:?} for {:?}/{:?} (expected {:?}/{:?})", got, page, size, p, s);
            }
        }
    }

    #[test]
    fn page_count_for_realistic_totals(total in 0i64..1_000_000_000_000, size in 1i64..=MAX_PAGE_SIZE) {
        let expected = if total == 0 { 1 } else { (total + size - 1) / size };
        prop_assert_eq!(Page::count(total, size), expected);
    }

    /// Page::count is a rule on numbers a caller passes in; it must not overflow for any total.
    #[test]
    fn page_count_never_overflows(
        total in prop_oneof![0i64..=i64::MAX, i64::MAX - 200..=i64::MAX],
        size in 1i64..=MAX_PAGE_SIZE,
    ) {
        let expected = ((i128::from(total) + i128::from(size) - 1) / i128::from(size)).max(1);
        prop_assert_eq!(i128::from(Page::count(total, size)), expected);
    }
}

// ------------------------------------------------------------------------------ lifecycle

const LIFECYCLE_STATUSES: [ClusterStatus; 6] = [
    ClusterStatus::Creating,
    ClusterStatus::Available,
    ClusterStatus::Pausing,
    ClusterStatus::Paused,
    ClusterStatus::Resuming,
    ClusterStatus::Modifying,
];

/// The transitions the lifecycle documents.
fn allowed(from: ClusterStatus, to: ClusterStatus) -> bool {
    use ClusterStatus::*;
    matches!(
        (from, to),
        (Creating, Available)
            | (Available, Pausing)
            | (Available, Modifying)
            | (Pausing, Paused)
            | (Paused, Resuming)
            | (Resuming, Available)
            | (Modifying, Available)
    )
}

fn action() -> impl Strategy<Value = Action> {
    select(vec![Action::Pause, Action::Resume, Action::Modify])
}

fn durations() -> impl Strategy<Value = Durations> {
    (0i64..2000, 0i64..2000, 0i64..2000, 0i64..2000).prop_map(|(create_ms, pause_ms, resume_ms, modify_ms)| Durations {
        create_ms,
        pause_ms,
        resume_ms,
        modify_ms,
    })
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn lifecycle_follows_the_documented_transitions(
        start in 0i64..4_000_000_000_000,
        d in durations(),
        steps in prop::collection::vec((action(), 0i64..3000, any::<bool>()), 0..40),
    ) {
        let mut now = start;
        let mut state = Lifecycle::creating(now, d);
        // Every status the stored state passes through, in order.
        let mut timeline = vec![state.status];
        // What an observer sees at each step, and when a resume succeeded.
        let mut observed: Vec<(i64, ClusterStatus)> = vec![(now, state.status_at(now))];
        let mut resumes: Vec<i64> = Vec::new();
        for (a, dt, settle) in steps {
            now += dt;
            let current = state.status_at(now);
            prop_assert!(LIFECYCLE_STATUSES.contains(&current), "{:?}", current);
            observed.push((now, current));
            if let Some((to, at)) = state.settles
                && at <= now
            {
                timeline.push(to);
            }
            if settle {
                let s = state.settled(now);
                prop_assert_eq!(s.status_at(now), current);
                prop_assert_eq!(s.status_at(now + 10_000), state.status_at(now + 10_000));
                state = s;
            }
            let from = match a {
                Action::Pause | Action::Modify => ClusterStatus::Available,
                Action::Resume => ClusterStatus::Paused,
            };
            match state.apply(a, now, d) {
                Ok(next) => {
                    prop_assert_eq!(current, from);
                    prop_assert!(next.status.is_transitional());
                    prop_assert!(next.settles.is_some_and(|(_, at)| at >= now));
                    if a == Action::Resume {
                        prop_assert_eq!(next.status, ClusterStatus::Resuming);
                        resumes.push(now);
                    }
                    timeline.push(next.status);
                    state = next;
                    let after = state.status_at(now);
                    prop_assert!(LIFECYCLE_STATUSES.contains(&after));
                    observed.push((now, after));
                }
                Err(e) => {
                    prop_assert_ne!(current, from);
                    prop_assert_eq!(e.code, ErrorCode::ClusterStateConflict);
                    let names_both = e.message.contains(current.as_str()) && e.message.contains(from.as_str());
                    prop_assert!(names_both, "{}", e.message);
                }
            }
        }
        if let Some((to, _)) = state.settles {
            timeline.push(to);
        }
        timeline.dedup();
        for w in timeline.windows(2) {
            prop_assert!(allowed(w[0], w[1]), "{:?} -> {:?} in {:?}", w[0], w[1], timeline);
        }
        // Never PAUSED then AVAILABLE without a resume in between.
        for w in observed.windows(2) {
            if w[0].1 == ClusterStatus::Paused && w[1].1 == ClusterStatus::Available {
                prop_assert!(resumes.iter().any(|t| (w[0].0..=w[1].0).contains(t)), "{:?}", observed);
            }
        }
    }

    /// Any clock value: apply and creating must not overflow (a far-future or corrupted
    /// timestamp must not bring the server down).
    #[test]
    fn lifecycle_never_panics_on_any_time(
        now in prop_oneof![any::<i64>(), i64::MAX - 5000..=i64::MAX],
        d in durations(),
        a in action(),
    ) {
        let l = Lifecycle::creating(now, d);
        let _ = l.status_at(now);
        let _ = Lifecycle::stable(ClusterStatus::Available).apply(a, now, d);
        let _ = Lifecycle::stable(ClusterStatus::Paused).apply(a, now, d);
    }
}
