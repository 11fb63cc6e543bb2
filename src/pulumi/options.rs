//! One options struct per operation; each field is one CLI flag (quoted in its doc comment),
//! and `to_args` is the only place that spells the flags.

/// Options of `pulumi preview`.
#[derive(Debug, Clone, Default)]
pub struct PreviewOptions {
    /// `--message=<m>` (passed raw, like the Python SDK; the Go SDK's `%q` quoting is a quirk).
    pub message: Option<String>,
    /// `--target=<urn>`, once per URN.
    pub target: Vec<String>,
    /// `--replace=<urn>`, once per URN.
    pub replace: Vec<String>,
    /// `--refresh`.
    pub refresh: bool,
    /// `--parallel=<n>` (only when set and > 0).
    pub parallel: Option<u32>,
    /// `--expect-no-changes`.
    pub expect_no_changes: bool,
    /// `--diff`.
    pub diff: bool,
    /// `--save-plan=<file>`: write the update plan this preview computed (the Go SDK's
    /// `optpreview.Plan`, pulumi/pulumi `sdk/go/auto/stack.go` Preview;
    /// `pkg/cmd/pulumi/operations/preview.go`).
    pub save_plan: Option<std::path::PathBuf>,
}

/// Options of `pulumi up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// `--message=<m>`.
    pub message: Option<String>,
    /// `--target=<urn>`, once per URN.
    pub target: Vec<String>,
    /// `--replace=<urn>`, once per URN.
    pub replace: Vec<String>,
    /// `--refresh`.
    pub refresh: bool,
    /// `--parallel=<n>` (only when set and > 0).
    pub parallel: Option<u32>,
    /// `--expect-no-changes`.
    pub expect_no_changes: bool,
    /// `--continue-on-error`.
    pub continue_on_error: bool,
    /// `--plan=<file>`: constrain the update to a plan `preview --save-plan` wrote; the engine
    /// fails the update as soon as a step departs from it (the Go SDK's `optup.Plan`,
    /// `sdk/go/auto/stack.go` Up; `pkg/resource/deploy/step_generator.go` validateSteps).
    pub plan: Option<std::path::PathBuf>,
}

/// Options of `pulumi refresh`.
#[derive(Debug, Clone, Default)]
pub struct RefreshOptions {
    /// `--message=<m>`.
    pub message: Option<String>,
    /// `--target=<urn>`, once per URN.
    pub target: Vec<String>,
    /// `--parallel=<n>` (only when set and > 0).
    pub parallel: Option<u32>,
    /// `--expect-no-changes`.
    pub expect_no_changes: bool,
    /// `--clear-pending-creates`: forget creates interrupted by a crash.
    pub clear_pending_creates: bool,
    /// `--import-pending-creates=<urn> --import-pending-creates=<id>` per pair: adopt them.
    pub import_pending_creates: Vec<(String, String)>,
}

/// Options of `pulumi destroy`.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// `--message=<m>`.
    pub message: Option<String>,
    /// `--target=<urn>`, once per URN.
    pub target: Vec<String>,
    /// `--parallel=<n>` (only when set and > 0).
    pub parallel: Option<u32>,
    /// `--continue-on-error`.
    pub continue_on_error: bool,
}

/// Appends common flags in one fixed order.
struct Flags(Vec<String>);

impl Flags {
    fn message(&mut self, m: &Option<String>) -> &mut Self {
        if let Some(m) = m {
            self.0.push(format!("--message={m}"));
        }
        self
    }
    fn each(&mut self, flag: &str, values: &[String]) -> &mut Self {
        self.0
            .extend(values.iter().map(|v| format!("--{flag}={v}")));
        self
    }
    fn switch(&mut self, flag: &str, on: bool) -> &mut Self {
        if on {
            self.0.push(format!("--{flag}"));
        }
        self
    }
    fn parallel(&mut self, n: Option<u32>) -> &mut Self {
        if let Some(n) = n.filter(|n| *n > 0) {
            self.0.push(format!("--parallel={n}"));
        }
        self
    }
}

impl PreviewOptions {
    /// The option flags, in order.
    pub fn to_args(&self) -> Vec<String> {
        let mut f = Flags(Vec::new());
        f.message(&self.message)
            .switch("expect-no-changes", self.expect_no_changes)
            .switch("diff", self.diff)
            .each("replace", &self.replace)
            .each("target", &self.target)
            .switch("refresh", self.refresh)
            .parallel(self.parallel);
        if let Some(path) = &self.save_plan {
            f.0.push(format!("--save-plan={}", path.display()));
        }
        f.0
    }
}

impl UpOptions {
    /// The option flags, in order.
    pub fn to_args(&self) -> Vec<String> {
        let mut f = Flags(Vec::new());
        f.message(&self.message)
            .switch("expect-no-changes", self.expect_no_changes)
            .each("replace", &self.replace)
            .each("target", &self.target)
            .switch("refresh", self.refresh)
            .switch("continue-on-error", self.continue_on_error)
            .parallel(self.parallel);
        if let Some(path) = &self.plan {
            f.0.push(format!("--plan={}", path.display()));
        }
        f.0
    }
}

impl RefreshOptions {
    /// The option flags, in order.
    pub fn to_args(&self) -> Vec<String> {
        let mut f = Flags(Vec::new());
        f.message(&self.message)
            .switch("expect-no-changes", self.expect_no_changes)
            .each("target", &self.target)
            .switch("clear-pending-creates", self.clear_pending_creates)
            .parallel(self.parallel);
        for (urn, id) in &self.import_pending_creates {
            f.0.push(format!("--import-pending-creates={urn}"));
            f.0.push(format!("--import-pending-creates={id}"));
        }
        f.0
    }
}

impl DestroyOptions {
    /// The option flags, in order.
    pub fn to_args(&self) -> Vec<String> {
        let mut f = Flags(Vec::new());
        f.message(&self.message)
            .each("target", &self.target)
            .switch("continue-on-error", self.continue_on_error)
            .parallel(self.parallel);
        f.0
    }
}
