//! The text sink every cleaner writes into: whitespace collapsing, paragraph breaks and
//! truncation by Unicode code points, in one pass over the text.

/// A pending separator between two runs of text. Ordered: a stronger break wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sep {
    None,
    Space,
    Line,
    Para,
}

/// Accumulates cleaned text.
///
/// Whitespace is never written directly: it becomes a pending separator that is written only
/// when more text follows, so the output is always stripped at both ends. Truncation counts
/// code points, exactly like Python's `s[:n]` on the untruncated result.
///
/// Code points are only counted once the output's byte length could reach the limit (a code
/// point is at least one byte), so untruncated text is copied run by run without counting.
#[derive(Debug)]
pub struct Sink {
    out: String,
    pending: Sep,
    keep_paragraphs: bool,
    limit: usize,
    /// Exact code points in `out`, valid only when `counting`.
    count: usize,
    counting: bool,
    full: bool,
}

/// Whitespace as Python's `str.isspace()` sees it (the production pipeline used `\s+`), which
/// includes U+3000 (ideographic space) and U+00A0 (NBSP).
#[inline]
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Characters dropped from the output: NUL, other C0 controls that are not whitespace, DEL and
/// the byte-order mark / zero-width no-break space. They carry nothing a summariser can read.
#[inline]
fn is_dropped(c: char) -> bool {
    matches!(c, '\0'..='\u{08}' | '\u{0e}'..='\u{1b}' | '\u{7f}' | '\u{feff}')
}

/// Byte classes for the scanning loop.
const ORDINARY: u8 = 0;
const ASCII_SPACE: u8 = 1;
const ASCII_DROPPED: u8 = 2;
/// A lead byte that can start a non-ASCII space or dropped character (U+0085, U+00A0, U+1680,
/// U+2000-U+205F, U+3000, U+FEFF): the character is decoded and checked.
const CHECK: u8 = 3;

const CLASS: [u8; 256] = {
    let mut t = [ORDINARY; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = ASCII_DROPPED;
        b += 1;
    }
    t[b'\t' as usize] = ASCII_SPACE;
    t[b'\n' as usize] = ASCII_SPACE;
    t[0x0b] = ASCII_SPACE;
    t[0x0c] = ASCII_SPACE;
    t[b'\r' as usize] = ASCII_SPACE;
    t[0x1c] = ASCII_SPACE;
    t[0x1d] = ASCII_SPACE;
    t[0x1e] = ASCII_SPACE;
    t[0x1f] = ASCII_SPACE;
    t[b' ' as usize] = ASCII_SPACE;
    t[0x7f] = ASCII_DROPPED;
    t[0xc2] = CHECK;
    t[0xe1] = CHECK;
    t[0xe2] = CHECK;
    t[0xe3] = CHECK;
    t[0xef] = CHECK;
    t
};

impl Sink {
    pub fn new(keep_paragraphs: bool, max_chars: Option<usize>, capacity: usize) -> Self {
        let limit = max_chars.unwrap_or(usize::MAX);
        // A code point takes at most four bytes.
        let cap = capacity.min(limit.saturating_mul(4));
        Sink {
            out: String::with_capacity(cap),
            pending: Sep::None,
            keep_paragraphs,
            limit,
            count: 0,
            counting: false,
            full: limit == 0,
        }
    }

    /// True once `max_chars` code points have been written; callers stop feeding text.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Requests a separator before the next text. Leading separators are dropped.
    #[inline]
    pub fn brk(&mut self, sep: Sep) {
        if !self.out.is_empty() && sep > self.pending {
            self.pending = sep;
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// Writes a run that contains no whitespace and no dropped characters.
    #[inline]
    fn emit(&mut self, run: &str) {
        if run.is_empty() || self.full {
            return;
        }
        let sep = match std::mem::replace(&mut self.pending, Sep::None) {
            Sep::None => "",
            _ if !self.keep_paragraphs => " ",
            Sep::Space => " ",
            Sep::Line => "\n",
            Sep::Para => "\n\n",
        };
        // Fast path: even if every byte were a code point, the limit is not reached.
        if !self.counting && self.out.len() + sep.len() + run.len() < self.limit {
            self.out.push_str(sep);
            self.out.push_str(run);
            return;
        }
        if !self.counting {
            self.count = count_chars(&self.out);
            self.counting = true;
        }
        for piece in [sep, run] {
            let room = self.limit - self.count;
            // A piece of n bytes has at most n code points.
            let (end, taken) = if piece.len() <= room {
                (piece.len(), count_chars(piece))
            } else {
                let mut taken = 0;
                let mut end = piece.len();
                for (i, _) in piece.char_indices() {
                    if taken == room {
                        end = i;
                        break;
                    }
                    taken += 1;
                }
                (end, taken)
            };
            self.out.push_str(&piece[..end]);
            self.count += taken;
            if self.count >= self.limit {
                self.full = true;
                return;
            }
        }
    }

    /// Appends text whose whitespace is insignificant (HTML text, Markdown inline text): every
    /// run of whitespace becomes one space.
    pub fn push(&mut self, text: &str) {
        self.push_impl(text, false);
    }

    /// Appends plain text: a blank line becomes a paragraph break when paragraphs are kept.
    pub fn push_plain(&mut self, text: &str) {
        self.push_impl(text, true);
    }

    fn push_impl(&mut self, text: &str, plain: bool) {
        let b = text.as_bytes();
        let n = b.len();
        let mut i = 0;
        let mut start = 0;
        let mut newlines = 0u32;
        while i < n {
            match CLASS[b[i] as usize] {
                ORDINARY => {
                    i += 1;
                    continue;
                }
                ASCII_SPACE => {
                    if i > start {
                        self.emit(&text[start..i]);
                        newlines = 0;
                    }
                    if plain && b[i] == b'\n' {
                        newlines += 1;
                    }
                    self.ws(plain, newlines);
                    i += 1;
                    start = i;
                }
                ASCII_DROPPED => {
                    if i > start {
                        self.emit(&text[start..i]);
                        newlines = 0;
                    }
                    i += 1;
                    start = i;
                }
                _ => {
                    // Hiragana, katakana and CJK punctuation (lead 0xE3) and the 0xEF block are
                    // text but for U+3000 (E3 80 80) and U+FEFF (EF BB BF): skip the decoding.
                    let lead = b[i];
                    let tail = (b.get(i + 1).copied(), b.get(i + 2).copied());
                    if (lead == 0xe3 && tail != (Some(0x80), Some(0x80)))
                        || (lead == 0xef && tail != (Some(0xbb), Some(0xbf)))
                    {
                        i += 3;
                        continue;
                    }
                    let w = utf8_width(lead);
                    let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                    if is_space(ch) {
                        if i > start {
                            self.emit(&text[start..i]);
                            newlines = 0;
                        }
                        self.ws(plain, newlines);
                        start = i + w;
                    } else if is_dropped(ch) {
                        if i > start {
                            self.emit(&text[start..i]);
                            newlines = 0;
                        }
                        start = i + w;
                    }
                    i += w;
                }
            }
            if self.full {
                return;
            }
        }
        if n > start {
            self.emit(&text[start..]);
        }
    }

    #[inline]
    fn ws(&mut self, plain: bool, newlines: u32) {
        let sep = if plain && newlines >= 2 {
            Sep::Para
        } else {
            Sep::Space
        };
        self.brk(sep);
    }
}

#[inline]
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        _ => 2,
    }
}

/// Number of code points in `s` (bytes that are not UTF-8 continuation bytes).
#[inline]
pub fn count_chars(s: &str) -> usize {
    s.bytes().filter(|&b| b & 0xc0 != 0x80).count()
}

/// Cleans plain text: whitespace collapsed, stripped, truncated.
pub fn clean_text(text: &str, keep_paragraphs: bool, max_chars: Option<usize>) -> String {
    let mut sink = Sink::new(keep_paragraphs, max_chars, text.len());
    sink.push_plain(text);
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py_slice(s: &str, n: usize) -> String {
        s.chars().take(n).collect()
    }

    #[test]
    fn collapses_all_python_whitespace() {
        assert_eq!(
            clean_text(" a\u{3000}\u{a0}b\t\r\n c\u{2003}d  ", false, None),
            "a b c d"
        );
        assert_eq!(clean_text("\u{3000}\u{3000}", false, None), "");
        assert_eq!(clean_text("", false, None), "");
    }

    #[test]
    fn drops_nul_and_bom() {
        assert_eq!(clean_text("\u{feff}a\0b\u{7}c", false, None), "abc");
    }

    #[test]
    fn keeps_paragraphs_in_plain_text() {
        assert_eq!(
            clean_text("one\ntwo\n\n\n three  \n\nfour", true, None),
            "one two\n\nthree\n\nfour"
        );
    }

    #[test]
    fn truncates_like_python_slicing() {
        let full = clean_text("日本語 の テキスト and english 😀 words", false, None);
        for n in 0..=full.chars().count() + 2 {
            assert_eq!(
                clean_text("日本語 の テキスト and english 😀 words", false, Some(n)),
                py_slice(&full, n),
                "n={n}"
            );
        }
        let paras = clean_text("ab\n\ncd", true, None);
        for n in 0..6 {
            assert_eq!(clean_text("ab\n\ncd", true, Some(n)), py_slice(&paras, n));
        }
    }
}
