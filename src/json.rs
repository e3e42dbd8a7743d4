//! A small JSON writer (the batch lines, the escaped text): keys in a fixed order, strings escaped as
//! `json.dumps(ensure_ascii=False)` does (UTF-8 kept, `"`, `\` and control characters escaped).

/// The escape of each ASCII byte that a JSON string cannot hold raw, and its length (0 for the
/// others): `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, else `\u00XX` for a control character.
pub const ESCAPES: [([u8; 6], u8); 128] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [([0u8; 6], 0u8); 128];
    let mut c = 0;
    while c < 0x20 {
        t[c] = ([b'\\', b'u', b'0', b'0', HEX[c >> 4], HEX[c & 15]], 6);
        c += 1;
    }
    let short: [(u8, u8); 7] = [
        (b'"', b'"'),
        (b'\\', b'\\'),
        (b'\n', b'n'),
        (b'\r', b'r'),
        (b'\t', b't'),
        (0x08, b'b'),
        (0x0c, b'f'),
    ];
    let mut k = 0;
    while k < short.len() {
        t[short[k].0 as usize] = ([b'\\', short[k].1, 0, 0, 0, 0], 2);
        k += 1;
    }
    t
};

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
        let (e, n) = &ESCAPES[b[i] as usize];
        out.extend_from_slice(&e[..*n as usize]);
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
