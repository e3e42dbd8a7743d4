//! The JSON tape: accepts and rejects what serde_json does (but for what only serde_json
//! refuses: numbers past f64, lone surrogates, deep nesting), and every value it gives is
//! serde_json's.
#![no_main]
use _core::tape::{Kind, Tape, Val};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn same(t: Val<'_, '_>, v: &Value) {
    match v {
        Value::Null => assert_eq!(t.kind(), Kind::Null),
        Value::Bool(b) => {
            assert_eq!(t.kind(), Kind::Bool);
            assert_eq!(t.raw(), if *b { "true" } else { "false" });
        }
        Value::Number(n) => {
            assert_eq!(t.kind(), Kind::Number);
            if let Some(u) = n.as_u64() {
                assert_eq!(t.as_u64(), Some(u));
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            let g = t.as_f64().unwrap_or(f64::NAN);
            assert!(
                f == g || (f.is_nan() && g.is_nan()),
                "{} read as {g}, serde {f}",
                t.raw()
            );
        }
        Value::String(s) => {
            assert_eq!(t.kind(), Kind::String);
            assert_eq!(t.as_str().as_deref(), Some(s.as_str()));
        }
        Value::Array(items) => {
            assert_eq!(t.kind(), Kind::Array);
            let ours: Vec<_> = t.items().collect();
            assert_eq!(ours.len(), items.len());
            for (a, b) in ours.into_iter().zip(items) {
                same(a, b);
            }
        }
        Value::Object(map) => {
            assert_eq!(t.kind(), Kind::Object);
            let members: Vec<_> = t.members().collect();
            // serde_json keeps the last of a repeated key.
            let mut last = std::collections::HashMap::new();
            for (k, val) in &members {
                let key = k.as_str().expect("a key is a string").into_owned();
                last.insert(key, *val);
            }
            assert_eq!(last.len(), map.len());
            for (k, want) in map {
                same(*last.get(k).expect("the same keys"), want);
            }
        }
    }
}

/// `src` with each lone surrogate escape (`\ud800` not followed by a low one, or a low one
/// alone) as `\ufffd`: JSON allows them, the tape reads them as U+FFFD, serde_json refuses them.
fn without_lone_surrogates(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let (mut i, mut in_string) = (0, false);
    let hex = |at: usize| {
        b.get(at..at + 6)
            .filter(|e| e[0] == b'\\' && e[1] == b'u')
            .and_then(|e| std::str::from_utf8(&e[2..]).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    while i < b.len() {
        let c = b[i];
        if !in_string {
            in_string = c == b'"';
        } else if c == b'"' {
            in_string = false;
        } else if c == b'\\' {
            match hex(i) {
                Some(0xD800..=0xDBFF) if matches!(hex(i + 6), Some(0xDC00..=0xDFFF)) => {
                    out.push_str(&src[i..i + 12]);
                    i += 12;
                    continue;
                }
                Some(0xD800..=0xDFFF) => {
                    out.push_str("\\ufffd");
                    i += 6;
                    continue;
                }
                _ => {
                    // The backslash and the character it escapes.
                    let n = 1 + src[i + 1..].chars().next().map_or(0, char::len_utf8);
                    out.push_str(&src[i..i + n]);
                    i += n;
                    continue;
                }
            }
        }
        let len = src[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&src[i..i + len]);
        i += len;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let tape = Tape::parse(src);
    let serde = serde_json::from_str::<Value>(&without_lone_surrogates(src));
    match (tape, serde) {
        (Some(t), Ok(v)) => same(t.root(), &v),
        (None, Err(_)) => {}
        // The grammar (RFC 8259) allows numbers past f64 and nesting past serde_json's 128
        // levels; the tape reads them (a number as infinity), serde_json refuses them.
        (Some(_), Err(e))
            if e.to_string().starts_with("number out of range")
                || e.to_string().starts_with("recursion limit exceeded") => {}
        (Some(_), Err(e)) => panic!("the tape accepts what serde_json rejects ({e}): {src:?}"),
        (None, Ok(_)) => panic!("the tape rejects what serde_json accepts: {src:?}"),
    }
});
