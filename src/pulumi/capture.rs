//! Bounded capture of a child's output stream: keeps the last N bytes with a truncation
//! marker, and optionally tees each line to a caller's sink.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

/// Default bound for each of stdout and stderr.
pub const DEFAULT_CAPTURE_BYTES: usize = 1024 * 1024;

/// Marker put in front of a capture that lost its beginning.
pub const TRUNCATION_MARKER: &str = "[… earlier output truncated …]\n";

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The child's stdout.
    Stdout,
    /// The child's stderr.
    Stderr,
}

/// One line of child output sent to a sink (without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Where it came from.
    pub stream: Stream,
    /// The text (lossy UTF-8).
    pub line: String,
}

/// Keeps the last `cap` bytes appended to it.
#[derive(Debug)]
pub struct BoundedBuffer {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl BoundedBuffer {
    /// An empty buffer keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            truncated: false,
        }
    }

    /// Appends, dropping the oldest bytes beyond the bound.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > self.cap {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
            self.truncated = true;
        }
    }

    /// The kept text, prefixed with [`TRUNCATION_MARKER`] if anything was dropped.
    pub fn into_string(self) -> String {
        let text = String::from_utf8_lossy(&self.buf);
        if self.truncated {
            format!("{TRUNCATION_MARKER}{text}")
        } else {
            text.into_owned()
        }
    }
}

/// Reads `reader` to EOF into a bounded buffer, sending each line to `sink` if given.
pub(crate) async fn capture<R: AsyncRead + Unpin>(
    reader: R,
    stream: Stream,
    cap: usize,
    sink: Option<mpsc::Sender<OutputLine>>,
) -> String {
    // A small read buffer (tokio's default is 8 KiB): two of them live as long as each CLI
    // process, and with `--event-log` the CLI writes little to stdout and stderr.
    let mut reader = BufReader::with_capacity(2 * 1024, reader);
    let mut out = BoundedBuffer::new(cap);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                out.push(&line);
                if let Some(sink) = &sink {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    // A receiver that went away only means nobody watches live output any
                    // more; the capture itself must go on.
                    let _ = sink.send(OutputLine { stream, line: text }).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, ?stream, "reading pulumi output failed");
                break;
            }
        }
    }
    out.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_marks_truncation() {
        let mut b = BoundedBuffer::new(8);
        b.push(b"0123456789");
        b.push(b"ab");
        assert_eq!(b.into_string(), format!("{TRUNCATION_MARKER}456789ab"));
        let mut b = BoundedBuffer::new(8);
        b.push(b"abc");
        assert_eq!(b.into_string(), "abc");
    }

    #[tokio::test]
    async fn tees_lines_to_the_sink() {
        let (tx, mut rx) = mpsc::channel(8);
        let text = capture(&b"one\ntwo\n"[..], Stream::Stderr, 100, Some(tx)).await;
        assert_eq!(text, "one\ntwo\n");
        assert_eq!(rx.recv().await.map(|l| l.line).as_deref(), Some("one"));
        assert_eq!(rx.recv().await.map(|l| l.line).as_deref(), Some("two"));
    }
}
