//! The rendered body of `GET …/status`, remembered together with the rows it was rendered
//! from (issue 16). Every request still reads those rows — the tenant's slug and region, the
//! stack row, its current and last operation — and the remembered body is answered only when
//! they are equal to the ones it came from, field by field. What is saved is the rest of the
//! work: opening the stored outputs (a JSON parse), building the two operation views
//! (timestamps, the summary parsed) and writing the response JSON.
//!
//! So there is nothing to invalidate: the answer is a pure function of those rows, and any
//! write to them — an operation claimed, renewed or finished, a stack destroyed, outputs
//! stored, by this process or by a worker elsewhere — makes the next read miss. A stamp (an
//! `updated_at` or a revision column) would be cheaper to compare but operations have none,
//! and every writer would have to remember to bump it. Nothing secret is kept: the body is
//! the one any viewer reads, with secret outputs already `null`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use crate::store::operations::Operation;
use crate::store::stacks::{Stack, TenantRef};

/// Beyond this many stacks the cache starts over (a bound on memory: an entry is the rows
/// and a body of a few kilobytes).
const MAX_ENTRIES: usize = 256;

/// Everything `GET …/status` answers from.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRows {
    /// The stack's tenant.
    pub tenant: TenantRef,
    /// The stack row.
    pub stack: Stack,
    /// The operation in `stack.current_operation_id`, if it is there.
    pub current: Option<Operation>,
    /// The operation in `stack.last_operation_id`, if it is there.
    pub last: Option<Operation>,
}

/// One per actix worker (registered in `api::configure`, which runs once per worker): no
/// lock is shared between the two HTTP threads, and a body is rendered at most once per
/// worker per change.
#[derive(Debug, Default)]
pub struct StatusCache {
    inner: Mutex<HashMap<String, (StatusRows, Bytes)>>,
}

impl StatusCache {
    /// The body rendered before from rows equal to `rows`, if still remembered.
    pub fn get(&self, rows: &StatusRows) -> Option<Bytes> {
        let map = self.lock();
        let (seen, body) = map.get(&rows.stack.stack_name)?;
        (seen == rows).then(|| body.clone())
    }

    /// Remembers `body` as the answer rendered from `rows` (replacing the stack's older one).
    pub fn put(&self, rows: StatusRows, body: Bytes) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES && !map.contains_key(&rows.stack.stack_name) {
            map.clear();
        }
        map.insert(rows.stack.stack_name.clone(), (rows, body));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (StatusRows, Bytes)>> {
        // Entries are independent and inserted whole: nothing a panicking holder left matters.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::{OperationKind, OperationStatus, StackStatus};

    fn at(secs: i64) -> chrono::NaiveDateTime {
        DateTime::from_timestamp(secs, 0).unwrap().naive_utc()
    }

    fn operation(id: &str, status: OperationStatus) -> Operation {
        Operation {
            seq: 1,
            id: id.into(),
            stack_name: "acme-prod".into(),
            kind: OperationKind::Update,
            status,
            config_version: Some(1),
            executor: "local".into(),
            external_ref: None,
            worker_id: Some("w1".into()),
            lease_expires_at: Some(at(100)),
            attempt: 1,
            cancel_requested: false,
            stack_status_before: None,
            requested_by: Some("admin".into()),
            created_at: at(10),
            started_at: Some(at(11)),
            finished_at: None,
            error: None,
            summary: None,
            lease_token: 1,
        }
    }

    fn rows() -> StatusRows {
        StatusRows {
            tenant: TenantRef {
                slug: "acme".into(),
                aws_region: "eu-west-1".into(),
            },
            stack: Stack {
                stack_name: "acme-prod".into(),
                tenant_id: "t1".into(),
                environment: "prod".into(),
                status: StackStatus::InProgress,
                outputs: Some(r#"{"vpc_id":{"secret":false,"value":"vpc-1"}}"#.into()),
                error: None,
                last_operation_id: Some("op0".into()),
                created_at: at(1),
                updated_at: at(11),
                current_operation_id: Some("op1".into()),
                deployed_release: None,
            },
            current: Some(operation("op1", OperationStatus::Running)),
            last: Some(operation("op0", OperationStatus::Succeeded)),
        }
    }

    #[test]
    fn a_body_is_answered_only_for_rows_equal_to_those_it_was_rendered_from() {
        let cache = StatusCache::default();
        cache.put(rows(), Bytes::from_static(b"before"));
        assert_eq!(cache.get(&rows()).unwrap(), "before");

        // Each kind of write the status shows, one at a time: none may be answered from
        // the remembered body.
        type Change = (&'static str, fn(&mut StatusRows));
        let changes: Vec<Change> = vec![
            ("the operation finished", |r| {
                let op = r.current.as_mut().unwrap();
                op.status = OperationStatus::Succeeded;
                op.finished_at = Some(at(20));
            }),
            ("the lease was renewed", |r| {
                r.current.as_mut().unwrap().lease_expires_at = Some(at(200))
            }),
            ("the operation is gone", |r| r.current = None),
            ("the stack moved on", |r| {
                r.stack.current_operation_id = None;
                r.stack.last_operation_id = Some("op1".into());
            }),
            ("outputs were stored", |r| r.stack.outputs = None),
            ("the stack was destroyed", |r| {
                r.stack.status = StackStatus::Destroyed
            }),
            ("the last operation's summary", |r| {
                r.last.as_mut().unwrap().summary = Some(r#"{"same":3}"#.into())
            }),
            ("another region", |r| {
                r.tenant.aws_region = "us-east-1".into()
            }),
        ];
        for (what, change) in changes {
            let mut changed = rows();
            change(&mut changed);
            assert!(
                cache.get(&changed).is_none(),
                "{what}: answered from before"
            );
        }
        // The stack's new answer replaces the old one.
        let mut after = rows();
        after.stack.status = StackStatus::Succeeded;
        cache.put(after.clone(), Bytes::from_static(b"after"));
        assert_eq!(cache.get(&after).unwrap(), "after");
        assert!(cache.get(&rows()).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = StatusCache::default();
        for i in 0..(MAX_ENTRIES * 3) {
            let mut r = rows();
            r.stack.stack_name = format!("t{i}-prod");
            cache.put(r, Bytes::from_static(b"x"));
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }
}
