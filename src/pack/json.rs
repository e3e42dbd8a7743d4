//! A small JSON writer for the batch lines: keys in a fixed order, strings escaped as
//! `json.dumps(ensure_ascii=False)` does (UTF-8 kept, `"`, `\` and control characters escaped).

/// Appends the escaped content of `s` (no quotes): runs without special bytes are copied whole,
/// found 16 bytes at a time.
pub fn escaped(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    loop {
        let i = crate::simd::json_special(b, start);
        out.extend_from_slice(&b[start..i]);
        if i == b.len() {
            return;
        }
        let c = b[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
            }
        }
        start = i + 1;
    }
}

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escaped(out, s);
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
