//! A user's pause, resume and abort of a rollout, each one transaction.

use diesel::prelude::*;

use super::{Rollout, append_event, targets};
use crate::domain::rollout::RolloutStatus;
use crate::store::queue::QueueError;
use crate::store::schema::rollouts as ro;
use crate::store::{Conn, Found, StoreError, transaction};

/// A control the rollout's state refuses.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The rollout has ended.
    #[error("rollout {id} has already {status}")]
    Ended {
        /// The rollout.
        id: String,
        /// How it ended.
        status: RolloutStatus,
    },
    /// The queue refused to cancel, or the database failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        Self::Queue(e.into())
    }
}

impl From<diesel::result::Error> for ControlError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Queue(e.into())
    }
}

/// Reads the rollout for a change, locking its row on PostgreSQL (a driver step holds the same
/// lock, so the two take turns).
fn lock(conn: &mut Conn, id: &str) -> Result<Rollout, ControlError> {
    let r: Option<Rollout> =
        crate::store::on_backend!(conn, |c| diesel::update(ro::table.find(id))
            .set(ro::updated_at.eq(ro::updated_at))
            .returning(Rollout::as_returning())
            .get_result(c)
            .optional())?;
    let r = Ok::<_, StoreError>(r).found("rollout", || id.to_owned())?;
    if r.status.is_final() {
        return Err(ControlError::Ended {
            id: r.id,
            status: r.status,
        });
    }
    Ok(r)
}

fn set(
    conn: &mut Conn,
    id: &str,
    from: RolloutStatus,
    to: RolloutStatus,
) -> Result<Rollout, ControlError> {
    transaction(conn, |conn| {
        let r = lock(conn, id)?;
        if r.status == from {
            diesel::update(ro::table.find(id))
                .set((ro::status.eq(to), ro::updated_at.eq(crate::store::now())))
                .execute(conn)?;
            append_event(conn, id, &format!("rollout.{to}"), serde_json::json!({}))?;
        }
        Ok(super::find(conn, id)?)
    })
}

/// Pauses a running rollout: nothing new starts; queued and running deploys go on. Pausing a
/// paused one changes nothing.
pub fn pause(conn: &mut Conn, id: &str) -> Result<Rollout, ControlError> {
    set(conn, id, RolloutStatus::Running, RolloutStatus::Paused)
}

/// Resumes a paused rollout where it was. Resuming a running one changes nothing.
pub fn resume(conn: &mut Conn, id: &str) -> Result<Rollout, ControlError> {
    set(conn, id, RolloutStatus::Paused, RolloutStatus::Running)
}

/// Aborts a running or paused rollout: its deploys that have not started are cancelled and its
/// unstarted targets marked cancelled; running deploys are not interrupted (cancel those
/// operations one by one if needed).
pub fn abort(conn: &mut Conn, id: &str) -> Result<Rollout, ControlError> {
    transaction(conn, |conn| {
        let r = lock(conn, id)?;
        let list = targets(conn, id)?;
        super::step::end(
            conn,
            &r,
            &list,
            RolloutStatus::Aborted,
            Some("aborted by a user"),
        )?;
        Ok(super::find(conn, id)?)
    })
}
