//! Finding the JSON a prompt asked for inside a model's answer: plain JSON, JSON in ```json
//! fences, JSON with prose around it (the first balanced object or array, strings and escapes
//! respected), with the prompt's prefill put back in front.

use serde_json::Value;

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
    match prefill {
        Some(p) if !text.trim_start().starts_with(p.trim()) => {
            let joined = format!("{p}{text}");
            extract_once(&joined).or_else(|e| extract_once(text).map_err(|_| e))
        }
        _ => extract_once(text),
    }
}

/// How many opening braces are tried before giving up (bounds the work on hostile text).
const MAX_STARTS: usize = 64;

fn extract_once(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
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
    for cand in candidates {
        if let Ok(v) = serde_json::from_str::<Value>(cand) {
            return Ok(v);
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
                    Ok(v) => return Ok(v),
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
    Err(last_err)
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
