//! The key policy: the template the user guide's Appendix asks for, the access decision the
//! service makes before it uses a key, and a merge that adds what a policy lacks.
//!
//! The decision evaluates the policy the way AWS does for the requests the service will make
//! (an explicit Deny wins; otherwise some Allow must match principal, action, resource and every
//! condition), then explains near misses, so the person sees what to fix rather than a bool.

use crate::kms::{KeyHealthState, KeyState};
use serde_json::{Map, Value, json};
use std::fmt;

/// What the template shows when the server does not know the service account.
pub const ACCOUNT_PLACEHOLDER: &str = "<pingcap-account>";
/// The EBS statement's Sid, as in the user guide.
pub const EBS_SID: &str = "Allow access through EBS for all principals in the account that are authorized to use EBS";
/// The S3 backup statement's Sid, as in the user guide.
pub const S3_SID: &str = "Allow TiDB cloud role to use KMS to store encrypted backup to S3";
/// The file name the console downloads, as the user guide spells it.
pub const POLICY_FILE_NAME: &str = "ROLE-TRUST-POLICY.JSON";
/// AWS's limit on a key policy document.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// The region the EBS statement is written for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyRegion {
    /// `kms:ViaService = ec2.<region>.amazonaws.com` under `StringEquals`.
    Region(String),
    /// `kms:ViaService = ec2.*.amazonaws.com` under `StringLike`, as the guide says for "any".
    Any,
}

/// The statements the guide requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// Encrypting the cluster's EBS volumes (through EC2, from the service account).
    Ebs,
    /// Encrypting backups in S3 (the service account's role).
    S3Backup,
}

impl Grant {
    pub const ALL: [Grant; 2] = [Grant::Ebs, Grant::S3Backup];

    pub const fn label(self) -> &'static str {
        match self {
            Grant::Ebs => "EBS volume encryption",
            Grant::S3Backup => "S3 backup encryption",
        }
    }

    pub const fn sid(self) -> &'static str {
        match self {
            Grant::Ebs => EBS_SID,
            Grant::S3Backup => S3_SID,
        }
    }

    /// The template's actions, as written.
    pub const fn template_actions(self) -> &'static [&'static str] {
        match self {
            Grant::Ebs => &[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:CreateGrant",
                "kms:DescribeKey",
            ],
            Grant::S3Backup => &["kms:Decrypt", "kms:GenerateDataKey"],
        }
    }

    /// The concrete KMS API actions the template's patterns cover: what must be allowed.
    pub const fn required_actions(self) -> &'static [&'static str] {
        match self {
            Grant::Ebs => &[
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
            ],
            Grant::S3Backup => &["kms:Decrypt", "kms:GenerateDataKey"],
        }
    }

    /// The AWS service that calls KMS for this grant.
    const fn via_service(self) -> &'static str {
        match self {
            Grant::Ebs => "ec2",
            Grant::S3Backup => "s3",
        }
    }

    /// The IAM principal in the service account that makes the calls.
    fn principal_arn(self, account: &str) -> String {
        match self {
            Grant::Ebs => format!("arn:aws:iam::{account}:role/tidb-cloud-node"),
            Grant::S3Backup => format!("arn:aws:iam::{account}:role/tidb-cloud-backup"),
        }
    }
}

// ------------------------------------------------------------------------------ template

fn account_or_placeholder(account: Option<&str>) -> &str {
    account.filter(|a| !a.is_empty()).unwrap_or(ACCOUNT_PLACEHOLDER)
}

/// The EBS statement, for a region or for any region.
pub fn ebs_statement(account: Option<&str>, region: &PolicyRegion) -> Value {
    let account = account_or_placeholder(account);
    let condition = match region {
        PolicyRegion::Region(r) => json!({
            "StringEquals": {
                "kms:CallerAccount": account,
                "kms:ViaService": format!("ec2.{r}.amazonaws.com"),
            }
        }),
        PolicyRegion::Any => json!({
            "StringEquals": { "kms:CallerAccount": account },
            "StringLike": { "kms:ViaService": "ec2.*.amazonaws.com" },
        }),
    };
    json!({
        "Sid": EBS_SID,
        "Effect": "Allow",
        "Principal": { "AWS": "*" },
        "Action": Grant::Ebs.template_actions(),
        "Resource": "*",
        "Condition": condition,
    })
}

/// The S3 backup statement.
pub fn s3_statement(account: Option<&str>) -> Value {
    let account = account_or_placeholder(account);
    json!({
        "Sid": S3_SID,
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
        "Action": Grant::S3Backup.template_actions(),
        "Resource": "*",
    })
}

fn grant_statement(grant: Grant, account: Option<&str>, region: &PolicyRegion) -> Value {
    match grant {
        Grant::Ebs => ebs_statement(account, region),
        Grant::S3Backup => s3_statement(account),
    }
}

/// The key policy of the user guide's Appendix, with the account and region filled in.
pub fn template(account: Option<&str>, region: &PolicyRegion) -> Value {
    json!({
        "Version": "2012-10-17",
        "Id": "cmek-policy",
        "Statement": [ebs_statement(account, region), s3_statement(account)],
    })
}

/// [`template`] as the text the console shows, copies and downloads.
pub fn template_text(account: Option<&str>, region: &PolicyRegion) -> String {
    pretty(&template(account, region))
}

/// A policy document for a key that also keeps the key's owner in control: the account root
/// may administer it (the AWS default key policy), plus the service's statements.
pub fn default_key_policy(owner_account: &str, account: Option<&str>, region: &PolicyRegion) -> Value {
    let mut doc = template(account, region);
    doc["Statement"].as_array_mut().expect("template has statements").insert(
        0,
        json!({
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{owner_account}:root") },
            "Action": "kms:*",
            "Resource": "*",
        }),
    );
    doc
}

/// Pretty JSON with a trailing newline.
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value always serialises");
    s.push('\n');
    s
}

// ------------------------------------------------------------------------------ findings

/// Which statement a finding is about: its position and Sid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRef {
    /// 0-based position in `Statement`.
    pub index: usize,
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) if !sid.is_empty() => write!(f, "statement \"{sid}\""),
            _ => write!(f, "statement #{}", self.index + 1),
        }
    }
}

/// One thing the access decision found. Blocking findings make the key unusable; the others
/// explain a near miss or warn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The key is not Enabled.
    KeyNotEnabled { state: KeyState },
    /// The document is not JSON; `line`/`column` are 1-based.
    NotJson { line: usize, column: usize, message: String, hint: Option<String> },
    /// JSON, but not a policy document.
    NotAPolicy { message: String },
    /// A statement that AWS would reject; it is ignored.
    InvalidStatement { statement: StatementRef, message: String },
    /// Actions of a required grant that no Allow statement gives.
    MissingActions { grant: Grant, actions: Vec<String> },
    /// A Deny statement that takes away actions the service needs.
    DenyBlocks { statement: StatementRef, grant: Grant, actions: Vec<String> },
    /// Near miss: `kms:CallerAccount` names another account.
    WrongCallerAccount { statement: StatementRef, found: Vec<String>, expected: String },
    /// Near miss: `kms:ViaService` names another region (or service).
    WrongViaService { statement: StatementRef, found: Vec<String>, expected: String },
    /// Near miss: a wildcard under an operator that compares literally.
    WildcardNeedsStringLike { statement: StatementRef, operator: String, key: String, value: String },
    /// Near miss: the principal is not the service account.
    WrongPrincipal { statement: StatementRef, found: Vec<String>, expected: String },
    /// Near miss: another condition the service's requests do not meet.
    ConditionNotMet { statement: StatementRef, operator: String, key: String, values: Vec<String> },
    /// A condition operator this checker does not know; the statement is treated conservatively.
    UnsupportedOperator { statement: StatementRef, operator: String },
    /// The service account is not known, so the account conditions could not be checked.
    AccountUnknown,
}

impl Finding {
    /// Whether this finding alone makes the key unusable by the service.
    pub fn is_blocking(&self) -> bool {
        matches!(
            self,
            Finding::KeyNotEnabled { .. }
                | Finding::NotJson { .. }
                | Finding::NotAPolicy { .. }
                | Finding::MissingActions { .. }
                | Finding::DenyBlocks { .. }
                | Finding::AccountUnknown
        )
    }

    /// A stable short name, for tests and styling.
    pub const fn kind(&self) -> &'static str {
        match self {
            Finding::KeyNotEnabled { .. } => "key_not_enabled",
            Finding::NotJson { .. } => "not_json",
            Finding::NotAPolicy { .. } => "not_a_policy",
            Finding::InvalidStatement { .. } => "invalid_statement",
            Finding::MissingActions { .. } => "missing_actions",
            Finding::DenyBlocks { .. } => "deny_blocks",
            Finding::WrongCallerAccount { .. } => "wrong_caller_account",
            Finding::WrongViaService { .. } => "wrong_via_service",
            Finding::WildcardNeedsStringLike { .. } => "wildcard_needs_string_like",
            Finding::WrongPrincipal { .. } => "wrong_principal",
            Finding::ConditionNotMet { .. } => "condition_not_met",
            Finding::UnsupportedOperator { .. } => "unsupported_operator",
            Finding::AccountUnknown => "account_unknown",
        }
    }
}

/// Concrete KMS actions said as the key policy writes them: the template's pattern that covers
/// each (`kms:ReEncrypt*` for `kms:ReEncryptFrom` and `kms:ReEncryptTo`), in template order.
pub fn in_policy_terms(grant: Grant, actions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = grant
        .template_actions()
        .iter()
        .filter(|p| actions.iter().any(|a| glob(p, a, true)))
        .map(|p| (*p).to_owned())
        .collect();
    // An action no pattern covers (not expected) is said as it is.
    out.extend(actions.iter().filter(|a| !grant.template_actions().iter().any(|p| glob(p, a, true))).cloned());
    out
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::KeyNotEnabled { state } => write!(
                f,
                "the key is {}: KMS refuses every use of a key that is not Enabled",
                state.as_str()
            ),
            Finding::NotJson { line, column, message, hint } => {
                write!(f, "the policy is not valid JSON (line {line}, column {column}): {message}")?;
                if let Some(h) = hint {
                    write!(f, "; {h}")?;
                }
                Ok(())
            }
            Finding::NotAPolicy { message } => write!(f, "not a key policy: {message}"),
            Finding::InvalidStatement { statement, message } => {
                write!(f, "{statement} is ignored: {message}")
            }
            Finding::MissingActions { grant, actions } => write!(
                f,
                "{}: no statement allows {} for the service; add the \"{}\" statement",
                grant.label(),
                in_policy_terms(*grant, actions).join(", "),
                grant.sid()
            ),
            Finding::DenyBlocks { statement, grant, actions } => write!(
                f,
                "{statement} denies {} that {} needs; an explicit Deny wins over every Allow, so remove or narrow it",
                actions.join(", "),
                grant.label()
            ),
            Finding::WrongCallerAccount { statement, found, expected } => write!(
                f,
                "{statement}: kms:CallerAccount is {} but the service's account is \"{expected}\"",
                list(found)
            ),
            Finding::WrongViaService { statement, found, expected } => write!(
                f,
                "{statement}: kms:ViaService is {} but the cluster's region needs \"{expected}\"",
                list(found)
            ),
            Finding::WildcardNeedsStringLike { statement, operator, key, value } => write!(
                f,
                "{statement}: {key} \"{value}\" has a wildcard under {operator}, which compares literally; put it under StringLike"
            ),
            Finding::WrongPrincipal { statement, found, expected } => write!(
                f,
                "{statement}: the principal is {} but the service calls as \"{expected}\"",
                list(found)
            ),
            Finding::ConditionNotMet { statement, operator, key, values } => write!(
                f,
                "{statement}: the condition {operator} {key} {} does not hold for the service's requests",
                list(values)
            ),
            Finding::UnsupportedOperator { statement, operator } => write!(
                f,
                "{statement}: condition operator \"{operator}\" is not understood here; an Allow with it is not counted, a Deny with it is counted as blocking"
            ),
            Finding::AccountUnknown => f.write_str(
                "the service account is not known, so kms:CallerAccount and the backup principal cannot be checked; ask support for the account",
            ),
        }
    }
}

// ------------------------------------------------------------------------------ decision

/// The outcome of checking a key for one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessDecision {
    pub findings: Vec<Finding>,
}

impl AccessDecision {
    /// The service may use the key: nothing blocks.
    pub fn is_usable(&self) -> bool {
        !self.findings.iter().any(Finding::is_blocking)
    }

    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_blocking())
    }

    /// The health state this decision amounts to.
    pub fn health_state(&self) -> KeyHealthState {
        for f in &self.findings {
            if let Finding::KeyNotEnabled { state } = f {
                return match state {
                    KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => KeyHealthState::PendingDeletion,
                    _ => KeyHealthState::KeyDisabled,
                };
            }
        }
        if self.is_usable() { KeyHealthState::Accessible } else { KeyHealthState::AccessDenied }
    }

    /// Every finding, in words, blocking ones first.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self.blocking().map(ToString::to_string).collect();
        out.extend(self.findings.iter().filter(|f| !f.is_blocking()).map(ToString::to_string));
        out
    }
}

/// What the service knows when it decides.
#[derive(Clone, Copy, Debug)]
pub struct AccessQuery<'a> {
    pub key_state: KeyState,
    /// The key's ARN (for `Resource` other than `*`).
    pub key_arn: &'a str,
    /// The service account; `None` when the server does not know it.
    pub service_account: Option<&'a str>,
    /// The region the cluster runs in.
    pub region: &'a str,
}

/// Whether the service may use the key for `region`, and if not, every reason.
pub fn decide(policy: &str, q: AccessQuery<'_>) -> AccessDecision {
    let mut findings = Vec::new();
    if q.key_state != KeyState::Enabled {
        findings.push(Finding::KeyNotEnabled { state: q.key_state });
    }
    let doc = match parse_policy(policy) {
        Ok(doc) => doc,
        Err(f) => {
            findings.push(f);
            return AccessDecision { findings };
        }
    };
    let Some(account) = q.service_account.filter(|a| !a.is_empty()) else {
        findings.extend(doc.invalid);
        findings.push(Finding::AccountUnknown);
        return AccessDecision { findings };
    };
    findings.extend(doc.invalid.iter().cloned());
    for grant in Grant::ALL {
        let ctx = RequestContext::new(grant, account, q.region, q.key_arn);
        let mut missing = Vec::new();
        let mut denied: Vec<(usize, Vec<String>)> = Vec::new();
        for action in grant.required_actions() {
            let mut allowed = false;
            let actx = ctx.with_action(action);
            for (i, st) in doc.statements.iter().enumerate() {
                match st.applies(action, &actx) {
                    Applies::Yes | Applies::Unknown if st.deny => match denied.iter_mut().find(|(j, _)| *j == i) {
                        Some((_, acts)) => acts.push((*action).to_owned()),
                        None => denied.push((i, vec![(*action).to_owned()])),
                    },
                    Applies::Yes if !st.deny => allowed = true,
                    _ => {}
                }
            }
            if !allowed {
                missing.push((*action).to_owned());
            }
        }
        for (i, actions) in denied {
            findings.push(Finding::DenyBlocks { statement: doc.statements[i].r.clone(), grant, actions });
        }
        if !missing.is_empty() {
            for st in doc.statements.iter().filter(|s| !s.deny) {
                findings.extend(st.explain(&missing, &ctx, grant));
            }
            findings.push(Finding::MissingActions { grant, actions: missing });
        }
    }
    for st in &doc.statements {
        for op in &st.unsupported_ops {
            findings.push(Finding::UnsupportedOperator { statement: st.r.clone(), operator: op.clone() });
        }
    }
    dedup(&mut findings);
    AccessDecision { findings }
}

fn dedup(findings: &mut Vec<Finding>) {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    *findings = out;
}

/// Structural check of a policy document, as KMS `PutKeyPolicy` makes it: every problem, in
/// words. An empty list means AWS would accept the document.
pub fn validate_document(policy: &str) -> Vec<String> {
    if policy.len() > MAX_POLICY_BYTES {
        return vec![format!("the policy is {} bytes; AWS KMS accepts at most {MAX_POLICY_BYTES}", policy.len())];
    }
    match parse_policy(policy) {
        Err(f) => vec![f.to_string()],
        Ok(doc) => {
            let mut out: Vec<String> = doc.invalid.iter().map(ToString::to_string).collect();
            for st in &doc.statements {
                for op in &st.unsupported_ops {
                    out.push(format!("{}: unknown condition operator \"{op}\"", st.r));
                }
            }
            out
        }
    }
}

// ------------------------------------------------------------------------------ merge

/// The policy with the missing statements added (or the guide's statements put right where a
/// statement with the guide's Sid exists but does not grant), keeping the customer's own.
/// Deny statements are left as written: only the customer can decide to drop them. A missing or
/// unknown `Version` becomes "2012-10-17" (conditions need it). Fails only when the text is not
/// a JSON object.
pub fn merge(policy: &str, q: AccessQuery<'_>, region: &PolicyRegion) -> Result<String, Finding> {
    let mut root = match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(Finding::NotAPolicy { message: "the document is not a JSON object".into() }),
        Err(e) => return Err(not_json(policy, &e)),
    };
    if !matches!(root.get("Version").and_then(Value::as_str), Some("2012-10-17" | "2008-10-17")) {
        root.insert("Version".into(), json!("2012-10-17"));
    }
    let statements = root.entry("Statement").or_insert_with(|| Value::Array(Vec::new()));
    if !statements.is_array() {
        let one = statements.take();
        *statements = Value::Array(if one.is_object() { vec![one] } else { Vec::new() });
    }
    let enabled = AccessQuery { key_state: KeyState::Enabled, ..q };
    // Putting one grant's statement right can take away what that statement gave the other
    // grant, so repeat until nothing is missing (two grants: at most a few rounds).
    for _ in 0..4 {
        let text = pretty(&Value::Object(root.clone()));
        let decision = decide(&text, enabled);
        let unknown_account = decision.findings.iter().any(|f| matches!(f, Finding::AccountUnknown));
        let empty = decision.findings.iter().any(|f| matches!(f, Finding::NotAPolicy { .. }));
        let missing: Vec<Grant> = Grant::ALL
            .into_iter()
            .filter(|g| {
                unknown_account
                    || empty
                    || decision
                        .findings
                        .iter()
                        .any(|f| matches!(f, Finding::MissingActions { grant, .. } if grant == g))
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        let list = root.get_mut("Statement").and_then(Value::as_array_mut).expect("made an array above");
        for grant in &missing {
            let fresh = grant_statement(*grant, q.service_account, region);
            match list.iter_mut().find(|s| s.get("Sid").and_then(Value::as_str) == Some(grant.sid())) {
                Some(existing) if *existing != fresh => *existing = fresh,
                Some(_) => {}
                None => list.push(fresh),
            }
        }
        if unknown_account {
            break;
        }
    }
    Ok(pretty(&Value::Object(root)))
}

// ------------------------------------------------------------------------------ parsing

struct Doc {
    statements: Vec<Statement>,
    invalid: Vec<Finding>,
}

fn not_json(text: &str, e: &serde_json::Error) -> Finding {
    let (line, column) = (e.line().max(1), e.column().max(1));
    let src_line = text.lines().nth(line - 1).unwrap_or("");
    let hint = if src_line.contains("...") {
        Some("remove the \"...\" placeholder line (and its // comment) and put your own statements there".to_owned())
    } else if src_line.contains("//") {
        Some("JSON has no comments: remove the // lines copied from the documentation".to_owned())
    } else if text.trim().is_empty() {
        Some("paste the key policy from the AWS KMS console (Key policy tab, Edit)".to_owned())
    } else {
        None
    };
    let message = e.to_string();
    // serde_json appends " at line L column C"; the finding carries them on its own.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    Finding::NotJson { line, column, message, hint }
}

fn parse_policy(text: &str) -> Result<Doc, Finding> {
    let v: Value = serde_json::from_str(text).map_err(|e| not_json(text, &e))?;
    let Value::Object(root) = v else {
        return Err(Finding::NotAPolicy { message: "the document is not a JSON object".into() });
    };
    let mut invalid = Vec::new();
    if let Some(version) = root.get("Version")
        && !matches!(version.as_str(), Some("2012-10-17") | Some("2008-10-17"))
    {
        return Err(Finding::NotAPolicy { message: format!("Version {version} is not \"2012-10-17\"") });
    }
    let raw: Vec<&Value> = match root.get("Statement") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(Value::Array(_)) => {
            return Err(Finding::NotAPolicy { message: "\"Statement\" is empty".into() });
        }
        Some(o @ Value::Object(_)) => vec![o],
        Some(_) => {
            return Err(Finding::NotAPolicy { message: "\"Statement\" must be an object or a list of objects".into() });
        }
        None => return Err(Finding::NotAPolicy { message: "there is no \"Statement\"".into() }),
    };
    let mut statements = Vec::new();
    for (index, s) in raw.into_iter().enumerate() {
        match Statement::parse(index, s) {
            Ok(st) => statements.push(st),
            Err(f) => invalid.push(f),
        }
    }
    Ok(Doc { statements, invalid })
}

/// A string or a list of strings (the JSON policy grammar allows both almost everywhere).
fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// A condition value: strings, and booleans/numbers as AWS stringifies them.
fn condition_values(v: &Value) -> Option<Vec<String>> {
    let one = |x: &Value| match x {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

#[derive(Debug)]
enum PrincipalSpec {
    Any,
    Aws(Vec<String>),
    /// Service or federated principals: never the service account's IAM roles.
    Other(Vec<String>),
}

#[derive(Debug)]
struct Cond {
    operator: String,
    base: String,
    negated: bool,
    if_exists: bool,
    for_all: bool,
    for_any: bool,
    key: String,
    values: Vec<String>,
}

#[derive(Debug)]
struct Statement {
    r: StatementRef,
    deny: bool,
    principal: PrincipalSpec,
    not_principal: bool,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditions: Vec<Cond>,
    unsupported_ops: Vec<String>,
}

const SUPPORTED_OPS: [&str; 12] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "Null",
];

impl Statement {
    fn parse(index: usize, v: &Value) -> Result<Statement, Finding> {
        let sid = v.get("Sid").and_then(Value::as_str).map(str::to_owned);
        let r = StatementRef { index, sid };
        let bad = |message: &str| Finding::InvalidStatement { statement: r.clone(), message: message.into() };
        let Value::Object(m) = v else { return Err(bad("a statement must be a JSON object")) };
        let deny = match m.get("Effect").and_then(Value::as_str) {
            Some("Allow") => false,
            Some("Deny") => true,
            Some(other) => {
                return Err(bad(&format!("Effect \"{other}\" must be \"Allow\" or \"Deny\" (case matters)")));
            }
            None => return Err(bad("it has no \"Effect\"")),
        };
        let (pv, not_principal) = match (m.get("Principal"), m.get("NotPrincipal")) {
            (Some(p), None) => (p, false),
            (None, Some(p)) => (p, true),
            (Some(_), Some(_)) => return Err(bad("it has both \"Principal\" and \"NotPrincipal\"")),
            (None, None) => return Err(bad("a key policy statement needs a \"Principal\"")),
        };
        let principal = match pv {
            Value::String(s) if s == "*" => PrincipalSpec::Any,
            Value::Object(pm) => {
                let mut aws = Vec::new();
                let mut other = Vec::new();
                for (k, val) in pm {
                    let vals = strings(val)
                        .ok_or_else(|| bad(&format!("Principal \"{k}\" must be a string or a list of strings")))?;
                    if k == "AWS" { aws.extend(vals) } else { other.extend(vals) }
                }
                if aws.iter().any(|a| a == "*") {
                    PrincipalSpec::Any
                } else if !aws.is_empty() {
                    PrincipalSpec::Aws(aws)
                } else {
                    PrincipalSpec::Other(other)
                }
            }
            _ => return Err(bad("\"Principal\" must be \"*\" or an object such as {\"AWS\": …}")),
        };
        let (actions, not_action) = match (m.get("Action"), m.get("NotAction")) {
            (Some(a), None) => {
                (strings(a).ok_or_else(|| bad("\"Action\" must be a string or a list of strings"))?, false)
            }
            (None, Some(a)) => {
                (strings(a).ok_or_else(|| bad("\"NotAction\" must be a string or a list of strings"))?, true)
            }
            (Some(_), Some(_)) => return Err(bad("it has both \"Action\" and \"NotAction\"")),
            (None, None) => return Err(bad("it has no \"Action\"")),
        };
        let (resources, not_resource) = match (m.get("Resource"), m.get("NotResource")) {
            (Some(a), None) => {
                (strings(a).ok_or_else(|| bad("\"Resource\" must be a string or a list of strings"))?, false)
            }
            (None, Some(a)) => {
                (strings(a).ok_or_else(|| bad("\"NotResource\" must be a string or a list of strings"))?, true)
            }
            (Some(_), Some(_)) => return Err(bad("it has both \"Resource\" and \"NotResource\"")),
            (None, None) => return Err(bad("it has no \"Resource\" (use \"*\" in a key policy)")),
        };
        let mut conditions = Vec::new();
        let mut unsupported_ops = Vec::new();
        if let Some(c) = m.get("Condition") {
            let Value::Object(cm) = c else { return Err(bad("\"Condition\" must be an object")) };
            for (op, block) in cm {
                let Value::Object(keys) = block else {
                    return Err(bad(&format!("condition \"{op}\" must map keys to values")));
                };
                let (for_all, for_any, rest) = if let Some(r) = op.strip_prefix("ForAllValues:") {
                    (true, false, r)
                } else if let Some(r) = op.strip_prefix("ForAnyValue:") {
                    (false, true, r)
                } else {
                    (false, false, op.as_str())
                };
                let (if_exists, base) = match rest.strip_suffix("IfExists") {
                    Some(b) if b != "Null" => (true, b),
                    _ => (false, rest),
                };
                if !SUPPORTED_OPS.contains(&base) {
                    unsupported_ops.push(op.clone());
                    continue;
                }
                for (key, val) in keys {
                    let values = condition_values(val)
                        .ok_or_else(|| bad(&format!("condition {op} {key} must be a string or a list of strings")))?;
                    conditions.push(Cond {
                        operator: op.clone(),
                        base: base.to_owned(),
                        negated: base.contains("Not"),
                        if_exists,
                        for_all,
                        for_any,
                        key: key.clone(),
                        values,
                    });
                }
            }
        }
        Ok(Statement {
            r,
            deny,
            principal,
            not_principal,
            actions,
            not_action,
            resources,
            not_resource,
            conditions,
            unsupported_ops,
        })
    }

    fn principal_matches(&self, ctx: &RequestContext) -> bool {
        let hit = match &self.principal {
            PrincipalSpec::Any => true,
            PrincipalSpec::Aws(list) => list.iter().any(|p| principal_entry_matches(p, ctx)),
            PrincipalSpec::Other(_) => false,
        };
        hit != self.not_principal
    }

    /// Whether every principal named is in `account` (or not an AWS principal at all).
    fn only_principals_of(&self, account: &str) -> bool {
        match &self.principal {
            PrincipalSpec::Any => false,
            PrincipalSpec::Other(_) => true,
            PrincipalSpec::Aws(list) => list.iter().all(|p| principal_account(p) == Some(account)),
        }
    }

    /// A statement for the key owner's own account: its principals, or an account condition
    /// (`kms:CallerAccount`, `aws:PrincipalAccount`) that names only the owner.
    fn is_owners(&self, owner: &str) -> bool {
        if self.only_principals_of(owner) {
            return true;
        }
        self.conditions.iter().any(|c| {
            let key = c.key.to_ascii_lowercase();
            (key == "kms:calleraccount" || key == "aws:principalaccount")
                && c.is_positive_match()
                && !c.values.is_empty()
                && c.values.iter().all(|v| v == owner)
        })
    }

    fn action_matches(&self, action: &str) -> bool {
        self.actions.iter().any(|p| glob(p, action, true)) != self.not_action
    }

    fn resource_matches(&self, ctx: &RequestContext) -> bool {
        self.resources.iter().any(|p| glob(p, &ctx.key_arn, false)) != self.not_resource
    }

    /// The conditions that do not hold (empty: all hold).
    fn failed_conditions<'s>(&'s self, ctx: &RequestContext) -> Vec<&'s Cond> {
        self.conditions.iter().filter(|c| !c.holds(ctx)).collect()
    }

    fn applies(&self, action: &str, ctx: &RequestContext) -> Applies {
        if !(self.action_matches(action) && self.principal_matches(ctx) && self.resource_matches(ctx)) {
            return Applies::No;
        }
        if !self.failed_conditions(ctx).is_empty() {
            return Applies::No;
        }
        if self.unsupported_ops.is_empty() { Applies::Yes } else { Applies::Unknown }
    }

    /// Why this Allow statement, which is about some of the missing actions, does not give them.
    fn explain(&self, missing: &[String], ctx: &RequestContext, grant: Grant) -> Vec<Finding> {
        let Some(action) = missing.iter().find(|a| self.action_matches(a)) else { return Vec::new() };
        if !self.resource_matches(ctx) {
            return Vec::new();
        }
        let ctx = &ctx.with_action(action);
        // A statement written for the other grant is not a near miss of this one.
        if self.r.sid.as_deref() == Some(other(grant).sid()) {
            return Vec::new();
        }
        // The key owner's own statements (admin access and the like) are not attempts to grant
        // the service; only statements for other accounts, or with the guide's Sid, are.
        let guide_sid = self.r.sid.as_deref() == Some(grant.sid());
        if !guide_sid && self.is_owners(&ctx.key_owner) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if !self.principal_matches(ctx) {
            let found = match &self.principal {
                PrincipalSpec::Aws(l) | PrincipalSpec::Other(l) => l.clone(),
                PrincipalSpec::Any => vec!["*".into()],
            };
            out.push(Finding::WrongPrincipal {
                statement: self.r.clone(),
                found,
                expected: format!("arn:aws:iam::{}:root", ctx.account),
            });
        }
        for c in self.failed_conditions(ctx) {
            let key = c.key.to_ascii_lowercase();
            let wildcard = c.values.iter().find(|v| v.contains('*') || v.contains('?'));
            let literal_op = matches!(c.base.as_str(), "StringEquals" | "StringEqualsIgnoreCase");
            let names_a_value = c.is_positive_match();
            if let (Some(w), true) = (wildcard, literal_op) {
                out.push(Finding::WildcardNeedsStringLike {
                    statement: self.r.clone(),
                    operator: c.operator.clone(),
                    key: c.key.clone(),
                    value: w.clone(),
                });
            } else if key == "kms:calleraccount" && names_a_value {
                out.push(Finding::WrongCallerAccount {
                    statement: self.r.clone(),
                    found: c.values.clone(),
                    expected: ctx.account.clone(),
                });
            } else if key == "kms:viaservice" && names_a_value {
                out.push(Finding::WrongViaService {
                    statement: self.r.clone(),
                    found: c.values.clone(),
                    expected: ctx.via_service.clone(),
                });
            } else {
                out.push(Finding::ConditionNotMet {
                    statement: self.r.clone(),
                    operator: c.operator.clone(),
                    key: c.key.clone(),
                    values: c.values.clone(),
                });
            }
        }
        out
    }
}

fn other(grant: Grant) -> Grant {
    match grant {
        Grant::Ebs => Grant::S3Backup,
        Grant::S3Backup => Grant::Ebs,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Applies {
    Yes,
    No,
    /// An unsupported operator: cannot tell.
    Unknown,
}

/// The account of an AWS principal: a 12-digit id or an IAM ARN.
fn principal_account(p: &str) -> Option<&str> {
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p);
    }
    match p.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "iam", "", account, _] => Some(account),
        _ => None,
    }
}

fn principal_entry_matches(p: &str, ctx: &RequestContext) -> bool {
    if p == "*" {
        return true;
    }
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return p == ctx.account;
    }
    // arn:<partition>:iam::<account>:<resource>
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, "root"] => *account == ctx.account,
        // AWS allows no wildcards in a principal ARN: it names one principal exactly.
        ["arn", _, "iam", "", _, _] => p == ctx.principal_arn,
        _ => false,
    }
}

/// The request context of one call the service makes to KMS.
struct RequestContext {
    account: String,
    /// The account that owns the key (from its ARN).
    key_owner: String,
    principal_arn: String,
    via_service: String,
    key_arn: String,
    grant: Grant,
    /// The API action of this call (`kms:CreateGrant`, …).
    action: String,
}

impl RequestContext {
    fn new(grant: Grant, account: &str, region: &str, key_arn: &str) -> Self {
        Self {
            account: account.to_owned(),
            key_owner: key_arn.split(':').nth(4).unwrap_or_default().to_owned(),
            principal_arn: grant.principal_arn(account),
            via_service: format!("{}.{region}.amazonaws.com", grant.via_service()),
            key_arn: key_arn.to_owned(),
            grant,
            action: String::new(),
        }
    }

    /// The same caller making `action`.
    fn with_action(&self, action: &str) -> Self {
        Self {
            account: self.account.clone(),
            key_owner: self.key_owner.clone(),
            principal_arn: self.principal_arn.clone(),
            via_service: self.via_service.clone(),
            key_arn: self.key_arn.clone(),
            grant: self.grant,
            action: action.to_owned(),
        }
    }

    /// Context keys are case-insensitive in AWS.
    fn value(&self, key: &str) -> Option<String> {
        match key.to_ascii_lowercase().as_str() {
            "kms:calleraccount" | "aws:principalaccount" => Some(self.account.clone()),
            "kms:viaservice" => Some(self.via_service.clone()),
            "aws:principalarn" => Some(self.principal_arn.clone()),
            // Set by KMS only on grant operations; EBS makes its grants for an AWS resource.
            "kms:grantisforawsresource" => {
                let grant_op = ["kms:creategrant", "kms:listgrants", "kms:revokegrant"]
                    .contains(&self.action.to_ascii_lowercase().as_str());
                grant_op.then(|| (self.grant == Grant::Ebs).to_string())
            }
            "aws:securetransport" => Some("true".into()),
            _ => None,
        }
    }
}

impl Cond {
    /// An operator that holds when the key has one of the values (not negated, not Null).
    fn is_positive_match(&self) -> bool {
        !self.negated && self.base != "Null" && self.base != "Bool"
    }

    fn holds(&self, ctx: &RequestContext) -> bool {
        let actual = ctx.value(&self.key);
        if self.base == "Null" {
            let want_absent = self.values.iter().any(|v| v == "true");
            return actual.is_none() == want_absent;
        }
        let Some(actual) = actual else {
            // AWS, for a key the request does not carry: ForAnyValue never holds, ForAllValues
            // and IfExists always hold; otherwise positive operators fail and negated ones hold.
            if self.for_any {
                return false;
            }
            return self.if_exists || self.for_all || self.negated;
        };
        let one = |want: &str| match self.base.as_str() {
            "StringEquals" | "StringNotEquals" => want == actual,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => want.eq_ignore_ascii_case(&actual),
            // ArnEquals behaves as ArnLike in AWS: wildcards are allowed in each part.
            "StringLike" | "StringNotLike" | "ArnLike" | "ArnNotLike" | "ArnEquals" | "ArnNotEquals" => {
                glob(want, &actual, false)
            }
            "Bool" => want.eq_ignore_ascii_case(&actual),
            _ => false,
        };
        let any = self.values.iter().any(|v| one(v));
        if self.negated { !any } else { any }
    }
}

/// `*` matches any run of characters, `?` one; everything else literally.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let norm =
        |s: &str| -> Vec<char> { if ignore_case { s.to_lowercase().chars().collect() } else { s.chars().collect() } };
    let (p, t) = (norm(pattern), norm(text));
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The statements as a JSON array value (used by the console to show one statement).
pub fn statements_of(grants: &[Grant], account: Option<&str>, region: &PolicyRegion) -> Value {
    Value::Array(grants.iter().map(|g| grant_statement(*g, account, region)).collect())
}

/// Removes the service's statements (by the guide's Sids): what "revoke" means in the policy.
pub fn without_service_statements(policy: &str) -> Result<String, Finding> {
    let mut root: Map<String, Value> = match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(Finding::NotAPolicy { message: "the document is not a JSON object".into() }),
        Err(e) => return Err(not_json(policy, &e)),
    };
    let is_service = |s: &Value| {
        let sid = s.get("Sid").and_then(Value::as_str);
        sid == Some(EBS_SID) || sid == Some(S3_SID)
    };
    match root.get_mut("Statement") {
        Some(Value::Array(list)) => list.retain(|s| !is_service(s)),
        Some(one @ Value::Object(_)) if is_service(one) => *one = Value::Array(Vec::new()),
        _ => {}
    }
    Ok(pretty(&Value::Object(root)))
}
