//! Finding the JSON a prompt asked for inside a model's answer: plain JSON, JSON in ```json
//! fences, JSON with prose around it (the first balanced object or array, strings and escapes
//! respected), with the prompt's prefill put back in front.

use serde_json::{Map, Value};

use crate::tape::{Kind, Tape};

/// The end (exclusive) of the balanced object or array starting at `start` (`{` or `[`).
fn balanced_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in b.iter().enumerate().skip(start) {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text inside the first ``` fence (an info string such as `json` is skipped).
fn fenced(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = &text[open + 3..];
    let body_start = after.find('\n').map_or(0, |n| n + 1);
    let body = &after[body_start..];
    let close = body.find("```").unwrap_or(body.len());
    Some(&body[..close])
}

/// Parses the JSON in `text`; `Err` says why there is none. With a prefill, the answer is read
/// with the prefill put back first, then (if that fails) as it came.
pub fn extract_json(text: &str, prefill: Option<&str>) -> Result<Value, String> {
    extract_keys(text, prefill, None)
}

/// [`extract_json`], but when the answer is a JSON object only the members named in `keys` are
/// kept: what a schema reads. The other members are checked against the JSON grammar (RFC 8259)
/// but not built, so what only `serde_json` refuses in them (a number out of `f64` range, an
/// escaped lone surrogate, nesting deeper than 128) does not fail the answer.
pub fn extract_keys(
    text: &str,
    prefill: Option<&str>,
    keys: Option<&[&str]>,
) -> Result<Value, String> {
    match prefill {
        Some(p) if !text.trim_start().starts_with(p.trim()) => {
            let joined = format!("{p}{text}");
            extract_once(&joined, keys).or_else(|e| extract_once(text, keys).map_err(|_| e))
        }
        _ => extract_once(text, keys),
    }
}

/// The `keys` members of a JSON object text, read from its tape; `None` when the text is not a
/// JSON object or a member's value cannot be built (the caller then parses it whole).
fn object_keys(text: &str, keys: &[&str]) -> Option<Value> {
    let tape = Tape::parse(text)?;
    let root = tape.root();
    if root.kind() != Kind::Object {
        return None;
    }
    let mut out = Map::new();
    for &k in keys {
        if let Some(v) = root.get(k) {
            let value = match v.kind() {
                Kind::String => Value::String(v.as_str()?.into_owned()),
                _ => serde_json::from_str(v.raw()).ok()?,
            };
            out.insert(k.to_string(), value);
        }
    }
    Some(Value::Object(out))
}

/// How many opening braces are tried before giving up (bounds the work on hostile text).
const MAX_STARTS: usize = 64;

fn extract_once(text: &str, keys: Option<&[&str]>) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
    }
    if let Some(v) = keys.and_then(|k| object_keys(trimmed, k)) {
        return Ok(v);
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Ok(v);
    }
    let mut candidates: Vec<&str> = Vec::new();
    if let Some(f) = fenced(trimmed) {
        candidates.push(f.trim());
    }
    candidates.push(trimmed);
    let mut last_err = String::from("no JSON object or array in the answer");
    // With a schema, the first value that is an object holding every key wins: prose such as
    // "[1]" or "{see below}" before the answer must not be taken for it. Without one (or when
    // none has the keys) the first valid value is the answer.
    let wanted = |v: &Value| match (keys, v) {
        (None, _) => true,
        (Some(k), Value::Object(m)) => k.iter().all(|k| m.contains_key(*k)),
        (Some(_), _) => false,
    };
    let mut first: Option<Value> = None;
    for cand in candidates {
        if let Ok(v) = serde_json::from_str::<Value>(cand) {
            if wanted(&v) {
                return Ok(v);
            }
            first.get_or_insert(v);
            continue;
        }
        let b = cand.as_bytes();
        let mut pos = 0;
        let mut tries = 0;
        while let Some(off) = b[pos..].iter().position(|&c| c == b'{' || c == b'[') {
            let start = pos + off;
            tries += 1;
            if tries > MAX_STARTS {
                break;
            }
            match balanced_end(b, start) {
                Some(end) => match serde_json::from_str::<Value>(&cand[start..end]) {
                    Ok(v) if wanted(&v) => return Ok(v),
                    Ok(v) => {
                        first.get_or_insert(v);
                    }
                    Err(e) => last_err = format!("invalid JSON in the answer: {e}"),
                },
                None => {
                    if tries == 1 {
                        last_err = "the JSON in the answer is cut off (unbalanced braces; max_tokens reached?)".into();
                    }
                }
            }
            pos = start + 1;
        }
    }
    first.ok_or(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_fenced_and_prose() {
        assert_eq!(extract_json(r#"{"a": 1}"#, None).unwrap(), json!({"a": 1}));
        assert_eq!(
            extract_json("```json\n{\"a\": \"}\"}\n```", None).unwrap(),
            json!({"a": "}"})
        );
        assert_eq!(
            extract_json(
                "Here it is:\n{\"a\": \"x \\\" {\", \"b\": [1, {\"c\": 2}]}\nHope that helps.",
                None
            )
            .unwrap(),
            json!({"a": "x \" {", "b": [1, {"c": 2}]})
        );
        assert_eq!(
            extract_json("\"title_en\": \"T\"}", Some("{")).unwrap(),
            json!({"title_en": "T"})
        );
        assert_eq!(
            extract_json("{\"a\": 1}", Some("{")).unwrap(),
            json!({"a": 1})
        );
    }

    #[test]
    fn keys_only_from_an_object() {
        let text = r#"{"a": "x\ny", "b": [1, {"c": 2}], "a2": null, "d": 1.5, "a": "last"}"#;
        let keys = ["a", "b", "d", "missing"];
        let got = extract_keys(text, None, Some(&keys)).unwrap();
        assert_eq!(got, json!({"a": "last", "b": [1, {"c": 2}], "d": 1.5}));
        let whole = extract_json(text, None).unwrap();
        for k in ["a", "b", "d"] {
            assert_eq!(got[k], whole[k]);
        }
        // Not an object, prose around it, a prefill: as extract_json reads them.
        assert_eq!(extract_keys("[1]", None, Some(&keys)).unwrap(), json!([1]));
        assert_eq!(
            extract_keys("Sure: {\"a\": 1, \"z\": 2} ok", None, Some(&keys)).unwrap(),
            json!({"a": 1, "z": 2})
        );
        assert_eq!(
            extract_keys("\"a\": \"T\"}", Some("{"), Some(&keys)).unwrap(),
            json!({"a": "T"})
        );
        // Members the schema does not read only need to be JSON.
        assert_eq!(
            extract_keys(
                r#"{"a": "ok", "x": 1e400, "y": "\ud800"}"#,
                None,
                Some(&keys)
            )
            .unwrap(),
            json!({"a": "ok"})
        );
        // A lone surrogate escape in a key it reads is U+FFFD (an answer cut inside a
        // character); serde_json, which reads answers without a schema, refuses it.
        assert_eq!(
            extract_keys(r#"{"a": "x\ud800"}"#, None, Some(&keys)).unwrap(),
            json!({"a": "x\u{FFFD}"})
        );
        assert!(extract_json(r#"{"a": "\ud800"}"#, None).is_err());
    }

    #[test]
    fn with_keys_the_object_that_has_them_wins() {
        let keys = ["title_en", "summary_ja"];
        let answer = "See note [1] and {the list}. {\"other\": 1} Answer: {\"title_en\": \"T\", \"summary_ja\": \"S\"} [2]";
        assert_eq!(
            extract_keys(answer, None, Some(&keys)).unwrap(),
            json!({"title_en": "T", "summary_ja": "S"})
        );
        // Without the keys anywhere, the first valid value (collect then calls it invalid).
        assert_eq!(
            extract_keys("[1] then {\"x\": 2}", None, Some(&keys)).unwrap(),
            json!([1])
        );
        // Without a schema, the first balanced value as before.
        assert_eq!(extract_json(answer, None).unwrap(), json!([1]));
        // A prefill put back in front, prose after the object.
        assert_eq!(
            extract_keys(
                "\"title_en\": \"T\", \"summary_ja\": \"S\"} [3]",
                Some("{"),
                Some(&keys)
            )
            .unwrap(),
            json!({"title_en": "T", "summary_ja": "S"})
        );
    }

    #[test]
    fn reasons() {
        assert!(extract_json("", None).unwrap_err().contains("empty"));
        assert!(extract_json("no json here", None)
            .unwrap_err()
            .contains("no JSON"));
        assert!(extract_json("{\"a\": \"cut", None)
            .unwrap_err()
            .contains("cut off"));
    }
}
