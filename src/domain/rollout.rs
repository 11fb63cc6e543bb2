//! Rollouts, the pure part: statuses, the strategy (canary, waves, parallelism, failure
//! budget, bake time), how targets split into waves, JSON merge patch, and what a driver step
//! does next given where the targets stand. No I/O: the store keeps the state and the worker
//! drives it (`worker::rollouts`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ValidationErrors;
use super::stored::stored_enum;

stored_enum! {
    /// Where a rollout stands.
    pub enum RolloutStatus ("rollout status") {
        /// The driver starts targets wave by wave.
        Running = "running",
        /// Nothing new is started; what was queued or running goes on.
        Paused = "paused",
        /// The failure budget was spent: queued work was cancelled, nothing more starts.
        Halted = "halted",
        /// Every wave ended within the budget.
        Finished = "finished",
        /// Aborted by a user: queued work was cancelled, nothing more starts.
        Aborted = "aborted",
    }
}

impl RolloutStatus {
    /// Whether the rollout can change no more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Halted | Self::Finished | Self::Aborted)
    }
}

stored_enum! {
    /// Where one target of a rollout stands.
    pub enum TargetStatus ("rollout target status") {
        /// Not started yet.
        Pending = "pending",
        /// Left out: its patched config is invalid, or it has no config to deploy.
        Skipped = "skipped",
        /// Its deploy is queued (or awaits approval).
        Queued = "queued",
        /// Its deploy runs.
        Running = "running",
        /// Its deploy succeeded.
        Succeeded = "succeeded",
        /// Its deploy failed, or a later deploy of the stack failed while the rollout ran.
        Failed = "failed",
        /// Its deploy was cancelled (abort, halt or a user), or the rollout ended before it started.
        Cancelled = "cancelled",
        /// A newer rollout over the same environment took it over before it started.
        Superseded = "superseded",
    }
}

impl TargetStatus {
    /// Whether a deploy of the target is queued or running.
    pub fn in_flight(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// Whether the target can change no more (its deploy's later failure aside).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Queued | Self::Running)
    }
}

/// One wave's size: a count of targets (`5`), or a cumulative share of all targets
/// (`"50%"`: the waves so far, canary included, reach half of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WaveSize {
    /// This many more targets.
    Count(u32),
    /// Up to this percentage of all targets, cumulatively.
    #[schema(value_type = String, example = "50%")]
    Percent(#[serde(with = "percent")] u32),
}

mod percent {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(p: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{p}%"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let raw = String::deserialize(d)?;
        raw.strip_suffix('%')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| D::Error::custom(format!("'{raw}' is not a percentage from 1% to 100%")))
    }
}

/// Upper bounds, so one request cannot ask for absurd work.
pub const MAX_WAVES: usize = 100;
/// Largest `max_parallel`.
pub const MAX_PARALLEL: u32 = 1000;
/// Longest bake time (one day).
pub const MAX_BAKE_SECONDS: u32 = 86_400;

/// Checks the strategy's numbers; every problem at once.
pub fn check_strategy(
    waves: &[WaveSize],
    max_parallel: u32,
    bake_seconds: u32,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if waves.len() > MAX_WAVES {
        errors.push("/strategy/waves", format!("at most {MAX_WAVES} waves"));
    }
    if waves.contains(&WaveSize::Count(0)) {
        errors.push("/strategy/waves", "a wave of 0 targets does nothing");
    }
    if !(1..=MAX_PARALLEL).contains(&max_parallel) {
        errors.push(
            "/strategy/max_parallel",
            format!("must be from 1 to {MAX_PARALLEL}"),
        );
    }
    if bake_seconds > MAX_BAKE_SECONDS {
        errors.push(
            "/strategy/bake_seconds",
            format!("at most {MAX_BAKE_SECONDS}"),
        );
    }
    errors.into_result(())
}

/// Which wave each of `n` targets (in order, canary first) belongs to: wave 0 holds the
/// `canary` first targets (when there are any), then each entry of `waves` one more; targets
/// the listed waves do not reach form a last wave. Empty waves are dropped, so wave numbers
/// count up without gaps.
pub fn assign_waves(n: usize, canary: usize, waves: &[WaveSize]) -> Vec<u32> {
    let mut ends = Vec::new();
    let mut end = canary.min(n);
    if end > 0 {
        ends.push(end);
    }
    for w in waves {
        let next = match *w {
            WaveSize::Count(c) => end + c as usize,
            WaveSize::Percent(p) => (n * p as usize).div_ceil(100),
        }
        .min(n);
        if next > end {
            ends.push(next);
            end = next;
        }
    }
    if end < n {
        ends.push(n);
    }
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for (wave, &end) in ends.iter().enumerate() {
        out.extend(std::iter::repeat_n(wave as u32, end - start));
        start = end;
    }
    out
}

/// Applies `patch` to `target` as a JSON merge patch (RFC 7396 §2): an object patch merges
/// key by key, `null` removes a key, anything else replaces the value whole.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(entries) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = target else {
        unreachable!("made an object above")
    };
    for (key, value) in entries {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// What the driver sees of one target in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetView {
    /// Its wave (skipped targets have none).
    pub wave: Option<u32>,
    /// Its status.
    pub status: TargetStatus,
}

/// What a driver step does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The budget is spent: halt.
    Halt,
    /// Every wave is done: finish.
    Finish,
    /// The current wave is done; wait until its bake time has passed.
    Bake,
    /// Move on to this wave (its bake, if any, has passed), then look again.
    Advance(u32),
    /// Start these targets (indexes into the list; may be empty: wait for work in flight).
    Start(Vec<usize>),
}

/// The rollout's numbers a step decides with.
#[derive(Debug, Clone, Copy)]
pub struct StepInput {
    /// The wave being rolled.
    pub current_wave: u32,
    /// Waves in all.
    pub wave_count: u32,
    /// Failures that halt the rollout (0: the first failure halts it).
    pub failure_budget: u32,
    /// Deploys in flight at most.
    pub max_parallel: u32,
    /// Whether the current wave's bake time has passed (only asked once it is done).
    pub baked: bool,
}

/// Decides the next step. Failures count across every wave, a target that failed during a
/// later bake included; reaching the budget halts at once, whatever else could start.
pub fn next(targets: &[TargetView], input: StepInput) -> Next {
    let failed = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Failed)
        .count();
    if failed as u32 >= input.failure_budget.max(1) {
        return Next::Halt;
    }
    let wave = input.current_wave;
    let in_wave = |t: &&TargetView| t.wave == Some(wave);
    let wave_open = targets.iter().filter(in_wave).any(|t| !t.status.is_final());
    if !wave_open {
        if wave + 1 >= input.wave_count {
            return Next::Finish;
        }
        return match input.baked {
            true => Next::Advance(wave + 1),
            false => Next::Bake,
        };
    }
    let in_flight = targets.iter().filter(|t| t.status.in_flight()).count();
    let room = (input.max_parallel as usize).saturating_sub(in_flight);
    Next::Start(
        targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.wave == Some(wave) && t.status == TargetStatus::Pending)
            .map(|(i, _)| i)
            .take(room)
            .collect(),
    )
}

#[cfg(test)]
mod tests;
