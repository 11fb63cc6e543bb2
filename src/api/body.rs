//! Request decoding shared by handlers: JSON bodies with JSON-pointer error paths, and
//! problem+json for malformed path and query parameters.

use actix_web::web;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::domain::ValidationErrors;

/// Decodes a JSON body: a syntax error is 400; a well-formed body of the wrong shape is 422
/// naming the offending field as a JSON pointer.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    from_value(value)
}

/// Decodes an already-parsed JSON value into `T`, naming the offending field on failure.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = json_pointer(e.path());
        ApiError::Validation(ValidationErrors::single(
            pointer,
            e.into_inner().to_string(),
        ))
    })
}

/// The JSON pointer (RFC 6901) of a deserializer path: `/a/b/0/c`, with `~` and `/` inside a
/// key escaped as `~0` and `~1`; the whole document is `/`.
pub fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                key.replace('~', "~0").replace('/', "~1")
            }
            Segment::Unknown => continue,
        };
        out.push('/');
        out.push_str(&part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Path parameters that fail to decode become 404-free 422s naming the parameter.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError::Validation(ValidationErrors::single("path", err.to_string())).into()
    })
}

/// Query strings that fail to decode become 422s.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError::Validation(ValidationErrors::single("query", err.to_string())).into()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only the decoding error matters")]
    struct Body {
        vpc: Vpc,
        tags: BTreeMap<String, u32>,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only the decoding error matters")]
    struct Vpc {
        subnets: Vec<Subnet>,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only the decoding error matters")]
    struct Subnet {
        size: u32,
    }

    fn pointer_of(value: serde_json::Value) -> String {
        match from_value::<Body>(value) {
            Err(ApiError::Validation(v)) => v.0[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn nested_fields_and_indices_become_json_pointers() {
        let body = json!({"vpc": {"subnets": [{"size": 1}, {"size": "x"}]}, "tags": {}});
        assert_eq!(pointer_of(body), "/vpc/subnets/1/size");
    }

    #[test]
    fn keys_with_dots_slashes_and_tildes_stay_one_segment_escaped() {
        let body = json!({"vpc": {"subnets": []}, "tags": {"a.b/c~d": "x"}});
        assert_eq!(pointer_of(body), "/tags/a.b~1c~0d");
    }

    #[test]
    fn the_whole_document_is_the_root_pointer() {
        assert_eq!(pointer_of(json!([])), "/");
    }
}
