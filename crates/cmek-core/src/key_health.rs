//! Key health before any check: what a configured key's health says until KMS has been asked.

use crate::api::AwsCmekSpec;
use crate::ext::KeyHealth;
use crate::kms::KeyHealthState;

impl KeyHealth {
    /// A configured key not checked yet: UNKNOWN, nothing known of it in KMS but what its ARN
    /// says (an `mrk-` key id is a multi-Region key).
    pub fn unchecked(project_id: String, spec: &AwsCmekSpec) -> Self {
        Self {
            project_id,
            region: spec.region.clone(),
            kms_arn: spec.kms_arn.clone(),
            state: KeyHealthState::Unknown,
            key_state: None,
            checked_at: None,
            last_ok_at: None,
            causes: Vec::new(),
            rotation: None,
            multi_region: spec.kms_arn.contains(":key/mrk-"),
            deletion_date: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchecked_key_is_unknown_and_multi_region_by_its_id() {
        let spec = AwsCmekSpec {
            region: "us-west-2".into(),
            kms_arn: "arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab".into(),
        };
        let h = KeyHealth::unchecked("1".into(), &spec);
        assert_eq!((h.state, h.multi_region, h.checked_at), (KeyHealthState::Unknown, true, None));
        let single = AwsCmekSpec { kms_arn: spec.kms_arn.replace("mrk-", ""), ..spec };
        assert!(!KeyHealth::unchecked("1".into(), &single).multi_region);
    }
}
