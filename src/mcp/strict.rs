//! The strict reading of one JSON-RPC message line: UTF-8, one JSON object, no key given
//! twice at any depth. `serde_json` alone keeps the last of two equal keys, while another
//! reader may keep the first: a message that means two things is refused, never judged.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// JSON-RPC's code for text that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's code for JSON that is not an acceptable request.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's code for a method's parameters that cannot be used.
pub const INVALID_PARAMS: i64 = -32602;

/// Why a line was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
    /// The message's id, when it can be told without doubt.
    pub id: Value,
}

/// Reads one message. Whitespace around it is allowed; nothing else.
pub fn parse(line: &[u8]) -> Result<Value, Refusal> {
    let text = std::str::from_utf8(line).map_err(|e| Refusal {
        code: PARSE_ERROR,
        message: format!("the message is not valid UTF-8 (byte {})", e.valid_up_to()),
        id: Value::Null,
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Strict::deserialize(&mut deserializer).and_then(|v| {
        deserializer.end()?;
        Ok(v.0)
    });
    let value = match parsed {
        Ok(value) => value,
        Err(error) => {
            let duplicate = error.to_string().starts_with(DUPLICATE);
            return Err(Refusal {
                code: if duplicate {
                    INVALID_REQUEST
                } else {
                    PARSE_ERROR
                },
                message: if duplicate {
                    format!("the message gives a key twice ({error})")
                } else {
                    format!("the message is not JSON ({error})")
                },
                id: if duplicate {
                    lenient_id(text)
                } else {
                    Value::Null
                },
            });
        }
    };
    match &value {
        Value::Object(_) => Ok(value),
        Value::Array(_) => Err(Refusal {
            code: INVALID_REQUEST,
            message:
                "JSON-RPC batches are not part of this protocol revision; send one message per line"
                    .to_owned(),
            id: Value::Null,
        }),
        _ => Err(Refusal {
            code: INVALID_REQUEST,
            message: "a message must be a JSON object".to_owned(),
            id: Value::Null,
        }),
    }
}

const DUPLICATE: &str = "duplicate key";

/// The id of a message refused for a duplicate key, when its top level has exactly one
/// usable `id` (a string or a number); otherwise null.
fn lenient_id(text: &str) -> Value {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return Value::Null;
    };
    // `"id"` twice at the top level would make any choice a guess.
    let mut ids = 0;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let _ = CountKey {
        key: "id",
        count: &mut ids,
    }
    .deserialize(&mut deserializer);
    match object.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) if ids == 1 => id.clone(),
        _ => Value::Null,
    }
}

/// Counts the top-level occurrences of one key.
struct CountKey<'a> {
    key: &'static str,
    count: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for CountKey<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountKey<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                *self.count += 1;
            }
            map.next_value::<de::IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A JSON value read with every object's keys checked for repeats.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "{DUPLICATE} `{}`",
                    crate::render::text(&key)
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A JSON-RPC error answer.
pub fn error(id: Value, code: i64, message: &str) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// A tool result that reports an error to the model (`isError: true`), never a fake output.
pub fn tool_error(id: Value, text: &str) -> Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {"content": [{"type": "text", "text": text}], "isError": true},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line() {
        let value = parse(br#" {"jsonrpc":"2.0","id":1,"method":"ping"} "#).unwrap();
        assert_eq!(value["method"], "ping");
    }

    #[test]
    fn duplicate_keys_at_any_depth_are_refused() {
        let refusal = parse(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
        )
        .unwrap_err();
        assert_eq!(refusal.code, INVALID_REQUEST);
        assert_eq!(refusal.id, 7);
        let refusal = parse(br#"{"id":1,"id":2,"method":"x"}"#).unwrap_err();
        assert_eq!(refusal.id, Value::Null, "no guess between two ids");
        let refusal = parse(br#"{"a":[{"k":1,"k":1}]}"#).unwrap_err();
        assert!(refusal.message.contains("twice"), "{}", refusal.message);
    }

    #[test]
    fn batches_non_objects_bad_utf8_and_trailing_text_are_refused() {
        assert_eq!(parse(br#"[{"id":1}]"#).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse(b"3").unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse(b"{\"a\":\"\xff\"}").unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse(br#"{"a":1} {"b":2}"#).unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse(b"not json").unwrap_err().code, PARSE_ERROR);
    }
}
