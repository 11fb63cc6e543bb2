//! No external ID reaches the logs. One capturing subscriber at TRACE (the SDK's own events
//! included) is installed globally before any test does AWS work, so every test's logs are
//! checked, without the races of per-thread subscribers; the dedicated test below also checks
//! that its own role checks and profile rendering were captured.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use byoc::cloud::profile::{DEFAULT_SESSION_SECONDS, TenantProfile};
use byoc::cloud::{SessionName, render_profile, verify_role};
use byoc::domain::Slug;
use secrecy::ExposeSecret;

use super::{FIRST_EXTERNAL_ID, OnboardedTenant, region};

/// Everything every test in this binary logged.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the capturing subscriber once; every test calls this before touching AWS.
pub fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

#[tokio::test]
async fn role_checks_and_profile_rendering_never_log_the_external_id() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let slug = Slug::parse("logs-test").unwrap();
    verify_role(&t.aws, &slug, &t.target)
        .await
        .expect("verified");
    let wrong = "ext-wrong-for-logs-0123";
    verify_role(&t.aws, &slug, &t.target_with(wrong))
        .await
        .unwrap_err();

    let worker_env: HashMap<String, String> = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::210987654321:role/byoc-worker"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let session = SessionName::for_operation("up", "logs-test-prod");
    let region = region();
    let profile = render_profile(
        &TenantProfile {
            role_arn: &t.target.role_arn,
            external_id: &t.target.external_id,
            session_name: &session,
            region: &region,
            duration_seconds: DEFAULT_SESSION_SECONDS,
        },
        &worker_env,
    )
    .expect("profile renders");
    assert!(
        profile.expose_secret().contains(FIRST_EXTERNAL_ID),
        "the file itself has it"
    );

    let logs = capture().text();
    let ours: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("byoc-verify-logs-test") || l.contains("byoc-up-logs-test-prod"))
        .collect();
    for expected in [
        "tenant role check passed",
        "tenant role check failed",
        "rendered tenant AWS profile",
    ] {
        assert!(
            ours.iter().any(|l| l.contains(expected)),
            "missing log line {expected:?} among:\n{}",
            ours.join("\n")
        );
    }
    assert!(
        !logs.contains(FIRST_EXTERNAL_ID),
        "external ID leaked into logs"
    );
    assert!(!logs.contains(wrong), "wrong external ID leaked into logs");
}
