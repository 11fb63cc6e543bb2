//! Never two deployments for one operation. Before creating, the executor notes on the
//! operation the stack's newest deployment `version` (a "creating" marker, stored before the
//! create is sent); an attempt that finds the marker instead of a deployment id lists the
//! stack's deployments and adopts the one created after the marker for the same operation.
//!
//! Why a version and not a tag: the list and get answers (pulumi/pulumi
//! `sdk/go/common/apitype/list_deployments.go`, REST docs `GetDeploymentResponse`) carry no
//! request data — no environment variables, no source, nothing the caller can set — so an
//! operation id sent in the request could not be read back. `version` is "the ordinal ID for
//! the stack", assigned at create (`CreateDeploymentResponse.version`). byoc runs one
//! operation per stack at a time, so a deployment with a higher version than the marker and
//! our `pulumiOperation` was created by this operation. Not known from any source: whether a
//! create that reached the service after its sender died can still be accepted later than
//! this lookup (it would then queue behind ours); and the default list order beyond the docs'
//! "newest first" (the floor is read from page 1 only).

use super::DeploymentsError;
use super::client::{Client, StackPath};
use super::shapes::DeploymentSummary;

/// Prefix of the marker in the operation's `external_ref`; deployment ids are UUIDs.
const MARKER: &str = "byoc-creating-after-version:";

/// Largest page the list route serves (REST docs: `pageSize` ≤ 100).
const PAGE_SIZE: u32 = 100;

/// What an earlier attempt recorded on the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// It created this deployment.
    Deployment(String),
    /// It was about to create one; the stack's newest deployment then had this version.
    Creating {
        /// Newest version before the create (0: the stack had none).
        after_version: i64,
    },
}

impl Recorded {
    /// Reads an operation's `external_ref`.
    pub fn parse(reference: &str) -> Self {
        match reference
            .strip_prefix(MARKER)
            .and_then(|v| v.parse::<i64>().ok())
        {
            Some(after_version) => Self::Creating { after_version },
            None => Self::Deployment(reference.to_owned()),
        }
    }

    /// The marker noted before creating.
    pub fn marker(after_version: i64) -> String {
        format!("{MARKER}{after_version}")
    }
}

/// The version of the stack's newest deployment (0 when it has none).
pub async fn newest_version(client: &Client, stack: &StackPath) -> Result<i64, DeploymentsError> {
    let page = client.list_deployments(stack, 1, 1).await?;
    Ok(page
        .deployments
        .iter()
        .map(|d| d.version)
        .max()
        .unwrap_or(0))
}

/// The deployments of `stack` with a version above `after_version` running `operation`,
/// oldest first.
pub async fn created_after(
    client: &Client,
    stack: &StackPath,
    after_version: i64,
    operation: &str,
) -> Result<Vec<DeploymentSummary>, DeploymentsError> {
    let mut found = Vec::new();
    let mut seen = 0_i64;
    for page in 1.. {
        let list = client.list_deployments(stack, page, PAGE_SIZE).await?;
        seen += list.deployments.len() as i64;
        // Newest first: a page reaching the marker's version ends the search.
        let reached = list.deployments.iter().any(|d| d.version <= after_version);
        let empty = list.deployments.is_empty();
        found.extend(
            list.deployments
                .into_iter()
                .filter(|d| d.version > after_version && d.pulumi_operation == operation),
        );
        if reached || empty || seen >= list.total {
            break;
        }
    }
    found.sort_by_key(|d| d.version);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_and_a_deployment_id_are_told_apart() {
        assert_eq!(
            Recorded::parse(&Recorded::marker(41)),
            Recorded::Creating { after_version: 41 }
        );
        let id = "0b6f1d2e-0000-4000-8000-000000000001";
        assert_eq!(Recorded::parse(id), Recorded::Deployment(id.into()));
        assert_eq!(
            Recorded::parse("byoc-creating-after-version:x"),
            Recorded::Deployment("byoc-creating-after-version:x".into())
        );
    }
}
