//! A batch of stored events as every live stream sends it: rendered once as SSE frames by the
//! worker that stored it, then handed to each stream of the operation in memory (a cheap
//! clone of one buffer), so a hundred subscribers cost one rendering, not a hundred database
//! reads and renderings.

use bytes::{BufMut, Bytes, BytesMut};

use crate::store::events::Event;

/// Stored events of one operation, consecutive sequence numbers, rendered as SSE frames.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// Sequence number of the first event.
    first: i32,
    /// Every event's frame, in order.
    frames: Bytes,
    /// Where each event's frame starts in `frames` (one per event).
    starts: Vec<usize>,
}

/// What a stream that has sent every event up to some sequence number takes from a batch.
#[derive(Debug, PartialEq)]
pub enum Take {
    /// The frames of the events it has not sent, and the last one's sequence number.
    Frames(Bytes, i32),
    /// Nothing: it has sent all of them already.
    Nothing,
    /// The batch starts after the next event it needs: that one is only in the database.
    Gap,
}

impl EventBatch {
    /// Renders `events` (consecutive, in order); `None` when there are none.
    pub fn render(events: &[Event]) -> Option<Self> {
        let first = events.first()?.seq;
        debug_assert!(
            events.iter().zip(first..).all(|(e, seq)| e.seq == seq),
            "a batch holds consecutive events"
        );
        let mut frames = BytesMut::with_capacity(events.iter().map(frame_len).sum());
        let mut starts = Vec::with_capacity(events.len());
        for e in events {
            starts.push(frames.len());
            write_frame(e, &mut frames);
        }
        Some(Self {
            first,
            frames: frames.freeze(),
            starts,
        })
    }

    /// Sequence number of the last event.
    pub fn last(&self) -> i32 {
        self.first + self.starts.len() as i32 - 1
    }

    /// What a stream that has sent everything up to `after` sends of this batch.
    pub fn after(&self, after: i32) -> Take {
        if after >= self.last() {
            Take::Nothing
        } else if after < self.first - 1 {
            Take::Gap
        } else {
            let from = self.starts[(after + 1 - self.first) as usize];
            Take::Frames(self.frames.slice(from..), self.last())
        }
    }
}

/// One event as an SSE frame: its sequence number is the event id (what `Last-Event-ID`
/// resumes from), its kind the event name, the stored JSON (one line) the data.
pub fn write_frame(e: &Event, out: &mut BytesMut) {
    out.reserve(frame_len(e));
    out.put_slice(b"id: ");
    out.put_slice(e.seq.to_string().as_bytes());
    out.put_slice(b"\nevent: ");
    out.put_slice(e.kind.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(e.payload.as_bytes());
    out.put_slice(b"\n\n");
}

fn frame_len(e: &Event) -> usize {
    // "id: " + up to 11 digits + "\nevent: " + kind + "\ndata: " + payload + "\n\n"
    4 + 11 + 8 + e.kind.len() + 7 + e.payload.len() + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i32) -> Event {
        Event {
            operation_id: "op".into(),
            seq,
            created_at: chrono::NaiveDateTime::default(),
            kind: "diagnosticEvent".into(),
            payload: format!("{{\"n\":{seq}}}"),
        }
    }

    #[test]
    fn a_stream_takes_exactly_the_events_it_has_not_sent() {
        let batch = EventBatch::render(&[event(4), event(5), event(6)]).unwrap();
        assert_eq!(batch.last(), 6);
        let Take::Frames(all, 6) = batch.after(3) else {
            panic!("all three")
        };
        assert_eq!(
            std::str::from_utf8(&all).unwrap(),
            "id: 4\nevent: diagnosticEvent\ndata: {\"n\":4}\n\n\
             id: 5\nevent: diagnosticEvent\ndata: {\"n\":5}\n\n\
             id: 6\nevent: diagnosticEvent\ndata: {\"n\":6}\n\n"
        );
        let Take::Frames(rest, 6) = batch.after(5) else {
            panic!("the last one")
        };
        assert_eq!(
            &rest[..],
            b"id: 6\nevent: diagnosticEvent\ndata: {\"n\":6}\n\n"
        );
        assert_eq!(batch.after(6), Take::Nothing);
        assert_eq!(batch.after(9), Take::Nothing);
        assert_eq!(batch.after(2), Take::Gap, "event 3 is missing");
        assert!(EventBatch::render(&[]).is_none());
    }
}
