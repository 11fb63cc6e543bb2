//! Incremental decoder turning event-log bytes into engine events. Accepts JSON Lines and
//! concatenated (pretty-printed) JSON values alike; a bad value becomes an error item carrying
//! its text, and decoding carries on with the next line.

use serde_json::Value;

use super::events::{EngineEvent, EventError};

/// One decoded item of the stream.
pub type EventItem = Result<EngineEvent, EventError>;

/// Buffers partial input until a whole JSON value is available.
#[derive(Debug, Default)]
pub struct EventDecoder {
    buf: Vec<u8>,
}

impl EventDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns every item completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<EventItem> {
        self.buf.extend_from_slice(bytes);
        self.drain(false)
    }

    /// End of input: returns the remaining items; an incomplete tail is an error item.
    pub fn finish(&mut self) -> Vec<EventItem> {
        self.drain(true)
    }

    fn drain(&mut self, at_end: bool) -> Vec<EventItem> {
        let mut items = Vec::new();
        let mut pos = 0;
        loop {
            let ws = self.buf[pos..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let start = pos + ws;
            if start >= self.buf.len() {
                pos = self.buf.len();
                break;
            }
            let mut values =
                serde_json::Deserializer::from_slice(&self.buf[start..]).into_iter::<Value>();
            match values.next() {
                Some(Ok(value)) => {
                    let end = start + values.byte_offset();
                    items.push(EngineEvent::from_value(value).map_err(|reason| EventError {
                        reason,
                        line: self.text(start, end),
                    }));
                    pos = end;
                }
                Some(Err(e)) if e.is_eof() && !at_end => {
                    // A value still being written: wait for more bytes.
                    pos = start;
                    break;
                }
                Some(Err(e)) => {
                    // Skip the broken line and resynchronise on the next one.
                    let nl = self.buf[start..].iter().position(|b| *b == b'\n');
                    let end = match nl {
                        Some(i) => start + i + 1,
                        None if at_end => self.buf.len(),
                        None => {
                            pos = start;
                            break;
                        }
                    };
                    items.push(Err(EventError {
                        reason: e.to_string(),
                        line: self.text(start, end),
                    }));
                    pos = end;
                }
                None => {
                    pos = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..pos);
        items
    }

    fn text(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(&self.buf[start..end])
            .trim()
            .to_owned()
    }
}

/// Decodes a whole log at once (fixtures, or a log read after the fact).
pub fn decode_all(bytes: &[u8]) -> Vec<EventItem> {
    let mut d = EventDecoder::new();
    let mut items = d.push(bytes);
    items.extend(d.finish());
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pulumi::events::{EventPayload, OpType};

    const PRELUDE: &str = r#"{"sequence":0,"timestamp":1,"preludeEvent":{"config":{}}}"#;

    #[test]
    fn partial_lines_wait_for_the_rest() {
        let mut d = EventDecoder::new();
        let (a, b) = PRELUDE.split_at(20);
        assert!(d.push(a.as_bytes()).is_empty());
        let items = d.push(format!("{b}\n").as_bytes());
        assert_eq!(items.len(), 1);
        assert!(matches!(
            items[0],
            Ok(EngineEvent {
                payload: EventPayload::Prelude(_),
                ..
            })
        ));
        assert!(d.finish().is_empty());
    }

    #[test]
    fn a_bad_line_travels_with_its_text_and_decoding_continues() {
        let input = format!("{{\"sequence\":1,\"oops\n{PRELUDE}\n[1]\n");
        let items = decode_all(input.as_bytes());
        assert_eq!(items.len(), 3, "{items:?}");
        let bad = items[0].as_ref().unwrap_err();
        assert!(bad.line.starts_with("{\"sequence\":1"), "{bad:?}");
        assert!(items[1].is_ok());
        assert_eq!(items[2].as_ref().unwrap_err().line, "[1]");
    }

    #[test]
    fn truncated_tail_is_an_error_at_end() {
        let items = decode_all(br#"{"sequence":3,"timestamp":1,"cancelEv"#);
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }

    #[test]
    fn unknown_kinds_ops_and_keys_are_kept() {
        let input = concat!(
            r#"{"sequence":1,"timestamp":2,"fancyNewEvent":{"x":1}}"#,
            "\n",
            r#"{"sequence":2,"timestamp":2,"resourcePreEvent":{"metadata":{"op":"extend-parameterize","urn":"u","type":"t","old":null,"new":null,"detailedDiff":null,"provider":"","brandNew":true}}}"#,
            "\n",
            r#"{"sequence":3,"timestamp":2,"summaryEvent":{"maybeCorrupt":false,"durationSeconds":1,"resourceChanges":{"create":1},"PolicyPacks":{}}}"#,
        );
        let items: Vec<_> = decode_all(input.as_bytes())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(
            matches!(&items[0].payload, EventPayload::Other { kind, .. } if kind == "fancyNewEvent")
        );
        match &items[1].payload {
            EventPayload::ResourcePre(s) => {
                assert_eq!(s.metadata.op, OpType::Other("extend-parameterize".into()));
                assert_eq!(s.metadata.detailed_diff, None);
            }
            p => panic!("{p:?}"),
        }
        match &items[2].payload {
            EventPayload::Summary(s) => {
                assert_eq!(s.result, None);
                assert_eq!(s.is_preview, None);
                assert_eq!(s.resource_changes["create"], 1);
            }
            p => panic!("{p:?}"),
        }
        assert_eq!(items[2].kind(), "summaryEvent");
        assert_eq!(items[2].raw["sequence"], 3);
    }
}
