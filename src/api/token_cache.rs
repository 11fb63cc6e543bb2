//! Verified tokens, remembered for a few seconds: an API read then costs no database round
//! trip to authenticate (issue 16). Keyed by the token's SHA-256 (never the token) or the
//! console session's token id.
//!
//! Revocation: this process forgets a revoked token at once ([`TokenCache::forget`], called
//! by the revoking handler after its transaction committed), and a lookup that raced with it
//! cannot put the stale answer back (the generation check in [`TokenCache::put`]). A token
//! revoked through another replica, or in the database directly, is still accepted here for
//! at most [`TOKEN_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Caller;

/// How long a verified token is trusted without asking the database again: the bound on how
/// late a revocation made elsewhere takes effect on this replica.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// An entry older than this is re-verified by the one request that finds it so (the others
/// keep using it meanwhile): under steady traffic an entry is renewed before it expires, so the
/// concurrent requests of a busy client never all miss at once. When they did, every one of
/// them went to the database through the blocking pool together (32 connections: ~24 new
/// blocking threads in one instant, every 5 s; BENCHMARKS.md "API GETs (session 7)").
const REFRESH_AFTER: Duration = Duration::from_millis(TOKEN_CACHE_TTL.as_millis() as u64 / 2);
/// Beyond this many tokens the cache starts over (a bound on memory, not a tuning knob).
const MAX_ENTRIES: usize = 4096;

/// Shared by the handlers of one process (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct TokenCache {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The caller, when it was verified, and whether a request is re-verifying it now.
    entries: HashMap<String, (Caller, Instant, bool)>,
    /// Bumped at every revocation: a lookup that started before one may not be cached.
    generation: u64,
}

impl TokenCache {
    /// The caller verified under `key` less than [`TOKEN_CACHE_TTL`] ago, unless this request
    /// is the one chosen to re-verify it (`None` then, as for a miss: the caller looks the
    /// token up and [`TokenCache::put`]s the answer).
    pub fn get(&self, key: &str) -> Option<Caller> {
        self.get_at(key, Instant::now())
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<Caller> {
        let mut inner = self.lock();
        let (caller, at, refreshing) = inner.entries.get_mut(key)?;
        let age = now.saturating_duration_since(*at);
        if age >= TOKEN_CACHE_TTL {
            return None;
        }
        if age >= REFRESH_AFTER && !*refreshing {
            // Only this request re-verifies; the entry still answers the others until it
            // expires, so the revocation bound stays TOKEN_CACHE_TTL.
            *refreshing = true;
            return None;
        }
        Some(caller.clone())
    }

    /// Where revocations stand now: pass it to [`TokenCache::put`] after the lookup.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Remembers `caller` under `key`, unless a token was revoked since `generation` was read
    /// (the lookup may have seen the token before its revocation committed).
    pub fn put(&self, key: String, caller: Caller, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, (caller, Instant::now(), false));
    }

    /// Token `token_id` was revoked: it stops working here at once.
    pub fn forget(&self, token_id: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, (c, _, _)| c.token_id != token_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing a panicking holder could leave half-done matters: entries are independent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn caller(id: &str) -> Caller {
        Caller {
            token_id: id.into(),
            token_name: "ci".into(),
            role: Role::Viewer,
            tenants: None,
        }
    }

    #[test]
    fn one_request_reverifies_an_ageing_entry_and_an_expired_one_answers_nobody() {
        let cache = TokenCache::default();
        cache.put("h1".into(), caller("t1"), cache.generation());
        let at = cache.lock().entries["h1"].1;
        assert!(cache.get_at("h1", at).is_some(), "fresh: served");
        let ageing = at + REFRESH_AFTER;
        assert!(
            cache.get_at("h1", ageing).is_none(),
            "the first request past REFRESH_AFTER re-verifies"
        );
        assert!(
            cache.get_at("h1", ageing).is_some(),
            "the others keep the entry meanwhile"
        );
        assert!(
            cache.get_at("h1", at + TOKEN_CACHE_TTL).is_none(),
            "expired: never served, refreshing or not"
        );
        // The re-verification's answer starts a new period.
        cache.put("h1".into(), caller("t1"), cache.generation());
        let renewed = cache.lock().entries["h1"].1;
        assert!(cache.get_at("h1", renewed).is_some());
        // A revocation drops the entry even while it is being re-verified.
        assert!(cache.get_at("h1", renewed + REFRESH_AFTER).is_none());
        cache.forget("t1");
        assert!(cache.get_at("h1", renewed).is_none());
    }

    #[test]
    fn a_revoked_token_is_forgotten_and_a_lookup_that_raced_with_it_is_not_kept() {
        let cache = TokenCache::default();
        let before = cache.generation();
        cache.put("h1".into(), caller("t1"), before);
        cache.put("h2".into(), caller("t2"), before);
        assert_eq!(cache.get("h1").unwrap().token_id, "t1");
        // A lookup of t1 read the row, then t1 was revoked before it could cache it.
        let racing = cache.generation();
        cache.forget("t1");
        cache.put("h1".into(), caller("t1"), racing);
        assert!(cache.get("h1").is_none(), "revoked here: gone at once");
        assert!(cache.get("h2").is_some(), "other tokens stay");
    }
}
