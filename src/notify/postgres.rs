//! The hub across processes on PostgreSQL: every wake-up a process makes is also sent as
//! `NOTIFY byoc_wake`, and every process LISTENs on that channel and wakes its own workers and
//! event streams. One dedicated connection per process does both, on a thread of its own
//! (diesel's connections are blocking). Notifications arrive on the connection's socket
//! without any query: the thread reads the socket every `TICK` (libpq's
//! `PQconsumeInput`, no round trip to the server). A lost connection is re-opened, and since
//! wake-ups may have been missed meanwhile, everything local is woken once.

use std::sync::Weak;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{Hub, Wake};

/// The channel byoc's processes talk on.
pub const CHANNEL: &str = "byoc_wake";
/// How often the listening thread reads notifications that arrived on its socket.
const TICK: Duration = Duration::from_millis(20);
/// Pause before re-opening a lost connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// Payload of a queue wake-up; an operation's change is `c:<operation id>`.
const QUEUED: &str = "q";

fn encode(wake: &Wake) -> String {
    match wake {
        Wake::Queued => QUEUED.to_owned(),
        Wake::Changed(id) => format!("c:{id}"),
    }
}

fn decode(payload: &str) -> Option<Wake> {
    match payload {
        QUEUED => Some(Wake::Queued),
        _ => payload
            .strip_prefix("c:")
            .filter(|id| !id.is_empty())
            .map(|id| Wake::Changed(id.to_owned())),
    }
}

/// Connects `hub` to every other process on the PostgreSQL database at `url`: from now on
/// its wake-ups are published, and theirs arrive. Runs until the process exits.
pub fn bridge(hub: &Hub, url: &str) {
    let (tx, rx) = mpsc::channel();
    if hub.inner.remote.set(tx).is_err() {
        return; // Already bridged.
    }
    // A weak link: the thread ends once every clone of the hub is gone.
    let (hub, url) = (std::sync::Arc::downgrade(&hub.inner), url.to_owned());
    let spawned = std::thread::Builder::new()
        .name("byoc-notify".into())
        .spawn(move || run(&hub, &url, &rx));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no cross-process wake-ups: polling only");
    }
}

fn run(hub: &Weak<super::Inner>, url: &str, outbox: &mpsc::Receiver<Wake>) {
    let mut first = true;
    while hub.strong_count() > 0 {
        match PgConnection::establish(url) {
            Ok(mut conn) => {
                let listening = diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn);
                if let Err(e) = listening {
                    tracing::warn!(error = %e, "cannot LISTEN for wake-ups");
                } else {
                    if !first && let Some(hub) = upgrade(hub) {
                        hub.wake_all_local();
                    }
                    first = false;
                    let pid = own_pid(&mut conn);
                    match serve(hub, &mut conn, outbox, pid) {
                        Ok(()) => return, // Every hub is gone: the process is ending.
                        Err(e) => tracing::warn!(error = %e, "wake-up connection lost"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the wake-up connection"),
        }
        std::thread::sleep(RECONNECT);
    }
}

/// The server process of `conn`: its own notifications come back with this id.
fn own_pid(conn: &mut PgConnection) -> Option<i32> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
        "pg_backend_pid()",
    ))
    .get_result(conn)
    .ok()
}

/// Sends what this process publishes and hands on what arrives, until the connection fails
/// (`Err`) or the hub's sender is dropped (`Ok`). What this connection sent itself comes back
/// too ("a client that executes NOTIFY … listening on the same channel … will get back a
/// notification event", <https://www.postgresql.org/docs/current/sql-notify.html>): it is
/// skipped, since this process woke its own streams and workers before sending it (and its
/// streams got the events in memory).
fn serve(
    hub: &Weak<super::Inner>,
    conn: &mut PgConnection,
    outbox: &mpsc::Receiver<Wake>,
    own_pid: Option<i32>,
) -> QueryResult<()> {
    loop {
        match outbox.recv_timeout(TICK) {
            Ok(wake) => {
                // Send a burst of wake-ups in one go; duplicates are one wake-up.
                let mut batch = vec![wake];
                batch.extend(outbox.try_iter());
                batch.dedup();
                for wake in &batch {
                    diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<Text, _>(CHANNEL)
                        .bind::<Text, _>(encode(wake))
                        .execute(conn)?;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        for notification in conn.notifications_iter() {
            let notification = notification?;
            if Some(notification.process_id) == own_pid {
                continue;
            }
            if let (Some(wake), Some(hub)) = (decode(&notification.payload), upgrade(hub)) {
                hub.wake_local(&wake);
            }
        }
    }
}

fn upgrade(hub: &Weak<super::Inner>) -> Option<Hub> {
    hub.upgrade().map(|inner| Hub { inner })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_unknown_ones_are_ignored() {
        for wake in [Wake::Queued, Wake::Changed("0b7e…".into())] {
            assert_eq!(decode(&encode(&wake)), Some(wake));
        }
        assert_eq!(decode("c:"), None);
        assert_eq!(decode("bogus"), None);
    }

    /// Two hubs (two processes) on one database: a wake-up made in one reaches the other's
    /// idle workers and the live streams of that operation there.
    #[tokio::test]
    async fn wake_ups_cross_processes_through_the_database() {
        if std::env::var("BYOC_TEST_DATABASE").as_deref() != Ok("postgres") {
            return; // Needs the PostgreSQL test server (CI runs it with the variable set).
        }
        let db = crate::store::scratch::ScratchDatabase::postgres().unwrap();
        let crate::store::DatabaseUrl::Postgres(url) = db.url().clone() else {
            unreachable!()
        };
        let (api, worker) = (Hub::new(), Hub::new());
        bridge(&api, &url);
        bridge(&worker, &url);
        let mut stream = api.subscribe("op-1");
        let wait = Duration::from_secs(10);
        // The listeners may not be up yet: repeat the wake-up until it lands (each try is
        // a real NOTIFY; the assertion is that one arrives, never that it is fast).
        let woke = tokio::time::timeout(wait, async {
            loop {
                let idle = api.queued();
                worker.operation_queued();
                if tokio::time::timeout(Duration::from_millis(200), idle)
                    .await
                    .is_ok()
                {
                    break;
                }
            }
        })
        .await;
        assert!(woke.is_ok(), "a queue wake-up crossed to the other hub");
        worker.changed("op-1");
        tokio::time::timeout(wait, stream.next())
            .await
            .expect("the other hub's stream of op-1 is woken");
    }
}
