//! The project-level CMEK rules of the user guide: CMEK is chosen when the project is created,
//! the key is AWS KMS, one AWS region per project, and the key ARN must fit the region.

use crate::api::{AwsCmekSpec, CreateAwsCmekReq};
use crate::arn::{ArnError, KmsKeyArn};
use crate::error::{ErrorCode, FieldError, RuleError};
use crate::region::is_aws_region_code;

/// What an accepted aws-cmek POST does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Configure {
    /// Record this key for the project.
    Add(AwsCmekSpec),
    /// The same key for the same region is configured already: nothing changes (idempotent).
    Unchanged(AwsCmekSpec),
}

/// Checks one `{region, kms_arn}` against the ARN and region rules. `regions` are the AWS
/// regions the service offers (from the provider catalog).
pub fn check_spec(index: usize, spec: &AwsCmekSpec, regions: &[&str]) -> Vec<(ErrorCode, FieldError)> {
    let mut out = Vec::new();
    let region_field = format!("specs[{index}].region");
    let arn_field = format!("specs[{index}].kms_arn");
    let region_ok = if !is_aws_region_code(&spec.region) {
        out.push((
            ErrorCode::ValidationFailed,
            FieldError::new(&region_field, format!("\"{}\" is not an AWS region code such as us-west-2", spec.region)),
        ));
        false
    } else if !regions.is_empty() && !regions.contains(&spec.region.as_str()) {
        out.push((
            ErrorCode::ValidationFailed,
            FieldError::new(
                &region_field,
                format!(
                    "\"{}\" is not a region where Dedicated clusters run on AWS; choose one of {}",
                    spec.region,
                    regions.join(", ")
                ),
            ),
        ));
        false
    } else {
        true
    };
    match KmsKeyArn::parse(&spec.kms_arn) {
        Err(e) => out.push((ErrorCode::KmsArnInvalid, FieldError::new(&arn_field, e.to_string()))),
        Ok(arn) => {
            if region_ok && let Err(m) = arn.check_region(&spec.region) {
                out.push((ErrorCode::KmsArnRegionMismatch, FieldError::new(&arn_field, m.to_string())));
            }
        }
    }
    out
}

/// The ARN-only check, for a form field that has no region yet.
pub fn parse_arn(s: &str) -> Result<KmsKeyArn, ArnError> {
    KmsKeyArn::parse(s)
}

/// The aws-cmek POST rules. `existing` is what the project has configured.
pub fn check_configure(
    aws_cmek_enabled: bool,
    existing: &[AwsCmekSpec],
    req: &CreateAwsCmekReq,
    regions: &[&str],
) -> Result<Configure, RuleError> {
    if !aws_cmek_enabled {
        return Err(RuleError::new(
            ErrorCode::CmekNotEnabled,
            "this project was created without aws_cmek_enabled, and CMEK can only be chosen when a project is created: create a new project with aws_cmek_enabled set to true",
        ));
    }
    let Some(first) = req.specs.first() else {
        return Err(RuleError::fields(
            ErrorCode::ValidationFailed,
            vec![FieldError::new("specs", "is empty; give one {region, kms_arn} for the project's region")],
        ));
    };
    let mut errors: Vec<(ErrorCode, FieldError)> = Vec::new();
    for (i, spec) in req.specs.iter().enumerate() {
        errors.extend(check_spec(i, spec, regions));
    }
    if let Some((code, _)) = errors.first() {
        let code = *code;
        return Err(RuleError::fields(code, errors.into_iter().map(|(_, f)| f).collect()));
    }
    if let Some((i, other)) = req.specs.iter().enumerate().find(|(_, s)| s.region != first.region) {
        return Err(RuleError::fields(
            ErrorCode::CmekRegionLocked,
            vec![FieldError::new(
                format!("specs[{i}].region"),
                format!(
                    "\"{}\" differs from \"{}\": CMEK is configured for one AWS region per project",
                    other.region, first.region
                ),
            )],
        ));
    }
    if let Some((i, other)) = req.specs.iter().enumerate().find(|(_, s)| s.kms_arn != first.kms_arn) {
        return Err(RuleError::fields(
            ErrorCode::ValidationFailed,
            vec![FieldError::new(
                format!("specs[{i}].kms_arn"),
                format!("a second key for {} (\"{}\"); a region has one key", other.region, other.kms_arn),
            )],
        ));
    }
    match existing.first() {
        None => Ok(Configure::Add(first.clone())),
        Some(have) if have.region != first.region => Err(RuleError::fields(
            ErrorCode::CmekRegionLocked,
            vec![FieldError::new(
                "specs[0].region",
                format!(
                    "\"{}\" is refused: this project's key is in {}, and a project encrypts in one AWS region only; create another CMEK project for {}",
                    first.region, have.region, first.region
                ),
            )],
        )),
        Some(have) if have.kms_arn != first.kms_arn => Err(RuleError::fields(
            ErrorCode::CmekKeyAlreadyConfigured,
            vec![FieldError::new(
                "specs[0].kms_arn",
                format!(
                    "the key for {} is already configured ({}) and cannot be replaced; to change key material, rotate the key in AWS KMS: nothing changes here",
                    have.region, have.kms_arn
                ),
            )],
        )),
        Some(have) => Ok(Configure::Unchanged(have.clone())),
    }
}

/// Project names: not blank, at most 64 characters, no control characters.
pub fn check_project_name(name: &str) -> Result<(), FieldError> {
    let n = name.chars().count();
    let err = |m: String| Err(FieldError::new("name", m));
    if name.trim().is_empty() {
        return err("is required: a project name has 1–64 characters".into());
    }
    if n > 64 {
        return err(format!("has {n} characters; a project name has at most 64"));
    }
    if name.trim() != name {
        return err(format!("\"{name}\" starts or ends with spaces; remove them"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return err(format!("contains the control character {c:?}"));
    }
    if let Some((c, at, what)) = crate::text::hidden_character(name) {
        return err(crate::text::hidden_character_message(c, at, what));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN_W2: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const ARN_E1: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const REGIONS: &[&str] = &["us-west-2", "us-east-1"];

    fn spec(region: &str, arn: &str) -> AwsCmekSpec {
        AwsCmekSpec { region: region.into(), kms_arn: arn.into() }
    }

    fn req(specs: Vec<AwsCmekSpec>) -> CreateAwsCmekReq {
        CreateAwsCmekReq { specs }
    }

    fn code(r: Result<Configure, RuleError>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn needs_a_cmek_project() {
        let e = check_configure(false, &[], &req(vec![spec("us-west-2", ARN_W2)]), REGIONS).unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekNotEnabled);
        assert!(e.message.contains("only be chosen when a project is created"));
    }

    #[test]
    fn first_key_is_added_and_the_same_again_changes_nothing() {
        let s = spec("us-west-2", ARN_W2);
        assert_eq!(check_configure(true, &[], &req(vec![s.clone()]), REGIONS), Ok(Configure::Add(s.clone())));
        assert_eq!(
            check_configure(true, std::slice::from_ref(&s), &req(vec![s.clone()]), REGIONS),
            Ok(Configure::Unchanged(s.clone()))
        );
        assert_eq!(check_configure(true, &[], &req(vec![s.clone(), s.clone()]), REGIONS), Ok(Configure::Add(s)));
    }

    #[test]
    fn one_region_per_project() {
        let have = [spec("us-west-2", ARN_W2)];
        let e = check_configure(true, &have, &req(vec![spec("us-east-1", ARN_E1)]), REGIONS).unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekRegionLocked);
        assert!(e.message.contains("us-west-2") && e.message.contains("us-east-1"));
        assert_eq!(
            code(check_configure(true, &[], &req(vec![spec("us-west-2", ARN_W2), spec("us-east-1", ARN_E1)]), REGIONS)),
            ErrorCode::CmekRegionLocked
        );
    }

    #[test]
    fn a_configured_key_is_not_replaced() {
        let other = ARN_W2.replace("1234abcd-", "99999999-");
        let e = check_configure(true, &[spec("us-west-2", ARN_W2)], &req(vec![spec("us-west-2", &other)]), REGIONS)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekKeyAlreadyConfigured);
        assert!(e.message.contains("rotate"));
    }

    #[test]
    fn arn_and_region_rules() {
        assert_eq!(code(check_configure(true, &[], &req(vec![]), REGIONS)), ErrorCode::ValidationFailed);
        assert_eq!(
            code(check_configure(true, &[], &req(vec![spec("us-west-2", "arn:aws:kms:example")]), REGIONS)),
            ErrorCode::KmsArnInvalid
        );
        let e = check_configure(true, &[], &req(vec![spec("us-west-2", ARN_E1)]), REGIONS).unwrap_err();
        assert_eq!(e.code, ErrorCode::KmsArnRegionMismatch);
        assert_eq!(e.fields[0].field, "specs[0].kms_arn");
        let e = check_configure(true, &[], &req(vec![spec("mars", ARN_W2)]), REGIONS).unwrap_err();
        assert_eq!(e.fields[0].field, "specs[0].region");
        let e = check_configure(
            true,
            &[],
            &req(vec![spec("eu-west-3", &ARN_W2.replace("us-west-2", "eu-west-3"))]),
            REGIONS,
        )
        .unwrap_err();
        assert!(e.message.contains("choose one of us-west-2, us-east-1"), "{}", e.message);
    }

    #[test]
    fn project_names() {
        assert!(check_project_name("Project0").is_ok());
        assert!(check_project_name("<img src=x onerror=alert(1)>").is_ok());
        assert!(check_project_name("").is_err());
        assert!(check_project_name("   ").is_err());
        assert!(check_project_name(" a").is_err());
        assert!(check_project_name(&"x".repeat(65)).is_err());
        assert!(check_project_name("a\u{7}b").is_err());
        let e = check_project_name("rtl\u{202e}gnp.exe").unwrap_err();
        assert!(e.message.contains("U+202E") && e.message.contains("character 4"), "{}", e.message);
        assert!(check_project_name("a\u{200b}b").is_err());
    }
}
