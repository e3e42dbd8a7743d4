//! The transcoders (Latin-1, UCS-2, UCS-4 and UTF-8; plain and JSON-escaped): equal to the
//! standard library's decoding and serde_json's escaping, on the vector paths and off them.
#![no_main]
use _core::utf8;
use libfuzzer_sys::fuzz_target;

fn json_inside(s: &str) -> Vec<u8> {
    let quoted = serde_json::to_string(s).expect("a str serialises");
    quoted.as_bytes()[1..quoted.len() - 1].to_vec()
}

fn check<U: utf8::Unit>(units: &[U], want: &str, plain: fn(&mut String, &[U])) {
    let mut out = String::from("x");
    plain(&mut out, units);
    assert_eq!(&out[1..], want);
    let mut esc = b"y".to_vec();
    utf8::push_json_uncounted(&mut esc, units);
    let inside = json_inside(want);
    assert_eq!(&esc[1..], &inside[..]);
    let mut classes = [0u64; 4];
    let mut counted = Vec::new();
    utf8::push_json(&mut counted, units, &mut classes);
    assert_eq!(counted, inside);
    let mut measured = [0u64; 4];
    assert_eq!(utf8::json_measure(units, &mut measured), inside.len());
    assert_eq!(measured, classes);
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            let want: String = rest.iter().map(|&b| char::from(b)).collect();
            check::<u8>(rest, &want, utf8::push_latin1);
        }
        1 => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            check::<u16>(&units, &String::from_utf16_lossy(&units), utf8::push_ucs2);
        }
        2 => {
            let units: Vec<u32> = rest
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) % 0x11_0100)
                .collect();
            // As UTF-16 would spell them: a surrogate pair in two units is one character (what
            // `json.dumps` then a JSON reader make of it), a lone surrogate or a value past
            // U+10FFFF is U+FFFD.
            let mut utf16 = Vec::new();
            for &u in &units {
                match char::from_u32(u) {
                    Some(c) => utf16.extend_from_slice(c.encode_utf16(&mut [0; 2])),
                    None if u <= 0xFFFF => utf16.push(u as u16),
                    None => utf16.push(0xFFFD),
                }
            }
            let want = String::from_utf16_lossy(&utf16);
            check::<u32>(&units, &want, utf8::push_ucs4);
        }
        _ => {
            let Ok(s) = std::str::from_utf8(rest) else {
                return;
            };
            let mut classes = [0u64; 4];
            let mut out = Vec::new();
            utf8::push_json_utf8(&mut out, s, &mut classes);
            assert_eq!(out, json_inside(s));
            let mut measured = [0u64; 4];
            assert_eq!(utf8::json_measure_utf8(s, &mut measured), out.len());
            assert_eq!(measured, classes);
        }
    }
});
