//! The Automation-API driver around the `pulumi` CLI: workspace, runner, event stream,
//! errors. Knows nothing of tenants or the database.
//!
//! A run, step by step: [`Runner::new`] locates and version-checks the CLI once;
//! [`Workspace::create`] writes the program into a private directory;
//! [`Runner::select_or_create_stack`] and [`Runner::set_config`] prepare the stack;
//! [`Runner::up`] (or preview/refresh/destroy) runs the engine while the event log is tailed;
//! failures come back as [`PulumiError`] variants.

mod capture;
mod decode;
pub mod diy_locks;
mod env;
mod error;
mod events;
mod ops;
mod options;
mod owner;
mod plugins;
mod progress;
mod runner;
pub mod spawn;
mod stack;
mod tail;
mod version;
mod workspace;

pub use capture::{BoundedBuffer, DEFAULT_CAPTURE_BYTES, OutputLine, Stream, TRUNCATION_MARKER};
pub use decode::{EventDecoder, EventItem, decode_all};
pub use env::{EnvSnapshot, is_allowed as env_is_allowed};
pub use error::{FailedRun, PulumiError, classify};
pub use events::{
    DiagnosticEvent, EngineEvent, ErrorEvent, EventError, EventPayload, OpType, PreludeEvent,
    ResOpFailedEvent, StdoutEvent, StepEvent, StepMetadata, UpdateSummary, strip_color,
};
pub use ops::{DestroyResult, EventSink, OperationResult, PreviewResult, RefreshResult, UpResult};
pub use options::{DestroyOptions, PreviewOptions, RefreshOptions, UpOptions};
pub use owner::{OWNER_PREFIX, WorkspaceRoot, sweep_dead};
pub use plugins::{PluginStatus, VERIFIED_FILE};
pub use progress::{ResourceProgress, RunDigest, StepStatus};
pub use runner::{Invocation, RunControl, RunOutput, Runner, RunnerConfig, StopReason};
pub use spawn::DeathSignal;
pub use stack::{ConfigValue, OutputValue, UpdateRecord};
pub use tail::{EventStream, TailHandle, tail_event_log};
pub use version::{MIN_VERSION, Version, check_version, locate};
pub use workspace::{EVENT_LOG, WORKSPACE_PREFIX, Workspace};
