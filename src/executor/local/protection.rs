//! Destroy with EKS deletion protection on: AWS refuses to delete a protected cluster, so the
//! protection is first turned off with an update targeting only the cluster. A preview of the
//! program rendered with `deletion_protection = false` says whether that is needed: only a
//! cluster that exists and would be *updated* is touched (never created or replaced).

use std::time::Instant;

use serde_json::json;

use tokio_util::sync::CancellationToken;

use super::LocalExecutor;
use super::engine::{Engine, EngineOp};
use super::outcome::LocalError;
use super::prepare;
use crate::executor::{EventSink, OperationJob};
use crate::pulumi::{OpType, UpOptions};

/// The resource type whose `deletionProtection` blocks a destroy.
const CLUSTER_TYPE: &str = "aws:eks/cluster:Cluster";
/// Event kind recorded before the targeted update that turns the protection off.
pub const PROTECTION_OFF_EVENT: &str = "byoc.deletion-protection-off";

/// Turns deletion protection off on the stack's clusters that have it, before a destroy.
pub(super) async fn turn_off(
    exec: &LocalExecutor,
    job: &OperationJob,
    sink: &EventSink,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<(), LocalError> {
    let mut config = job.config.clone();
    config.eks.deletion_protection = false;
    let program = prepare::render_program(exec, job, &config)?;
    let open = prepare::open_stack(exec, job, &program, cancel, deadline, None).await?;
    // The preview is an internal check: its events are not part of the operation's log.
    let check = Engine {
        exec,
        ws: &open.ws,
        stack: &job.stack,
        sink: None,
        control: &open.control,
        exited_ok: None,
    };
    let preview = check
        .run_clearing_stale_lock(&EngineOp::Preview(Default::default()))
        .await?;
    let targets: Vec<String> = preview
        .resources
        .iter()
        .filter(|r| r.type_ == CLUSTER_TYPE && r.ops.iter().all(|op| *op == OpType::Update))
        .filter(|r| !r.ops.is_empty())
        .map(|r| r.urn.clone())
        .collect();
    if targets.is_empty() {
        tracing::info!("no deployed cluster has deletion protection to turn off");
        return Ok(());
    }
    tracing::info!(targets = ?targets, "turning deletion protection off before destroy");
    sink.event(PROTECTION_OFF_EVENT, json!({ "targets": targets }))
        .await;
    let up = EngineOp::Up(UpOptions {
        target: targets,
        ..UpOptions::default()
    });
    let engine = Engine {
        sink: Some(sink),
        ..check
    };
    engine.run_clearing_stale_lock(&up).await?;
    Ok(())
}
