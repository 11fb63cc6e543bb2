//! Where each value of a YAML or JSON document sits: JSON pointer → line number, so that a
//! 422's field pointers can be shown with the line of the file the operator wrote. JSON is
//! read as YAML (flow style), so one parser serves both.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Pointer → 1-based line of a parsed document.
#[derive(Debug, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// Indexes `text`; `None` when it does not parse.
    pub fn build(text: &str) -> Option<Self> {
        let mut rx = Receiver::default();
        Parser::new_from_str(text).load(&mut rx, false).ok()?;
        Some(Self { lines: rx.lines })
    }

    /// The line of `pointer`, or of its nearest ancestor present in the document (a missing
    /// field is reported where its parent is), with whether the match was exact.
    pub fn line_of(&self, pointer: &str) -> Option<(usize, bool)> {
        let mut p = pointer.trim_end_matches('/');
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some((*line, p.len() == pointer.trim_end_matches('/').len()));
            }
            let cut = p.rfind('/')?;
            p = &p[..cut];
        }
    }
}

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

#[derive(Default)]
struct Receiver {
    /// Open containers, innermost last.
    frames: Vec<Frame>,
    /// Pointer segments of the open containers (escaped per RFC 6901).
    path: Vec<String>,
    lines: HashMap<String, usize>,
}

impl Receiver {
    fn pointer(&self, last: Option<&str>) -> String {
        let mut p: String = self.path.iter().map(|s| format!("/{s}")).collect();
        if let Some(last) = last {
            p.push('/');
            p.push_str(last);
        }
        p
    }

    /// A node (scalar or container start) arrived: where does it go? Returns the segment it
    /// is stored under (None for the root and for mapping keys).
    fn place(&mut self, ev: &Event, mark: Marker) -> Option<Option<String>> {
        match self.frames.last_mut() {
            None => {
                self.lines.entry(String::new()).or_insert(mark.line());
                Some(None)
            }
            Some(Frame::Map { key }) => match key.take() {
                None => {
                    // A key: remember it and its line (errors point at the key's line).
                    let name = match ev {
                        Event::Scalar(v, ..) => escape(v),
                        _ => String::from("?"),
                    };
                    let ptr = self.pointer(Some(&name));
                    self.lines.entry(ptr).or_insert(mark.line());
                    if let Some(Frame::Map { key }) = self.frames.last_mut() {
                        *key = Some(name);
                    }
                    None
                }
                Some(name) => Some(Some(name)),
            },
            Some(Frame::Seq { next }) => {
                let seg = next.to_string();
                *next += 1;
                let ptr = self.pointer(Some(&seg));
                self.lines.entry(ptr).or_insert(mark.line());
                Some(Some(seg))
            }
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl MarkedEventReceiver for Receiver {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(..) | Event::Alias(..) => {
                self.place(&ev, mark);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A container used as a mapping key is not addressable by a pointer.
                let seg = self.place(&ev, mark).unwrap_or(Some("?".to_owned()));
                if let Some(seg) = seg {
                    self.path.push(seg);
                }
                self.frames.push(match ev {
                    Event::MappingStart(..) => Frame::Map { key: None },
                    _ => Frame::Seq { next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
                if !self.frames.is_empty() {
                    self.path.pop();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
# prod
eks_mode: managed
vpc_config:
  cidr_block: 10.0.0.0/8
  nat_gateway_strategy: single
eks_config:
  node_groups:
    - name: general
      scaling:
        min_size: 5
    - name: gpu
tags: {team: platform, a/b: c}
";

    #[test]
    fn yaml_pointers_map_to_their_lines() {
        let idx = LineIndex::build(YAML).unwrap();
        assert_eq!(idx.line_of("/eks_mode"), Some((2, true)));
        assert_eq!(idx.line_of("/vpc_config/cidr_block"), Some((4, true)));
        assert_eq!(idx.line_of("/eks_config/node_groups/0"), Some((8, true)));
        assert_eq!(
            idx.line_of("/eks_config/node_groups/0/scaling/min_size"),
            Some((10, true))
        );
        assert_eq!(
            idx.line_of("/eks_config/node_groups/1/name"),
            Some((11, true))
        );
        assert_eq!(idx.line_of("/tags/a~1b"), Some((12, true)));
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let idx = LineIndex::build(YAML).unwrap();
        assert_eq!(idx.line_of("/vpc_config/missing"), Some((3, false)));
        assert_eq!(idx.line_of("/nope"), Some((2, false)));
        assert_eq!(idx.line_of("/"), Some((2, true)));
    }

    #[test]
    fn json_documents_are_indexed_too() {
        let json = "{\n  \"vpc_config\": {\n    \"cidr_block\": \"10.0.0.0/8\"\n  },\n  \"x\": [1,\n 2]\n}\n";
        let idx = LineIndex::build(json).unwrap();
        assert_eq!(idx.line_of("/vpc_config/cidr_block"), Some((3, true)));
        assert_eq!(idx.line_of("/x/1"), Some((6, true)));
    }

    #[test]
    fn unparseable_text_has_no_index() {
        assert!(LineIndex::build("a: [").is_none());
    }
}
