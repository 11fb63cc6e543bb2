//! AWS identifiers a tenant gives us: account id, region, IAM role name and ARN.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::names::{NameError, string_newtype};

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AwsAccountId(String);
string_newtype!(AwsAccountId);

impl AwsAccountId {
    /// Parses a 12-digit account id.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError("must be exactly 12 digits"))
        }
    }
}

/// Every AWS region byoc accepts, with its partition.
const REGIONS: &[(&str, &str)] = &[
    ("af-south-1", "aws"),
    ("ap-east-1", "aws"),
    ("ap-east-2", "aws"),
    ("ap-northeast-1", "aws"),
    ("ap-northeast-2", "aws"),
    ("ap-northeast-3", "aws"),
    ("ap-south-1", "aws"),
    ("ap-south-2", "aws"),
    ("ap-southeast-1", "aws"),
    ("ap-southeast-2", "aws"),
    ("ap-southeast-3", "aws"),
    ("ap-southeast-4", "aws"),
    ("ap-southeast-5", "aws"),
    ("ap-southeast-6", "aws"),
    ("ap-southeast-7", "aws"),
    ("ca-central-1", "aws"),
    ("ca-west-1", "aws"),
    ("eu-central-1", "aws"),
    ("eu-central-2", "aws"),
    ("eu-north-1", "aws"),
    ("eu-south-1", "aws"),
    ("eu-south-2", "aws"),
    ("eu-west-1", "aws"),
    ("eu-west-2", "aws"),
    ("eu-west-3", "aws"),
    ("il-central-1", "aws"),
    ("me-central-1", "aws"),
    ("me-south-1", "aws"),
    ("mx-central-1", "aws"),
    ("sa-east-1", "aws"),
    ("us-east-1", "aws"),
    ("us-east-2", "aws"),
    ("us-west-1", "aws"),
    ("us-west-2", "aws"),
    ("us-gov-east-1", "aws-us-gov"),
    ("us-gov-west-1", "aws-us-gov"),
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
];

/// A real AWS region (see the list above).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AwsRegion(String);
string_newtype!(AwsRegion);

impl AwsRegion {
    /// Parses a region name, accepting only regions that exist.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if REGIONS.iter().any(|(r, _)| *r == s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(
                "is not an AWS region (e.g. us-east-1, eu-west-1)",
            ))
        }
    }

    /// The ARN partition of this region: `aws`, `aws-us-gov` or `aws-cn`.
    pub fn partition(&self) -> &'static str {
        REGIONS
            .iter()
            .find(|(r, _)| *r == self.0)
            .map(|(_, p)| *p)
            .unwrap_or("aws")
    }

    /// All accepted region names.
    pub fn all() -> impl Iterator<Item = &'static str> {
        REGIONS.iter().map(|(r, _)| *r)
    }
}

impl Default for AwsRegion {
    fn default() -> Self {
        Self("us-east-1".to_owned())
    }
}

/// An IAM role name: 1–64 characters of letters, digits and `+=,.@_-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleName(String);
string_newtype!(RoleName);

impl RoleName {
    /// Parses an IAM role name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if !(1..=64).contains(&s.len()) {
            return Err(NameError("must be 1 to 64 characters long"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            return Err(NameError(
                "may only contain letters, digits and the characters +=,.@_-",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl Default for RoleName {
    fn default() -> Self {
        Self("BYOCPlatformRole".to_owned())
    }
}

/// The ARN of an IAM role: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleArn(String);
string_newtype!(RoleArn);

impl RoleArn {
    /// The ARN of role `name` in `account`, in the partition of `region`.
    pub fn new(account: &AwsAccountId, region: &AwsRegion, name: &RoleName) -> Self {
        Self(format!(
            "arn:{}:iam::{}:role/{}",
            region.partition(),
            account,
            name
        ))
    }

    /// Parses a role ARN.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let err = NameError("must be an IAM role ARN like arn:aws:iam::123456789012:role/Name");
        let rest = s.strip_prefix("arn:").ok_or(err.clone())?;
        let (partition, rest) = rest.split_once(':').ok_or(err.clone())?;
        if !matches!(partition, "aws" | "aws-us-gov" | "aws-cn") {
            return Err(err);
        }
        let rest = rest.strip_prefix("iam::").ok_or(err.clone())?;
        let (account, resource) = rest.split_once(':').ok_or(err.clone())?;
        AwsAccountId::parse(account).map_err(|_| err.clone())?;
        let path_and_name = resource.strip_prefix("role/").ok_or(err.clone())?;
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        RoleName::parse(name).map_err(|_| err)?;
        Ok(Self(s.to_owned()))
    }

    /// The 12-digit account id inside the ARN.
    pub fn account_id(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_is_twelve_digits() {
        assert!(AwsAccountId::parse("123456789012").is_ok());
        assert!(AwsAccountId::parse("12345678901").is_err());
        assert!(AwsAccountId::parse("12345678901a").is_err());
    }

    #[test]
    fn region_must_exist() {
        assert!(AwsRegion::parse("eu-west-1").is_ok());
        assert!(AwsRegion::parse("eu-west-9").is_err());
        assert!(AwsRegion::parse("US-EAST-1").is_err());
        assert_eq!(
            AwsRegion::parse("us-gov-west-1").unwrap().partition(),
            "aws-us-gov"
        );
    }

    #[test]
    fn role_name_charset() {
        assert!(RoleName::parse("BYOCPlatformRole").is_ok());
        assert!(RoleName::parse("a+b=c,d.e@f_g-h").is_ok());
        assert!(RoleName::parse("").is_err());
        assert!(RoleName::parse("has space").is_err());
        assert!(RoleName::parse(&"r".repeat(65)).is_err());
    }

    #[test]
    fn role_arn_builds_and_parses() {
        let arn = RoleArn::new(
            &AwsAccountId::parse("123456789012").unwrap(),
            &AwsRegion::parse("cn-north-1").unwrap(),
            &RoleName::default(),
        );
        assert_eq!(
            arn.as_str(),
            "arn:aws-cn:iam::123456789012:role/BYOCPlatformRole"
        );
        assert!(RoleArn::parse(arn.as_str()).is_ok());
        assert_eq!(arn.account_id(), "123456789012");
        assert!(RoleArn::parse("arn:aws:iam::123456789012:role/path/x/Name").is_ok());
        assert!(RoleArn::parse("arn:aws:iam::123456789012:user/Name").is_err());
        assert!(RoleArn::parse("arn:aws:iam::1234:role/Name").is_err());
    }
}
