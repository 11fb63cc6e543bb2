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
        let pointer = json_pointer(&e.path().to_string());
        ApiError::Validation(ValidationErrors::single(
            pointer,
            e.into_inner().to_string(),
        ))
    })
}

/// Turns serde_path_to_error's `a.b[0].c` into the JSON pointer `/a/b/0/c`.
pub fn json_pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::new();
    for segment in path.split('.') {
        let mut rest = segment;
        let (name, indices) = match rest.find('[') {
            Some(i) => {
                let (n, idx) = rest.split_at(i);
                rest = idx;
                (n, rest)
            }
            None => (rest, ""),
        };
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        for idx in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(idx);
        }
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
    use super::*;

    #[test]
    fn serde_paths_become_json_pointers() {
        assert_eq!(json_pointer("."), "/");
        assert_eq!(
            json_pointer("vpc_config.cidr_block"),
            "/vpc_config/cidr_block"
        );
        assert_eq!(
            json_pointer("eks_config.node_groups[0].scaling.min_size"),
            "/eks_config/node_groups/0/scaling/min_size"
        );
        assert_eq!(json_pointer("tags.a/b"), "/tags/a~1b");
    }
}
