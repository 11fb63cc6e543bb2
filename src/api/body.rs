//! Request decoding shared by handlers: strict JSON bodies (`application/json`, one object,
//! no duplicate keys) with JSON-pointer error paths, and problem+json for malformed path and
//! query parameters — reported only once the caller's token has been checked, so a request
//! the caller may not make is refused (401/403) whatever its body or parameters.

use std::fmt;
use std::future::ready;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::ApiError;
use crate::domain::ValidationErrors;
use crate::domain::objects_only::ObjectsOnly;

/// Decodes a JSON body: a syntax error or a duplicate key is 400; anything but an object, or
/// a well-formed body of the wrong shape, is 422 naming the offending field as a JSON pointer.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = strict_value(body)?;
    if !value.is_object() {
        return Err(ValidationErrors::single(
            "/",
            format!(
                "the request body must be a JSON object, not {}",
                kind(&value)
            ),
        )
        .into());
    }
    from_value(value)
}

/// Parses JSON, refusing a key that appears twice in one object (400 naming the key): with
/// serde_json alone the last value would silently win, so what byoc stored could differ from
/// what another parser of the same body saw.
pub fn strict_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = StrictValue {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A JSON value whose objects have unique keys; `path` is its JSON pointer, for the error.
struct StrictValue {
    path: String,
}

impl StrictValue {
    fn child(&self, segment: &str) -> Self {
        Self {
            path: format!(
                "{}/{}",
                self.path,
                segment.replace('~', "~0").replace('/', "~1")
            ),
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = serde_json::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(&out.len().to_string()))? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let at = if self.path.is_empty() {
                    "/"
                } else {
                    &self.path
                };
                return Err(de::Error::custom(format!(
                    "duplicate key '{key}' in the object at {at}"
                )));
            }
            let value = map.next_value_seed(self.child(&key))?;
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// A request body meant to be JSON: read by the extractor, judged only when the handler
/// parses it — after the caller's role was checked.
#[derive(Debug)]
pub struct JsonBody {
    bytes: web::Bytes,
    content_type: Option<String>,
}

impl JsonBody {
    /// Whether the body is empty (or only whitespace): no content type is needed then.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// An optional body (declared `Option<T>` in the document): none, or JSON `null`, is
    /// `T::default()`; anything else is [`JsonBody::parse`]d.
    pub fn parse_optional<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.is_blank() {
            return Ok(T::default());
        }
        self.content_type_is_json()?;
        if strict_value(&self.bytes)?.is_null() {
            return Ok(T::default());
        }
        parse_json(&self.bytes)
    }

    /// The body as `T`: 415 unless it is sent as `application/json` (or `…+json`), then as
    /// [`parse_json`].
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.content_type_is_json()?;
        parse_json(&self.bytes)
    }

    /// 415 unless the body is sent as `application/json` (or `…+json`).
    fn content_type_is_json(&self) -> Result<(), ApiError> {
        let json = self.content_type.as_deref().is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
                || essence.to_ascii_lowercase().ends_with("+json")
        });
        if !json {
            return Err(ApiError::UnsupportedMediaType(
                self.content_type
                    .clone()
                    .unwrap_or_else(|| "no Content-Type".to_owned()),
            ));
        }
        Ok(())
    }
}

impl FromRequest for JsonBody {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            Ok(Self {
                bytes: bytes.await?,
                content_type,
            })
        })
    }
}

/// Resolves once the request's token has been looked up (and its role checked): the
/// `Caller` extractor holds the sender for as long as it works.
#[derive(Debug, Clone)]
pub struct AuthGate(pub tokio::sync::watch::Receiver<()>);

/// `err`, once the request's authentication has finished: handlers take their role
/// extractor first, so a refused caller's 401/403 wins over this (actix answers the first
/// failing extractor in argument order).
pub fn after_auth<T: 'static>(
    req: &HttpRequest,
    err: ApiError,
) -> Pin<Box<dyn Future<Output = Result<T, ApiError>>>> {
    let gate = req.extensions().get::<AuthGate>().cloned();
    Box::pin(async move {
        if let Some(AuthGate(mut rx)) = gate {
            // Err once the sender is gone: authentication has finished, either way.
            while rx.changed().await.is_ok() {}
        }
        Err(err)
    })
}

/// A query string decoded into `T`; a malformed one is a 422 naming `query`, reported after
/// authentication (see [`after_auth`]).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The decoded query.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        match web::Query::<T>::from_query(req.query_string()) {
            Ok(q) => Box::pin(ready(Ok(Self(q.into_inner())))),
            Err(e) => after_auth(req, ValidationErrors::single("query", e.to_string()).into()),
        }
    }
}

/// Decodes an already-parsed JSON value into `T`, naming the offending field on failure.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(ObjectsOnly(&value)).map_err(|e| {
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
