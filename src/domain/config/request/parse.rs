//! Parsing request bodies (JSON or YAML) with the path of any type error or unknown field.

use super::EnvironmentConfigRequest;
use crate::domain::ValidationErrors;

/// Parses a JSON request body; a type error or unknown field becomes one field error whose
/// `field` is the JSON pointer of the offending value (e.g. `/eks_config/node_groups/0/name`).
pub fn parse_request(
    value: serde_json::Value,
) -> Result<EnvironmentConfigRequest, ValidationErrors> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

/// Parses a YAML document (the CLI's config file) the same way as [`parse_request`].
pub fn parse_request_yaml(text: &str) -> Result<EnvironmentConfigRequest, ValidationErrors> {
    let value: serde_json::Value = yaml_serde::from_str(text)
        .map_err(|e| ValidationErrors::single("/", format!("not a valid YAML document: {e}")))?;
    parse_request(value)
}

fn path_error(err: serde_path_to_error::Error<serde_json::Error>) -> ValidationErrors {
    let mut pointer = String::new();
    for segment in err.path().iter() {
        use serde_path_to_error::Segment;
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => key.clone(),
            Segment::Unknown => continue,
        };
        pointer.push('/');
        pointer.push_str(&part.replace('~', "~0").replace('/', "~1"));
    }
    let inner = err.into_inner();
    let mut message = inner.to_string();
    // serde_json appends " at line L column C", which means nothing for a parsed value.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    if pointer.is_empty() {
        pointer.push('/');
    }
    ValidationErrors::single(pointer, message)
}
