//! A deserializer over a parsed JSON document that refuses an array where an object is
//! expected, at any depth.
//!
//! serde-derived structs also accept their fields as a sequence, by position: through
//! serde_json, `{"node_group_config": [["t3.large"], 3]}` reads as instance types and a desired
//! size. No client means that, the OpenAPI document does not allow it, and a reordered struct
//! would silently change its meaning; so request bodies go through this instead of
//! `&serde_json::Value` itself. Everything else behaves as serde_json's own.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde_json::{Error, Value};

/// `value`, deserialized with objects only where structs are expected.
#[derive(Debug, Clone, Copy)]
pub struct ObjectsOnly<'a>(pub &'a Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn visit_array<'de, V: Visitor<'de>>(items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
    let mut seq = Items(items.iter());
    let out = visitor.visit_seq(&mut seq)?;
    // As serde_json: a tuple that stops early does not silently drop the rest.
    match seq.0.len() {
        0 => Ok(out),
        _ => Err(de::Error::invalid_length(
            items.len(),
            &"fewer elements in array",
        )),
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    map: &'de serde_json::Map<String, Value>,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut fields = Fields {
        iter: map.iter(),
        value: None,
    };
    let out = visitor.visit_map(&mut fields)?;
    match fields.iter.len() {
        0 => Ok(out),
        _ => Err(de::Error::invalid_length(
            map.len(),
            &"fewer elements in map",
        )),
    }
}

impl<'de> Deserializer<'de> for ObjectsOnly<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(map) => visit_object(map, visitor),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visit_object(map, visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(Variant {
                name: variant,
                value: None,
            }),
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.iter().next().expect("one entry");
                visitor.visit_enum(Variant {
                    name: variant,
                    value: Some(value),
                })
            }
            // serde_json's own error for anything else.
            other => other.deserialize_enum(name, variants, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Items<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(ObjectsOnly(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields<'de> {
    iter: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value is missing"))?;
        seed.deserialize(ObjectsOnly(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Variant<'de> {
    name: &'de str,
    value: Option<&'de Value>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Payload<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Payload<'de>), Error> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::new(self.name))?;
        Ok((variant, Payload(self.value)))
    }
}

struct Payload<'de>(Option<&'de Value>);

impl<'de> VariantAccess<'de> for Payload<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.0 {
            Some(value) => seed.deserialize(ObjectsOnly(value)),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Object(map)) => visit_object(map, visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::ObjectsOnly;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: u32,
        b: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Auto,
        Managed,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Option<Inner>,
        list: Vec<Inner>,
        mode: Mode,
        any: serde_json::Value,
        pair: (u8, String),
    }

    fn parse(v: serde_json::Value) -> Result<Outer, String> {
        Outer::deserialize(ObjectsOnly(&v)).map_err(|e| e.to_string())
    }

    #[test]
    fn what_serde_json_accepts_as_objects_still_parses_the_same() {
        let v = json!({
            "inner": {"a": 1, "b": "x"},
            "list": [{"a": 2, "b": null}],
            "mode": "auto",
            "any": [1, {"k": [true]}],
            "pair": [3, "y"],
        });
        let ours = parse(v.clone()).unwrap();
        let theirs = Outer::deserialize(&v).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.mode, Mode::Auto);
        assert_eq!(ours.list[0], Inner { a: 2, b: None });
    }

    #[test]
    fn an_array_for_a_struct_is_refused_at_any_depth() {
        let nested =
            json!({"inner": [1, "x"], "list": [], "mode": "managed", "any": 0, "pair": [1, ""]});
        assert!(
            Outer::deserialize(&nested).is_ok(),
            "serde_json alone takes it"
        );
        let err = parse(nested).unwrap_err();
        assert!(
            err.contains("invalid type: sequence, expected struct Inner"),
            "{err}"
        );
        let in_list = json!({"inner": null, "list": [[1, null]], "mode": "managed", "any": 0, "pair": [1, ""]});
        assert!(parse(in_list).is_err());
    }

    #[test]
    fn type_errors_and_unknown_fields_read_as_serde_jsons() {
        let v =
            json!({"inner": {"a": "one"}, "list": [], "mode": "auto", "any": 0, "pair": [1, ""]});
        assert_eq!(
            parse(v.clone()).unwrap_err(),
            Outer::deserialize(&v).unwrap_err().to_string()
        );
        let v = json!({"inner": {"a": 1, "c": 2}, "list": [], "mode": "auto", "any": 0, "pair": [1, ""]});
        assert_eq!(
            parse(v.clone()).unwrap_err(),
            Outer::deserialize(&v).unwrap_err().to_string()
        );
        let v = json!({"inner": null, "list": [], "mode": "fargate", "any": 0, "pair": [1, ""]});
        assert_eq!(
            parse(v.clone()).unwrap_err(),
            Outer::deserialize(&v).unwrap_err().to_string()
        );
        let v = json!({"inner": null, "list": [], "mode": "auto", "any": 0, "pair": [1, "", 3]});
        assert!(parse(v).is_err(), "a tuple with extra elements");
    }
}
