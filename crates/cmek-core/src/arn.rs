//! AWS KMS key ARNs: `arn:<partition>:kms:<region>:<12-digit account>:key/<key id>`.
//!
//! The console checks the field as the person types and the server checks the request, with
//! this one parser, so both say the same thing.

use crate::region::{Partition, is_aws_region_code};
use std::fmt;

/// A parsed KMS key ARN.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KmsKeyArn {
    pub partition: Partition,
    pub region: String,
    pub account: String,
    /// A UUID, or `mrk-` and 32 hex digits for a multi-Region key.
    pub key_id: String,
}

/// Why a string is not a usable KMS key ARN. Each variant is one message in the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnError {
    Empty,
    Whitespace,
    NotAnArn { value: String },
    WrongShape { value: String },
    UnknownPartition { partition: String },
    NotKms { service: String },
    MissingRegion,
    InvalidRegion { region: String },
    PartitionRegionMismatch { partition: Partition, region: String },
    InvalidAccount { account: String },
    AliasNotAllowed { alias: String },
    NotAKey { resource: String },
    InvalidKeyId { key_id: String },
}

impl ArnError {
    /// A stable short name, for tests and for grouping messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            ArnError::Empty => "empty",
            ArnError::Whitespace => "whitespace",
            ArnError::NotAnArn { .. } => "not_an_arn",
            ArnError::WrongShape { .. } => "wrong_shape",
            ArnError::UnknownPartition { .. } => "partition",
            ArnError::NotKms { .. } => "service",
            ArnError::MissingRegion => "missing_region",
            ArnError::InvalidRegion { .. } => "region",
            ArnError::PartitionRegionMismatch { .. } => "partition_region",
            ArnError::InvalidAccount { .. } => "account",
            ArnError::AliasNotAllowed { .. } => "alias",
            ArnError::NotAKey { .. } => "resource",
            ArnError::InvalidKeyId { .. } => "key_id",
        }
    }
}

const EXAMPLE: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArnError::Empty => write!(f, "enter the key ARN from AWS KMS, e.g. {EXAMPLE}"),
            ArnError::Whitespace => f.write_str("the ARN contains spaces or line breaks; remove them"),
            ArnError::NotAnArn { value } => {
                write!(f, "\"{value}\" is not an ARN: a KMS key ARN starts with \"arn:\", e.g. {EXAMPLE}")
            }
            ArnError::WrongShape { value } => write!(
                f,
                "\"{value}\" is not a complete KMS key ARN: expected arn:<partition>:kms:<region>:<account>:key/<key id>"
            ),
            ArnError::UnknownPartition { partition } => write!(
                f,
                "partition \"{partition}\" is not an AWS partition (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b)"
            ),
            ArnError::NotKms { service } => {
                write!(f, "the ARN is for the \"{service}\" service; a customer-managed key is a \"kms\" ARN")
            }
            ArnError::MissingRegion => f.write_str("the ARN has no region; a KMS key ARN names the region of the key"),
            ArnError::InvalidRegion { region } => {
                write!(f, "\"{region}\" is not an AWS region code such as us-west-2")
            }
            ArnError::PartitionRegionMismatch { partition, region } => write!(
                f,
                "region {region} is not in partition {partition}; its partition is {}",
                Partition::of_region(region)
            ),
            ArnError::InvalidAccount { account } => {
                write!(f, "account \"{account}\" must be a 12-digit AWS account id")
            }
            ArnError::AliasNotAllowed { alias } => write!(
                f,
                "\"{alias}\" is an alias, which can later point at another key; give the key ARN (…:key/<key id>) the alias points to"
            ),
            ArnError::NotAKey { resource } => {
                write!(f, "\"{resource}\" is not a key: the ARN must end in key/<key id>")
            }
            ArnError::InvalidKeyId { key_id } => write!(
                f,
                "key id \"{key_id}\" must be a UUID in lowercase hex (1234abcd-12ab-34cd-56ef-1234567890ab) or mrk- and 32 hex digits for a multi-Region key"
            ),
        }
    }
}

impl std::error::Error for ArnError {}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_key_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && is_lower_hex(g))
}

/// Whether `s` is a KMS key id: a UUID, or a multi-Region `mrk-` id.
pub fn is_key_id(s: &str) -> bool {
    match s.strip_prefix("mrk-") {
        Some(hex) => hex.len() == 32 && is_lower_hex(hex),
        None => is_key_uuid(s),
    }
}

impl KmsKeyArn {
    /// Parses a KMS key ARN, naming the first thing that is wrong.
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        if s.is_empty() {
            return Err(ArnError::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(ArnError::Whitespace);
        }
        if !s.starts_with("arn:") {
            return Err(ArnError::NotAnArn { value: s.to_owned() });
        }
        // arn:partition:service:region:account:resource (the resource may hold more colons).
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(ArnError::WrongShape { value: s.to_owned() });
        };
        let partition = Partition::parse(partition)
            .ok_or_else(|| ArnError::UnknownPartition { partition: (*partition).to_owned() })?;
        if *service != "kms" {
            return Err(ArnError::NotKms { service: (*service).to_owned() });
        }
        if region.is_empty() {
            return Err(ArnError::MissingRegion);
        }
        if !is_aws_region_code(region) {
            return Err(ArnError::InvalidRegion { region: (*region).to_owned() });
        }
        if Partition::of_region(region) != partition {
            return Err(ArnError::PartitionRegionMismatch { partition, region: (*region).to_owned() });
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ArnError::InvalidAccount { account: (*account).to_owned() });
        }
        if resource.starts_with("alias/") {
            return Err(ArnError::AliasNotAllowed { alias: s.to_owned() });
        }
        let Some(key_id) = resource.strip_prefix("key/") else {
            return Err(ArnError::NotAKey { resource: (*resource).to_owned() });
        };
        if !is_key_id(key_id) {
            return Err(ArnError::InvalidKeyId { key_id: key_id.to_owned() });
        }
        Ok(Self { partition, region: (*region).to_owned(), account: (*account).to_owned(), key_id: key_id.to_owned() })
    }

    /// Multi-Region keys have `mrk-` ids.
    pub fn is_multi_region(&self) -> bool {
        self.key_id.starts_with("mrk-")
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:kms:{}:{}:key/{}", self.partition, self.region, self.account, self.key_id)
    }
}

/// The ARN's region differs from the region the key is configured for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArnRegionMismatch {
    pub arn_region: String,
    pub region: String,
}

impl fmt::Display for ArnRegionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the key is in {}, but the region chosen is {}: a KMS key can only be used in its own region (create the key in {} or choose {})",
            self.arn_region, self.region, self.region, self.arn_region
        )
    }
}

impl KmsKeyArn {
    /// The key must live in the region it will encrypt for.
    pub fn check_region(&self, region: &str) -> Result<(), ArnRegionMismatch> {
        if self.region == region {
            Ok(())
        } else {
            Err(ArnRegionMismatch { arn_region: self.region.clone(), region: region.to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn kind(s: &str) -> &'static str {
        KmsKeyArn::parse(s).unwrap_err().kind()
    }

    #[test]
    fn parses_key_and_multi_region_arns() {
        let a = KmsKeyArn::parse(&format!("arn:aws:kms:us-west-2:111122223333:key/{UUID}")).unwrap();
        assert_eq!(a.region, "us-west-2");
        assert_eq!(a.account, "111122223333");
        assert!(!a.is_multi_region());
        assert_eq!(a.to_string(), format!("arn:aws:kms:us-west-2:111122223333:key/{UUID}"));
        let m =
            KmsKeyArn::parse("arn:aws:kms:eu-central-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab").unwrap();
        assert!(m.is_multi_region());
        let gov = KmsKeyArn::parse(&format!("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/{UUID}"));
        assert_eq!(gov.unwrap().partition, Partition::AwsUsGov);
    }

    #[test]
    fn every_mistake_has_its_own_message() {
        assert_eq!(kind(""), "empty");
        assert_eq!(kind(" arn:aws:kms"), "whitespace");
        assert_eq!(kind("arn:aws:kms:example"), "wrong_shape");
        assert_eq!(kind(UUID), "not_an_arn");
        assert_eq!(kind(&format!("arn:azure:kms:us-west-2:111122223333:key/{UUID}")), "partition");
        assert_eq!(kind(&format!("arn:aws:s3:us-west-2:111122223333:key/{UUID}")), "service");
        assert_eq!(kind(&format!("arn:aws:kms::111122223333:key/{UUID}")), "missing_region");
        assert_eq!(kind(&format!("arn:aws:kms:us-west:111122223333:key/{UUID}")), "region");
        assert_eq!(kind(&format!("arn:aws:kms:cn-north-1:111122223333:key/{UUID}")), "partition_region");
        assert_eq!(kind(&format!("arn:aws:kms:us-west-2:1111:key/{UUID}")), "account");
        assert_eq!(kind(&format!("arn:aws:kms:us-west-2:11112222333a:key/{UUID}")), "account");
        assert_eq!(kind("arn:aws:kms:us-west-2:111122223333:alias/my-key"), "alias");
        assert_eq!(kind(&format!("arn:aws:kms:us-west-2:111122223333:grant/{UUID}")), "resource");
        assert_eq!(kind("arn:aws:kms:us-west-2:111122223333:key/not-a-uuid"), "key_id");
        assert_eq!(kind(&format!("arn:aws:kms:us-west-2:111122223333:key/{}", UUID.to_uppercase())), "key_id");
        assert_eq!(kind("arn:aws:kms:us-west-2:111122223333:key/mrk-123"), "key_id");
    }

    #[test]
    fn messages_name_the_value() {
        let e = KmsKeyArn::parse("arn:aws:kms:us-west-2:1234:key/x").unwrap_err();
        assert!(e.to_string().contains("\"1234\""), "{e}");
        let e = KmsKeyArn::parse("arn:aws:kms:us-west-2:111122223333:alias/prod").unwrap_err();
        assert!(e.to_string().contains("alias/prod"), "{e}");
    }

    #[test]
    fn region_must_match() {
        let a = KmsKeyArn::parse(&format!("arn:aws:kms:us-east-1:111122223333:key/{UUID}")).unwrap();
        assert!(a.check_region("us-east-1").is_ok());
        let e = a.check_region("us-west-2").unwrap_err();
        assert!(e.to_string().contains("us-east-1") && e.to_string().contains("us-west-2"));
    }
}
