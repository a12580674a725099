//! AWS region codes and the partition each belongs to.

use std::fmt;

/// An AWS partition: the first component after `arn:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
    AwsIso,
    AwsIsoB,
}

impl Partition {
    pub const ALL: [Partition; 5] =
        [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov, Partition::AwsIso, Partition::AwsIsoB];

    pub const fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The partition a region code belongs to.
    pub fn of_region(region: &str) -> Self {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if region.starts_with("us-isob-") {
            Partition::AwsIsoB
        } else if region.starts_with("us-iso-") {
            Partition::AwsIso
        } else {
            Partition::Aws
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `s` has the shape of an AWS region code: `<area>[-gov|-iso|-isob]-<direction>-<n>`,
/// lowercase, e.g. `us-west-2`, `ap-southeast-1`, `us-gov-west-1`, `eu-central-2`.
pub fn is_aws_region_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (area, middle, number) = match parts.as_slice() {
        [area, rest @ .., number] if !rest.is_empty() => (area, rest, number),
        _ => return false,
    };
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let area_ok = area.len() == 2 && lower(area);
    let middle_ok = match middle {
        [dir] => lower(dir),
        [qualifier, dir] => matches!(*qualifier, "gov" | "iso" | "isob") && lower(dir),
        _ => false,
    };
    let number_ok = !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    area_ok && middle_ok && number_ok
}

/// Where a cloud region is, as its provider names it, for the regions TiDB Cloud offers (AWS and
/// Google Cloud). `None` for a code not in the table: it is then shown as the code alone.
pub fn place(code: &str) -> Option<&'static str> {
    Some(match code {
        // AWS
        "us-east-1" => "N. Virginia",
        "us-east-2" => "Ohio",
        "us-west-1" => "N. California",
        "us-west-2" => "Oregon",
        "ca-central-1" => "Canada Central",
        "sa-east-1" => "São Paulo",
        "eu-central-1" => "Frankfurt",
        "eu-central-2" => "Zurich",
        "eu-west-1" => "Ireland",
        "eu-west-2" => "London",
        "eu-west-3" => "Paris",
        "eu-north-1" => "Stockholm",
        "eu-south-1" => "Milan",
        "ap-northeast-1" => "Tokyo",
        "ap-northeast-2" => "Seoul",
        "ap-northeast-3" => "Osaka",
        "ap-southeast-1" => "Singapore",
        "ap-southeast-2" => "Sydney",
        "ap-southeast-3" => "Jakarta",
        "ap-south-1" => "Mumbai",
        "ap-east-1" => "Hong Kong",
        "me-south-1" => "Bahrain",
        "af-south-1" => "Cape Town",
        // Google Cloud
        "us-central1" => "Iowa",
        "us-east1" => "South Carolina",
        "us-east4" => "N. Virginia",
        "us-west1" => "Oregon",
        "europe-west1" => "Belgium",
        "europe-west3" => "Frankfurt",
        "asia-northeast1" => "Tokyo",
        "asia-southeast1" => "Singapore",
        "asia-south1" => "Mumbai",
        _ => return None,
    })
}

/// A region as people read it: the place with the code the APIs use, e.g. `Oregon (us-west-2)`;
/// the code alone when the place is not known.
pub fn label(code: &str) -> String {
    match place(code) {
        Some(place) => format!("{place} ({code})"),
        None => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes() {
        for ok in [
            "us-west-2",
            "ap-southeast-1",
            "us-gov-west-1",
            "cn-north-1",
            "eu-central-2",
            "il-central-1",
            "us-isob-east-1",
        ] {
            assert!(is_aws_region_code(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-west",
            "US-WEST-2",
            "us-west-02",
            "us-west-2a",
            "us_west_2",
            "uswest-2",
            "us-foo-west-2",
            "us-west-2 ",
            "us-central1",
            "-west-2",
        ] {
            assert!(!is_aws_region_code(bad), "{bad}");
        }
    }

    #[test]
    fn labels_keep_the_code() {
        assert_eq!(label("us-west-2"), "Oregon (us-west-2)");
        assert_eq!(label("asia-northeast1"), "Tokyo (asia-northeast1)");
        // Unknown codes are shown as they are, never dropped or guessed.
        assert_eq!(label("xx-moon-1"), "xx-moon-1");
    }

    #[test]
    fn partitions() {
        assert_eq!(Partition::of_region("us-west-2"), Partition::Aws);
        assert_eq!(Partition::of_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::of_region("us-gov-east-1"), Partition::AwsUsGov);
        assert_eq!(Partition::parse("aws-us-gov"), Some(Partition::AwsUsGov));
        assert_eq!(Partition::parse("azure"), None);
    }
}
