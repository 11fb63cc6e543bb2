//! A scripted `Executor` that stands in for the local (pulumi CLI) and Deployments executors
//! in tests about the operations engine — queueing, leases, cancellation, events, status —
//! rather than about pulumi. It emits engine events shaped like a real event log, and records
//! every call so tests can assert ordering and parallelism.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use byoc::domain::drift::DriftedResource;
use byoc::executor::{
    EventSink, Executor, OperationJob, Outcome, OutputValue, PlanFile, PlanStep, RecoverError,
};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a run on one stack does.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Fail with this engine message after emitting the events.
    pub fail: Option<String>,
    /// Block after the first event until cancelled or released with `release(stack)`.
    pub block: bool,
    /// Report the failure as transient (the worker may run it again).
    pub retryable: bool,
    /// Emit this many `diagnosticEvent`s after the resources (a long event stream).
    pub diagnostics: usize,
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `run` started for (operation id, stack, kind).
    Started(String, String, String),
    /// `run` ended.
    Ended(String, String),
    /// `recover` was called for the operation.
    Recovered(String),
    /// The run was dropped before it ended (the worker stopped it at once).
    Dropped(String),
}

/// The scripted executor.
#[derive(Debug, Default)]
pub struct ScriptedExecutor {
    scripts: Mutex<HashMap<String, Script>>,
    calls: Mutex<Vec<Call>>,
    gates: Mutex<HashMap<String, Arc<Notify>>>,
    /// Resources each stack "has" (a deploy creates them, a destroy deletes them).
    state: Mutex<HashMap<String, usize>>,
    /// Every plan file a run applied (`PlanStep::Apply`), by operation id.
    applied_plans: Mutex<Vec<(String, Vec<u8>)>>,
    /// What a drift check of a stack finds.
    drift: Mutex<HashMap<String, Vec<DriftedResource>>>,
    /// Drift checks in flight now, the most ever at once, and every stack checked.
    drift_runs: Mutex<(usize, usize, Vec<String>)>,
    /// Drift checks block until `release_drift` while set.
    drift_gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

/// The plan file a scripted `PlanStep::Save` run reports for `operation_id`.
pub fn scripted_plan(operation_id: &str) -> Vec<u8> {
    format!("{{\"scripted-plan\": \"{operation_id}\", \"secret\": \"plan-secret-value\"}}")
        .into_bytes()
}

const RESOURCES: usize = 3;

impl ScriptedExecutor {
    /// A new executor, shareable with the server.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Sets what runs on `stack` do from now on.
    pub fn script(&self, stack: &str, script: Script) {
        self.scripts
            .lock()
            .unwrap()
            .insert(stack.to_owned(), script);
    }

    /// Lets a blocked run on `stack` finish normally.
    pub fn release(&self, stack: &str) {
        self.gate(stack).notify_one();
    }

    /// What drift checks of `stack` find from now on.
    pub fn set_drift(&self, stack: &str, found: Vec<DriftedResource>) {
        self.drift.lock().unwrap().insert(stack.to_owned(), found);
    }

    /// Makes drift checks wait until [`ScriptedExecutor::release_drift`].
    pub fn hold_drift_checks(&self) {
        *self.drift_gate.lock().unwrap() = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets held drift checks finish.
    pub fn release_drift(&self) {
        if let Some(gate) = self.drift_gate.lock().unwrap().take() {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    /// (drift checks in flight now, the most ever at once, every stack checked).
    pub fn drift_runs(&self) -> (usize, usize, Vec<String>) {
        self.drift_runs.lock().unwrap().clone()
    }

    /// Every plan a run applied, as (operation id, plan file).
    pub fn applied_plans(&self) -> Vec<(String, Vec<u8>)> {
        self.applied_plans.lock().unwrap().clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Runs currently in progress per stack.
    pub fn running(&self) -> Vec<String> {
        let mut open: BTreeMap<String, String> = BTreeMap::new();
        for c in self.calls() {
            match c {
                Call::Started(id, stack, _) => {
                    open.insert(id, stack);
                }
                Call::Ended(id, _) | Call::Dropped(id) => {
                    open.remove(&id);
                }
                Call::Recovered(_) => {}
            }
        }
        open.into_values().collect()
    }

    fn gate(&self, stack: &str) -> Arc<Notify> {
        self.gates
            .lock()
            .unwrap()
            .entry(stack.to_owned())
            .or_default()
            .clone()
    }
}

/// Records `Dropped` when a run is dropped before it ended.
struct DropGuard<'a> {
    calls: &'a Mutex<Vec<Call>>,
    id: Option<String>,
}

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.calls.lock().unwrap().push(Call::Dropped(id));
        }
    }
}

fn event(seq: usize, key: &str, body: serde_json::Value) -> serde_json::Value {
    json!({"sequence": seq, "timestamp": 1_700_000_000 + seq, key: body})
}

fn step(
    seq: usize,
    key: &str,
    stack: &str,
    i: usize,
    op: &str,
    planning: bool,
) -> serde_json::Value {
    let urn = format!("urn:pulumi:{stack}::byoc-platform::aws:ec2/vpc:Vpc::res{i}");
    let mut body =
        json!({"metadata": {"op": op, "urn": urn, "type": "aws:ec2/vpc:Vpc", "provider": ""}});
    if planning {
        body["planning"] = json!(true);
    }
    event(seq, key, body)
}

#[async_trait]
impl Executor for ScriptedExecutor {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn run(&self, job: OperationJob, sink: EventSink, cancel: CancellationToken) -> Outcome {
        let stack = job.stack.to_string();
        // Under change control a deploy runs as a preview that saves a plan ("plan"), then as
        // the update that applies it ("apply-plan").
        let (kind, recorded) = match &job.plan {
            PlanStep::None => (job.kind.as_str().to_owned(), job.kind.as_str().to_owned()),
            PlanStep::Save => ("preview".to_owned(), "plan".to_owned()),
            PlanStep::Apply(plan) => {
                self.applied_plans
                    .lock()
                    .unwrap()
                    .push((job.operation_id.clone(), plan.0.clone()));
                ("update".to_owned(), "apply-plan".to_owned())
            }
        };
        let planning = kind == "preview";
        self.calls.lock().unwrap().push(Call::Started(
            job.operation_id.clone(),
            stack.clone(),
            recorded,
        ));
        let mut dropped = DropGuard {
            calls: &self.calls,
            id: Some(job.operation_id.clone()),
        };
        let script = self
            .scripts
            .lock()
            .unwrap()
            .get(&stack)
            .cloned()
            .unwrap_or_default();
        let had = *self.state.lock().unwrap().get(&stack).unwrap_or(&0);
        let op = match (kind.as_str(), had) {
            ("destroy", _) => "delete",
            ("update" | "preview", 0) => "create",
            _ => "same",
        };
        let mut seq = 1;
        sink.event(
            "preludeEvent",
            event(seq, "preludeEvent", json!({"config": {}})),
        )
        .await;
        let mut summary = BTreeMap::new();
        let mut outcome = None;
        for i in 0..RESOURCES {
            seq += 1;
            sink.event(
                "resourcePreEvent",
                step(seq, "resourcePreEvent", &stack, i, op, planning),
            )
            .await;
            if script.block && i == 0 {
                let gate = self.gate(&stack);
                tokio::select! {
                    _ = gate.notified() => {}
                    _ = cancel.cancelled() => {
                        outcome = Some(Outcome::Cancelled { reason: "update canceled".into(), summary: summary.clone() });
                    }
                }
                if outcome.is_some() {
                    break;
                }
            }
            seq += 1;
            sink.event(
                "resOutputsEvent",
                step(seq, "resOutputsEvent", &stack, i, op, planning),
            )
            .await;
            *summary.entry(op.to_owned()).or_insert(0) += 1;
        }
        if outcome.is_none() {
            for i in 0..script.diagnostics {
                seq += 1;
                let line =
                    json!({"message": format!("line {i}\n"), "color": "never", "severity": "info"});
                sink.event("diagnosticEvent", event(seq, "diagnosticEvent", line))
                    .await;
            }
        }
        let outcome = outcome.unwrap_or_else(|| match &script.fail {
            Some(message) => Outcome::Failed {
                message: message.clone(),
                summary: summary.clone(),
                retryable: script.retryable,
            },
            None => {
                if job.plan == PlanStep::Save {
                    return Outcome::Succeeded {
                        summary: summary.clone(),
                        outputs: None,
                    };
                }
                if kind == "update" {
                    self.state.lock().unwrap().insert(stack.clone(), RESOURCES);
                } else if kind == "destroy" {
                    self.state.lock().unwrap().insert(stack.clone(), 0);
                }
                let outputs = (kind == "update").then(|| {
                    BTreeMap::from([
                        (
                            "vpcId".to_owned(),
                            OutputValue {
                                value: json!("vpc-0abc"),
                                secret: false,
                            },
                        ),
                        (
                            "kubeconfig".to_owned(),
                            OutputValue {
                                value: json!(format!("kubeconfig-of-{stack}")),
                                secret: true,
                            },
                        ),
                    ])
                });
                Outcome::Succeeded {
                    summary: summary.clone(),
                    outputs,
                }
            }
        });
        if job.plan == PlanStep::Save && matches!(outcome, Outcome::Succeeded { .. }) {
            sink.plan(PlanFile(scripted_plan(&job.operation_id))).await;
        }
        let result = match &outcome {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled { .. } => "canceled",
        };
        seq += 1;
        sink.event(
            "summaryEvent",
            event(
                seq,
                "summaryEvent",
                json!({"resourceChanges": summary, "result": result}),
            ),
        )
        .await;
        seq += 1;
        sink.event("cancelEvent", event(seq, "cancelEvent", json!({})))
            .await;
        dropped.id = None;
        self.calls
            .lock()
            .unwrap()
            .push(Call::Ended(job.operation_id.clone(), stack));
        outcome
    }

    async fn check_drift(
        &self,
        job: OperationJob,
        cancel: CancellationToken,
    ) -> Result<Vec<DriftedResource>, String> {
        let stack = job.stack.to_string();
        {
            let mut runs = self.drift_runs.lock().unwrap();
            runs.0 += 1;
            runs.1 = runs.1.max(runs.0);
            runs.2.push(stack.clone());
        }
        let gate = self.drift_gate.lock().unwrap().clone();
        match gate {
            Some(gate) => {
                tokio::select! {
                    _ = gate.acquire() => {}
                    () = cancel.cancelled() => {}
                }
            }
            // A check takes a moment: long enough for concurrent claims to overlap.
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
        self.drift_runs.lock().unwrap().0 -= 1;
        Ok(self
            .drift
            .lock()
            .unwrap()
            .get(&stack)
            .cloned()
            .unwrap_or_default())
    }

    async fn recover(
        &self,
        job: &OperationJob,
    ) -> Result<Vec<byoc::executor::EngineEventRecord>, RecoverError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Recovered(job.operation_id.clone()));
        Ok(Vec::new())
    }
}
