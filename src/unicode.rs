//! Text held in one of the fixed-width forms a host language may keep it in, turned into UTF-8
//! where it is used.
//!
//! A Python `str` stores one, two or four bytes per code point (Latin-1, UCS-2 or UCS-4). The
//! bindings lend that storage as-is, so the UTF-8 encoding happens inside the parallel workers
//! rather than one string at a time before them.

use std::borrow::Cow;

/// A borrowed or owned text in UTF-8, or borrowed code points of a fixed width.
///
/// `Ucs2` and `Ucs4` may hold surrogate code points (a Python `str` can): a high surrogate
/// followed by a low one becomes the character they encode, any other surrogate one U+FFFD.
#[derive(Clone, Debug)]
pub enum Text<'a> {
    Utf8(Cow<'a, str>),
    Latin1(&'a [u8]),
    Ucs2(&'a [u16]),
    Ucs4(&'a [u32]),
}

impl Text<'_> {
    /// The text as UTF-8, borrowed when it already is.
    pub fn utf8(&self) -> Cow<'_, str> {
        match self {
            Text::Utf8(s) => Cow::Borrowed(s.as_ref()),
            Text::Latin1(b) => {
                let mut out = "\0".repeat(b.len() * 2);
                let n = encoding_rs::mem::convert_latin1_to_str(b, &mut out);
                out.truncate(n);
                Cow::Owned(out)
            }
            Text::Ucs2(u) => {
                let mut out = "\0".repeat(u.len() * 3);
                let n = encoding_rs::mem::convert_utf16_to_str(u, &mut out);
                out.truncate(n);
                Cow::Owned(out)
            }
            Text::Ucs4(c) => Cow::Owned(ucs4_to_string(c)),
        }
    }

    /// The text as UTF-8, borrowed from `self` when it already is, else encoded into `buf`
    /// (cleared first). A buffer reused across calls saves a fresh allocation per text.
    ///
    /// The buffer keeps its length between calls: bytes past the text are left over from
    /// earlier calls (always valid UTF-8), so a reused buffer is never filled again first.
    pub fn utf8_in<'b>(&'b self, buf: &'b mut String) -> &'b str {
        let room = match self {
            Text::Utf8(s) => return s,
            Text::Latin1(b) => b.len() * 2,
            Text::Ucs2(u) => u.len() * 3,
            Text::Ucs4(c) => {
                buf.clear();
                push_ucs4(buf, c);
                return buf;
            }
        };
        if buf.len() < room {
            zeros(buf, room - buf.len());
        }
        // Both converters write into a `&mut str` at least `room` long and keep it valid.
        let n = match self {
            Text::Latin1(b) => encoding_rs::mem::convert_latin1_to_str(b, buf.as_mut_str()),
            Text::Ucs2(u) => encoding_rs::mem::convert_utf16_to_str(u, buf.as_mut_str()),
            _ => 0,
        };
        &buf[..n]
    }

    /// Appends the text to `out` as UTF-8.
    pub fn push_to(&self, out: &mut String) {
        let start = out.len();
        match self {
            Text::Utf8(s) => out.push_str(s),
            Text::Latin1(b) => {
                zeros(out, b.len() * 2);
                let n = encoding_rs::mem::convert_latin1_to_str(b, &mut out[start..]);
                out.truncate(start + n);
            }
            Text::Ucs2(u) => {
                zeros(out, u.len() * 3);
                let n = encoding_rs::mem::convert_utf16_to_str(u, &mut out[start..]);
                out.truncate(start + n);
            }
            Text::Ucs4(c) => push_ucs4(out, c),
        }
    }

    /// The number of code points (a Python `len`).
    pub fn chars(&self) -> usize {
        match self {
            Text::Utf8(s) => s.chars().count(),
            Text::Latin1(b) => b.len(),
            Text::Ucs2(u) => u.len(),
            Text::Ucs4(c) => c.len(),
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Utf8(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::Utf8(Cow::Owned(s))
    }
}

/// Appends `n` NUL bytes: room for an encoder that writes into a `&mut str`.
fn zeros(out: &mut String, n: usize) {
    const BLOCK: &str = "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    out.reserve(n);
    let mut left = n;
    while left >= BLOCK.len() {
        out.push_str(BLOCK);
        left -= BLOCK.len();
    }
    out.push_str(&BLOCK[..left]);
}

fn ucs4_to_string(c: &[u32]) -> String {
    let mut out = String::with_capacity(c.len() * 4);
    push_ucs4(&mut out, c);
    out
}

fn push_ucs4(out: &mut String, c: &[u32]) {
    out.reserve(c.len());
    let mut i = 0;
    while i < c.len() {
        let u = c[i];
        i += 1;
        if let Some(ch) = char::from_u32(u) {
            out.push(ch);
        } else if (0xD800..0xDC00).contains(&u) && i < c.len() && (0xDC00..0xE000).contains(&c[i]) {
            let joined = 0x10000 + ((u - 0xD800) << 10) + (c[i] - 0xDC00);
            out.push(char::from_u32(joined).unwrap_or(char::REPLACEMENT_CHARACTER));
            i += 1;
        } else {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_gives_the_same_utf8() {
        let s = "ascii café ÿ 日本語　テキスト 😀 end";
        let cps: Vec<u32> = s.chars().map(u32::from).collect();
        let ucs4 = Text::Ucs4(&cps);
        assert_eq!(ucs4.utf8(), s);
        let bmp = "café 日本語　テキスト";
        let ucs2: Vec<u16> = bmp.encode_utf16().collect();
        assert_eq!(Text::Ucs2(&ucs2).utf8(), bmp);
        let latin = "café ÿ ×";
        let l1: Vec<u8> = latin
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        assert_eq!(Text::Latin1(&l1).utf8(), latin);
        assert_eq!(Text::from(s).utf8(), s);
        assert_eq!(ucs4.chars(), s.chars().count());
        for t in [
            Text::Ucs4(&cps),
            Text::Ucs2(&ucs2),
            Text::Latin1(&l1),
            Text::from(s),
        ] {
            let mut out = String::from("before|");
            t.push_to(&mut out);
            assert_eq!(out, format!("before|{}", t.utf8()));
            let mut buf = String::from("old");
            assert_eq!(t.utf8_in(&mut buf), t.utf8());
            // Reused after a longer text, and after one with wide characters at its end.
            let mut buf = "\u{65e5}\u{1f600}".repeat(40);
            assert_eq!(t.utf8_in(&mut buf), t.utf8());
            assert_eq!(t.utf8_in(&mut buf), t.utf8());
        }
    }

    #[test]
    fn surrogates_join_in_pairs_and_stand_alone_as_replacement() {
        // "a\ud83d\ude00b\ud800c\udc00" as Python code points.
        let cps = [0x61, 0xD83D, 0xDE00, 0x62, 0xD800, 0x63, 0xDC00];
        let want = "a😀b\u{FFFD}c\u{FFFD}";
        assert_eq!(Text::Ucs4(&cps).utf8(), want);
        let units: Vec<u16> = cps.iter().map(|&c| c as u16).collect();
        assert_eq!(Text::Ucs2(&units).utf8(), want);
    }
}
