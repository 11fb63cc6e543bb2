//! Parsing request bodies (JSON or YAML) with the path of any type error or unknown field.

use super::EnvironmentConfigRequest;
use crate::domain::ValidationErrors;
use crate::domain::objects_only::ObjectsOnly;

/// Parses a JSON request body; each type error or unknown field becomes a field error whose
/// `field` is the JSON pointer of the offending value (e.g. `/eks_config/node_groups/0/name`).
pub fn parse_request(
    value: serde_json::Value,
) -> Result<EnvironmentConfigRequest, ValidationErrors> {
    let (request, errors) = parse_request_all(value);
    errors.into_result(request)
}

/// At most this many type errors are collected from one document.
const MAX_TYPE_ERRORS: usize = 100;

/// Parses a JSON request body, collecting every type error and unknown field instead of
/// stopping at the first (serde does): each offending value is recorded and removed, and the
/// rest parsed again. Returns the request made of the values that did parse (so the semantic
/// checks can still judge them) with the type errors; the request is only meant to be saved
/// when the errors are empty.
pub fn parse_request_all(
    mut value: serde_json::Value,
) -> (EnvironmentConfigRequest, ValidationErrors) {
    let mut errors = ValidationErrors::new();
    while errors.0.len() < MAX_TYPE_ERRORS {
        match serde_path_to_error::deserialize(ObjectsOnly(&value)) {
            Ok(request) => return (request, errors),
            Err(e) => {
                let (pointer, message) = path_error(e);
                errors.push(pointer.clone(), message);
                if !remove(&mut value, &pointer) {
                    break;
                }
            }
        }
    }
    (EnvironmentConfigRequest::default(), errors)
}

/// Removes the value at `pointer` so the next parse goes past it. An array element takes its
/// whole array with it (removing one element would shift the pointers of the next errors).
/// `false` when nothing could be removed (the document itself is wrong).
fn remove(value: &mut serde_json::Value, pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    if parent.is_empty() && last.is_empty() {
        return false;
    }
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(serde_json::Value::Object(map)) => map.remove(&key).is_some(),
        Some(serde_json::Value::Array(_)) => remove(value, parent),
        _ => false,
    }
}

/// Parses a YAML document (the CLI's config file) the same way as [`parse_request`].
pub fn parse_request_yaml(text: &str) -> Result<EnvironmentConfigRequest, ValidationErrors> {
    let value: serde_json::Value = yaml_serde::from_str(text)
        .map_err(|e| ValidationErrors::single("/", format!("not a valid YAML document: {e}")))?;
    parse_request(value)
}

/// The JSON pointer and message of a serde error.
fn path_error(err: serde_path_to_error::Error<serde_json::Error>) -> (String, String) {
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
    (pointer, message)
}
