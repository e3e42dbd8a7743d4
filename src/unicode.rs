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
        if let Text::Utf8(s) = self {
            return Cow::Borrowed(s);
        }
        let mut out = String::new();
        self.push_to(&mut out);
        Cow::Owned(out)
    }

    /// The text as UTF-8, borrowed from `self` when it already is, else encoded into `buf`.
    /// A buffer reused across calls saves a fresh allocation per text.
    ///
    /// The buffer keeps its length between calls: bytes past the text are left over from
    /// earlier calls (always valid UTF-8), so a reused buffer is never filled again first.
    pub fn utf8_in<'b>(&'b self, buf: &'b mut String) -> &'b str {
        match self {
            Text::Utf8(s) => s,
            Text::Ucs4(c) => {
                buf.clear();
                push_ucs4(buf, c);
                buf
            }
            Text::Latin1(_) | Text::Ucs2(_) => {
                let room = self.room();
                if buf.len() < room {
                    zeros(buf, room - buf.len());
                }
                match self.convert(buf.as_mut_str()) {
                    (read, written) if read == self.units() => &buf[..written],
                    _ => {
                        buf.clear();
                        self.push_to(buf);
                        buf
                    }
                }
            }
        }
    }

    /// Appends the text to `out` as UTF-8.
    pub fn push_to(&self, out: &mut String) {
        match self {
            Text::Utf8(s) => out.push_str(s),
            Text::Ucs4(c) => push_ucs4(out, c),
            Text::Latin1(_) | Text::Ucs2(_) => {
                let start = out.len();
                zeros(out, self.room());
                let (read, written) = self.convert(&mut out[start..]);
                out.truncate(start + written);
                // `room` is an upper bound, so all is read; were it not, the rest follows.
                let rest = match self {
                    Text::Latin1(b) => Text::Latin1(&b[read..]),
                    Text::Ucs2(u) => Text::Ucs2(&u[read..]),
                    Text::Utf8(_) | Text::Ucs4(_) => return,
                };
                if read > 0 && rest.units() > 0 {
                    rest.push_to(out);
                }
            }
        }
    }

    /// Code units: bytes of Latin-1 or UTF-8, UCS-2 or UCS-4 units.
    fn units(&self) -> usize {
        match self {
            Text::Utf8(s) => s.len(),
            Text::Latin1(b) => b.len(),
            Text::Ucs2(u) => u.len(),
            Text::Ucs4(c) => c.len(),
        }
    }

    /// An upper bound of a Latin-1 or UCS-2 text's UTF-8 length, counted so that only what is
    /// written is allocated (not the 2x or 3x worst case): a surrogate counts 3 bytes, which
    /// covers both a pair (4 for two) and a lone one (U+FFFD).
    fn room(&self) -> usize {
        match self {
            Text::Latin1(b) => b.len() + b.iter().filter(|&&c| c >= 0x80).count(),
            Text::Ucs2(u) => u
                .iter()
                .map(|&c| 1 + usize::from(c >= 0x80) + usize::from(c >= 0x800))
                .sum(),
            Text::Utf8(_) | Text::Ucs4(_) => 0,
        }
    }

    /// Encodes a Latin-1 or UCS-2 text at the start of `dst`, which encoding_rs keeps valid
    /// UTF-8 throughout: the units read and the bytes written.
    fn convert(&self, dst: &mut str) -> (usize, usize) {
        match self {
            Text::Latin1(b) => encoding_rs::mem::convert_latin1_to_str_partial(b, dst),
            Text::Ucs2(u) => encoding_rs::mem::convert_utf16_to_str_partial(u, dst),
            Text::Utf8(_) | Text::Ucs4(_) => (0, 0),
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Utf8(Cow::Borrowed(s))
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
