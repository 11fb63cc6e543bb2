//! Physical names the program gives to AWS things: IAM names (which the tenant's
//! CloudFormation role only allows with a `byoc-` name prefix on the default path — a path
//! would break Karpenter's `EC2NodeClass.role` and aws-auth mappings) and the
//! cluster name. Deterministic, and always within AWS length limits.

use sha2::{Digest, Sha256};

use crate::domain::StackName;

/// The IAM path every role, policy and instance profile uses.
pub const IAM_PATH: &str = "/";

/// The longest suffix appended to [`iam_prefix`] (`-karpenter-node`, `-aws-lb-controller`).
const LONGEST_SUFFIX: usize = "-aws-lb-controller".len();

/// IAM names are at most 64 characters.
const IAM_NAME_MAX: usize = 64;

/// `byoc-<stack>`, shortened with a hash when `byoc-<stack>-<longest suffix>` would exceed
/// 64 characters, so every IAM name stays unique per stack and within limits.
pub fn iam_prefix(stack: &StackName) -> String {
    let budget = IAM_NAME_MAX - LONGEST_SUFFIX;
    let full = format!("byoc-{stack}");
    if full.len() <= budget {
        return full;
    }
    let digest = hex::encode(Sha256::digest(stack.as_str().as_bytes()));
    let hash = &digest[..8];
    // "byoc-" + head + "-" + hash fits the budget exactly.
    let head_len = budget - "byoc-".len() - 1 - hash.len();
    let head = stack.as_str()[..head_len].trim_end_matches('-');
    format!("byoc-{head}-{hash}")
}

/// The EKS cluster name: the stack name (≤ 71 characters, EKS allows 100).
pub fn cluster_name(stack: &StackName) -> String {
    stack.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EnvName, Slug};

    fn stack(slug: &str, env: &str) -> StackName {
        StackName::new(&Slug::parse(slug).unwrap(), &EnvName::parse(env).unwrap())
    }

    #[test]
    fn short_stacks_keep_their_name() {
        assert_eq!(iam_prefix(&stack("acme", "prod")), "byoc-acme-prod");
    }

    #[test]
    fn long_stacks_are_hashed_within_the_iam_limit() {
        let long = stack(&"a".repeat(50), "production-eu-west-1");
        let prefix = iam_prefix(&long);
        assert!(prefix.starts_with("byoc-aaaa"));
        assert!(prefix.len() + LONGEST_SUFFIX <= IAM_NAME_MAX, "{prefix}");
        let other = stack(&"a".repeat(50), "production-eu-west-2");
        assert_ne!(prefix, iam_prefix(&other));
    }
}
