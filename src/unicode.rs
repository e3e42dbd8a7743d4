//! Text held in one of the fixed-width forms a host language may keep it in, turned into UTF-8
//! where it is used.
//!
//! A Python `str` stores one, two or four bytes per code point (Latin-1, UCS-2 or UCS-4). The
//! bindings lend that storage as-is, so the UTF-8 encoding happens inside the parallel workers
//! rather than one string at a time before them.

use std::borrow::Cow;

use crate::utf8;

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
        if let Some(s) = self.as_str() {
            return Cow::Borrowed(s);
        }
        let mut out = String::new();
        self.push_to(&mut out);
        Cow::Owned(out)
    }

    /// The text when it is UTF-8 already: UTF-8, or Latin-1 that is all ASCII.
    fn as_str(&self) -> Option<&str> {
        match self {
            Text::Utf8(s) => Some(s),
            Text::Latin1(b) if b.is_ascii() => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The same text, borrowed from `self`.
    pub fn reborrow(&self) -> Text<'_> {
        match self {
            Text::Utf8(s) => Text::Utf8(Cow::Borrowed(s)),
            Text::Latin1(b) => Text::Latin1(b),
            Text::Ucs2(u) => Text::Ucs2(u),
            Text::Ucs4(c) => Text::Ucs4(c),
        }
    }

    /// The text as UTF-8, borrowed from `self` when it already is, else encoded into `buf`.
    /// A buffer reused across calls saves a fresh allocation per text.
    pub fn utf8_in<'b>(&'b self, buf: &'b mut String) -> &'b str {
        if let Some(s) = self.as_str() {
            return s;
        }
        buf.clear();
        self.push_to(buf);
        buf
    }

    /// Appends the text to `out` as UTF-8 (see [`crate::utf8`]).
    pub fn push_to(&self, out: &mut String) {
        match self {
            Text::Utf8(s) => out.push_str(s),
            Text::Latin1(b) => utf8::push_latin1(out, b),
            Text::Ucs2(u) => utf8::push_ucs2(out, u),
            Text::Ucs4(c) => utf8::push_ucs4(out, c),
        }
    }

    /// [`Text::push_json`] without counting the classes (for text already measured).
    pub fn push_json_uncounted(&self, out: &mut Vec<u8>) {
        match self {
            Text::Utf8(s) => utf8::push_json_utf8(out, s, &mut [0; 4]),
            Text::Latin1(b) => utf8::push_json_uncounted(out, b),
            Text::Ucs2(u) => utf8::push_json_uncounted(out, u),
            Text::Ucs4(c) => utf8::push_json_uncounted(out, c),
        }
    }

    /// The exact length of what [`Text::push_json`] writes, with its byte classes added to
    /// `classes`, without writing it.
    pub fn json_measure(&self, classes: &mut utf8::Classes) -> usize {
        match self {
            Text::Utf8(s) => utf8::json_measure_utf8(s, classes),
            Text::Latin1(b) => utf8::json_measure(b, classes),
            Text::Ucs2(u) => utf8::json_measure(u, classes),
            Text::Ucs4(c) => utf8::json_measure(c, classes),
        }
    }

    /// Asks the memory for the first `bytes` of the text's storage, a cache line at a time:
    /// a hint that reads nothing and cannot fault, for text about to be read.
    #[inline]
    pub fn prefetch(&self, bytes: usize) {
        let (start, len) = match self {
            Text::Utf8(s) => (s.as_ptr(), s.len()),
            Text::Latin1(b) => (b.as_ptr(), b.len()),
            Text::Ucs2(u) => (u.as_ptr().cast::<u8>(), u.len() * 2),
            Text::Ucs4(c) => (c.as_ptr().cast::<u8>(), c.len() * 4),
        };
        let mut at = 0;
        while at < len.min(bytes) {
            crate::sys::prefetch(start.wrapping_add(at));
            at += 64;
        }
    }

    /// Code units: bytes of UTF-8 or Latin-1, UCS-2 or UCS-4 units (each one character at most).
    pub fn units(&self) -> usize {
        match self {
            Text::Utf8(s) => s.len(),
            Text::Latin1(b) => b.len(),
            Text::Ucs2(u) => u.len(),
            Text::Ucs4(c) => c.len(),
        }
    }

    /// Appends the text's UTF-8 escaped as the inside of a JSON string and adds its byte
    /// classes (for the token estimate) to `classes`.
    pub fn push_json(&self, out: &mut Vec<u8>, classes: &mut utf8::Classes) {
        match self {
            Text::Utf8(s) => utf8::push_json_utf8(out, s, classes),
            Text::Latin1(b) => utf8::push_json(out, b, classes),
            Text::Ucs2(u) => utf8::push_json(out, u, classes),
            Text::Ucs4(c) => utf8::push_json(out, c, classes),
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Utf8(Cow::Borrowed(s))
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
