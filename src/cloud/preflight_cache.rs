//! Remembers, in memory, which tenant roles passed the pre-flight recently, so a day-2
//! operation does not pay an `sts:AssumeRole` + `sts:GetCallerIdentity` round trip (20–100 ms
//! to AWS) before every run.
//!
//! What is kept per role: the SHA-256 of the external ID it was checked with and until when
//! the check stands — never the assumed credentials (the pre-flight does not use them; the
//! program's provider assumes the role itself) and never the external ID. Nothing is written
//! to disk or logged. A check stands until [`MARGIN`] before the checked session would have
//! expired (the session lasts `CHECK_SESSION_SECONDS`, 15 minutes), and is dropped at once
//! when
//! - the tenant's role ARN, account, region or external ID differs from what was checked (a
//!   rotated external ID or a changed role is checked again before the next run), or
//! - a run with the role failed (an `AccessDenied` or `ExpiredToken` from the provider, or any
//!   other failure: the next run checks the role again before touching anything).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::check::RoleTarget;
use crate::domain::aws::{AwsAccountId, AwsRegion, RoleArn};

/// How long before the checked session's expiry a check stops standing.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);

/// Pre-flight checks that passed, per tenant role.
#[derive(Debug, Default)]
pub struct PreflightCache {
    passed: Mutex<HashMap<RoleKey, Passed>>,
}

/// Which role: the target without its external ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RoleKey {
    account: AwsAccountId,
    region: AwsRegion,
    role_arn: RoleArn,
}

#[derive(Debug)]
struct Passed {
    external_id_sha256: [u8; 32],
    until: Instant,
}

impl PreflightCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `target` passed a check that still stands at `now`; a stale or different entry
    /// for the same role is dropped.
    pub fn stands(&self, target: &RoleTarget, now: Instant) -> bool {
        let key = RoleKey::of(target);
        let mut passed = self.lock();
        match passed.get(&key) {
            Some(p) if p.until > now && p.external_id_sha256 == digest(target) => true,
            Some(_) => {
                passed.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Records that `target` passed a check at `now` (wall clock `now_utc`) whose session
    /// expires at `expires_at`; a check without a known expiry, or one too close to it, is
    /// not kept.
    pub fn passed(
        &self,
        target: &RoleTarget,
        now: Instant,
        now_utc: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let Some(left) = expires_at.and_then(|at| (at - now_utc).to_std().ok()) else {
            return;
        };
        let Some(stands) = left.checked_sub(MARGIN).filter(|d| !d.is_zero()) else {
            return;
        };
        self.lock().insert(
            RoleKey::of(target),
            Passed {
                external_id_sha256: digest(target),
                until: now + stands,
            },
        );
    }

    /// Drops what is known about `target`'s role: the next run checks it again.
    pub fn forget(&self, target: &RoleTarget) {
        self.lock().remove(&RoleKey::of(target));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoleKey, Passed>> {
        // A panic while holding the lock leaves a consistent map (every change is one call).
        self.passed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RoleKey {
    fn of(target: &RoleTarget) -> Self {
        Self {
            account: target.account.clone(),
            region: target.region.clone(),
            role_arn: target.role_arn.clone(),
        }
    }
}

fn digest(target: &RoleTarget) -> [u8; 32] {
    Sha256::digest(target.external_id.expose_secret().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn target(role: &str, external_id: &str) -> RoleTarget {
        RoleTarget {
            account: AwsAccountId::parse("123456789012").unwrap(),
            region: AwsRegion::parse("eu-west-1").unwrap(),
            role_arn: RoleArn::parse(&format!("arn:aws:iam::123456789012:role/{role}")).unwrap(),
            external_id: SecretString::from(external_id.to_owned()),
        }
    }

    /// A check passed at `t0` whose 15-minute session expires at `utc0 + 15 min`.
    fn checked(cache: &PreflightCache, t: &RoleTarget, t0: Instant, utc0: DateTime<Utc>) {
        cache.passed(t, t0, utc0, Some(utc0 + chrono::Duration::minutes(15)));
    }

    #[test]
    fn a_passed_check_stands_until_shortly_before_its_session_expires() {
        let (cache, t0, utc0) = (PreflightCache::new(), Instant::now(), Utc::now());
        let t = target("byoc", "ext-1");
        assert!(!cache.stands(&t, t0), "nothing checked yet");
        checked(&cache, &t, t0, utc0);
        assert!(cache.stands(&t, t0 + Duration::from_secs(1)));
        let last = Duration::from_secs(15 * 60) - MARGIN;
        assert!(cache.stands(&t, t0 + last - Duration::from_secs(1)));
        assert!(!cache.stands(&t, t0 + last), "expired: checked again");
        assert!(
            !cache.stands(&t, t0 + Duration::from_secs(1)),
            "the expired entry was dropped"
        );
    }

    #[test]
    fn a_changed_external_id_or_role_is_checked_again_and_the_old_check_dropped() {
        let (cache, t0, utc0) = (PreflightCache::new(), Instant::now(), Utc::now());
        let t = target("byoc", "ext-1");
        checked(&cache, &t, t0, utc0);
        // The tenant's external ID was rotated: a miss, and the old check is gone.
        assert!(!cache.stands(&target("byoc", "ext-2"), t0));
        assert!(!cache.stands(&t, t0), "dropped on the external ID change");
        // Another role is another entry, never the checked one.
        checked(&cache, &t, t0, utc0);
        assert!(!cache.stands(&target("other", "ext-1"), t0));
        assert!(cache.stands(&t, t0));
    }

    #[test]
    fn a_failed_run_drops_the_check() {
        let (cache, t0, utc0) = (PreflightCache::new(), Instant::now(), Utc::now());
        let t = target("byoc", "ext-1");
        checked(&cache, &t, t0, utc0);
        cache.forget(&t);
        assert!(!cache.stands(&t, t0));
    }

    #[test]
    fn a_check_without_a_known_or_long_enough_session_is_not_kept() {
        let (cache, t0, utc0) = (PreflightCache::new(), Instant::now(), Utc::now());
        let t = target("byoc", "ext-1");
        cache.passed(&t, t0, utc0, None);
        assert!(!cache.stands(&t, t0));
        cache.passed(&t, t0, utc0, Some(utc0 + chrono::Duration::minutes(4)));
        assert!(!cache.stands(&t, t0), "expires within the margin");
    }
}
