//! Tails an `--event-log` file while the CLI writes it, as an async stream of decoded events.
//! Ends at `cancelEvent`, or when told the process exited (after a final drain) — a CLI that
//! fails early never writes the file.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::decode::{EventDecoder, EventItem};
use super::error::PulumiError;
use super::events::EventPayload;

/// How often the file is polled for new bytes while it is quiet (the Python SDK uses 100 ms).
const POLL: Duration = Duration::from_millis(50);

/// How soon it is read again after a read found new bytes. The engine writes its events in
/// bursts (a step's events together, the summary last): read at the quiet pace, a burst that
/// ends just before the CLI exits was decoded and forwarded only after the exit, on the path
/// to the next CLI call (the bench's stand-in writes ~330 KB in its last 50 ms: 5.8 ms p50
/// between `up` and the outputs read). A quiet log costs no more reads than before.
const POLL_WHILE_WRITING: Duration = Duration::from_millis(5);

/// The stream of decoded events of one log.
///
/// Items travel boxed: tokio's channel allocates its slots 32 at a time, the first 32 when it
/// is created, and an item is ~290 bytes, so each running engine command held ~9 KiB of
/// empty slots; boxed, 256 bytes (issue 16: memory per operation in flight).
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Box<EventItem>>,
}

impl futures_util::Stream for EventStream {
    type Item = EventItem;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EventItem>> {
        self.rx.poll_recv(cx).map(|item| item.map(|b| *b))
    }
}

impl EventStream {
    /// The next item, or `None` once the log has ended.
    pub async fn next_item(&mut self) -> Option<EventItem> {
        self.rx.recv().await.map(|b| *b)
    }
}

/// Controls a running tail.
#[derive(Debug)]
pub struct TailHandle {
    done: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TailHandle {
    /// Tells the tail the writer exited: read what is left, then end the stream.
    pub fn writer_exited(&mut self) {
        if let Some(tx) = self.done.take() {
            // The task may already have ended at `cancelEvent`; nothing left to tell it.
            let _ = tx.send(());
        }
    }

    /// Waits for the tail task to end.
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "event log tail task failed");
        }
    }
}

/// Pre-creates (truncates) `path` and starts tailing it.
pub async fn tail_event_log(path: &Path) -> Result<(EventStream, TailHandle), PulumiError> {
    // Opened and read on the runtime's thread, not through `tokio::fs` (see `read_some`).
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| PulumiError::io(format!("creating event log {}", path.display()), e))?;
    let (tx, rx) = mpsc::channel(256);
    let (done_tx, done_rx) = oneshot::channel();
    let task = tokio::spawn(run_tail(path.to_path_buf(), file, tx, done_rx));
    Ok((
        EventStream { rx },
        TailHandle {
            done: Some(done_tx),
            task,
        },
    ))
}

async fn run_tail(
    path: PathBuf,
    mut file: std::fs::File,
    tx: mpsc::Sender<Box<EventItem>>,
    mut done: oneshot::Receiver<()>,
) {
    let mut decoder = EventDecoder::new();
    let mut exited = false;
    loop {
        let mut grew = false;
        // Read everything available now.
        loop {
            match read_some(&mut file, &mut decoder) {
                Ok(None) => break,
                Ok(Some(items)) => {
                    grew = true;
                    for item in items {
                        let is_end = matches!(&item, Ok(ev) if ev.payload == EventPayload::Cancel);
                        if tx.send(Box::new(item)).await.is_err() || is_end {
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "reading event log failed");
                    return;
                }
            }
        }
        if exited {
            for item in decoder.finish() {
                if tx.send(Box::new(item)).await.is_err() {
                    return;
                }
            }
            return;
        }
        let pause = if grew { POLL_WHILE_WRITING } else { POLL };
        tokio::select! {
            // Either way (signalled, or the handle dropped) the writer is gone: drain once more.
            _ = &mut done => exited = true,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Reads what the CLI appended since the last read (at most one chunk) and decodes it; `None`
/// when nothing new is there. The log is a local file the CLI appends to, so a read returns
/// at once with what the page cache holds: it runs on the runtime's thread. Through
/// `tokio::fs` each poll of each running operation was a hop to the blocking pool (20 a
/// second per operation, growing the pool to 161 threads with 300 in flight), and each tail
/// kept two 64 KiB buffers (its own and `tokio::fs::File`'s); the chunk is on the stack now
/// and nothing is kept between polls but the decoder's partial line.
fn read_some(
    file: &mut std::fs::File,
    decoder: &mut EventDecoder,
) -> std::io::Result<Option<Vec<EventItem>>> {
    use std::io::Read;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(decoder.push(&chunk[..n]))),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
