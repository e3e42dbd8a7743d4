//! A small JSON writer for the batch lines: keys in a fixed order, strings escaped as
//! `json.dumps(ensure_ascii=False)` does (UTF-8 kept, `"`, `\` and control characters escaped).

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Appends `"key":` (keys are ASCII identifiers here).
pub fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a number as JSON (finite floats; integers without a fraction).
pub fn number(out: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        out.extend_from_slice(format!("{}", v as i64).as_bytes());
    } else {
        out.extend_from_slice(
            serde_json::Number::from_f64(v)
                .map_or("null".to_string(), |n| n.to_string())
                .as_bytes(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_python() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\nd\u{1}日本\u{2028}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001日本\u{2028}\""
        );
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        number(&mut out, 0.1);
        out.push(b' ');
        number(&mut out, 4096.0);
        assert_eq!(String::from_utf8(out).unwrap(), "0.1 4096");
    }
}
