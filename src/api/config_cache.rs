//! The rendered body of `GET …/config`, remembered per stored version (issue 16): a saved
//! version never changes, so its answer is the same bytes every time, and a read then costs
//! the version's stamp (number and save time, from the primary key) instead of parsing the
//! stored documents and writing the response again.
//!
//! Invalidation is by key: a new version, or a config deleted and saved again (its version
//! numbers come back with new save times), has a stamp the cache has never seen, on this
//! replica and on every other. Nothing secret is kept: the body is the one any viewer
//! reads, and a tenant's config holds no secret values (those are sealed stack outputs and
//! the external ID, never part of it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::store::configs::VersionStamp;

/// Beyond this many versions the cache starts over (a bound on memory: a config's answer is
/// a few kilobytes).
const MAX_ENTRIES: usize = 256;

/// Which answer: the tenant's id (a tenant deleted and created again has another), the
/// environment and the version's stamp.
type Key = (String, String, VersionStamp);

/// Shared by the handlers of one process (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct ConfigCache {
    inner: Arc<Mutex<HashMap<Key, Bytes>>>,
}

impl ConfigCache {
    /// The body answered for this version before, if still remembered.
    pub fn get(&self, tenant_id: &str, environment: &str, stamp: &VersionStamp) -> Option<Bytes> {
        // Looked up without building an owned key: the map is small, a scan of equal
        // stamps is cheap, and an allocation per hit is what this cache saves.
        let map = self.lock();
        map.iter()
            .find(|((t, e, s), _)| s == stamp && t == tenant_id && e == environment)
            .map(|(_, body)| body.clone())
    }

    /// Remembers `body` as the answer for this version.
    pub fn put(&self, tenant_id: &str, environment: &str, stamp: VersionStamp, body: Bytes) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((tenant_id.to_owned(), environment.to_owned(), stamp), body);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Bytes>> {
        // Entries are independent and inserted whole: nothing a panicking holder left matters.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn stamp(version: i32, secs: i64) -> VersionStamp {
        VersionStamp {
            version,
            created_at: DateTime::from_timestamp(secs, 0).unwrap().naive_utc(),
        }
    }

    #[test]
    fn an_answer_is_found_only_under_its_own_tenant_environment_and_stamp() {
        let cache = ConfigCache::default();
        cache.put("t1", "prod", stamp(1, 10), Bytes::from_static(b"v1"));
        assert_eq!(cache.get("t1", "prod", &stamp(1, 10)).unwrap(), "v1");
        // The same number saved again after a delete, another environment, another tenant.
        assert!(cache.get("t1", "prod", &stamp(1, 11)).is_none());
        assert!(cache.get("t1", "dev", &stamp(1, 10)).is_none());
        assert!(cache.get("t2", "prod", &stamp(1, 10)).is_none());
        assert!(cache.get("t1", "prod", &stamp(2, 10)).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ConfigCache::default();
        for v in 0..(MAX_ENTRIES as i32 * 3) {
            cache.put("t1", "prod", stamp(v, 0), Bytes::from_static(b"x"));
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }
}
