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
#[derive(Debug)]
pub struct Sink {
    out: String,
    pending: Sep,
    keep_paragraphs: bool,
    limit: usize,
    count: usize,
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

#[inline]
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

impl Sink {
    pub fn new(keep_paragraphs: bool, max_chars: Option<usize>, capacity: usize) -> Self {
        let limit = max_chars.unwrap_or(usize::MAX);
        let cap = capacity.min(limit.saturating_mul(3)).min(1 << 26);
        Sink {
            out: String::with_capacity(cap),
            pending: Sep::None,
            keep_paragraphs,
            limit,
            count: 0,
            full: limit == 0,
        }
    }

    /// True once `max_chars` code points have been written; callers stop feeding text.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.full
    }

    pub fn keep_paragraphs(&self) -> bool {
        self.keep_paragraphs
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

    #[inline]
    fn flush_sep(&mut self) {
        let sep = std::mem::replace(&mut self.pending, Sep::None);
        let s = match sep {
            Sep::None => return,
            _ if !self.keep_paragraphs => " ",
            Sep::Space => " ",
            Sep::Line => "\n",
            Sep::Para => "\n\n",
        };
        for ch in s.chars() {
            if self.count >= self.limit {
                self.full = true;
                return;
            }
            self.out.push(ch);
            self.count += 1;
        }
        if self.count >= self.limit {
            self.full = true;
        }
    }

    /// Writes a run that contains no whitespace and no dropped characters.
    #[inline]
    fn emit(&mut self, run: &str) {
        if run.is_empty() || self.full {
            return;
        }
        if self.pending != Sep::None {
            self.flush_sep();
            if self.full {
                return;
            }
        }
        let room = self.limit - self.count;
        // A run of n bytes has at most n code points: count only when it may not fit.
        if run.len() <= room {
            self.out.push_str(run);
            self.count += count_chars(run);
        } else {
            let mut taken = 0;
            let mut end = run.len();
            for (i, _) in run.char_indices() {
                if taken == room {
                    end = i;
                    break;
                }
                taken += 1;
            }
            self.out.push_str(&run[..end]);
            self.count += taken;
        }
        if self.count >= self.limit {
            self.full = true;
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
        let mut i = 0;
        let mut start = 0;
        let mut newlines = 0u32;
        while i < b.len() {
            if self.full {
                return;
            }
            let c = b[i];
            if c < 0x80 {
                if ascii_space(c) {
                    self.emit(&text[start..i]);
                    if plain && c == b'\n' {
                        newlines += 1;
                    }
                    self.ws(plain, newlines);
                    i += 1;
                    start = i;
                    continue;
                }
                if c < 0x09 || (0x0e..=0x1b).contains(&c) || c == 0x7f {
                    self.emit(&text[start..i]);
                    i += 1;
                    start = i;
                    continue;
                }
                newlines = 0;
                i += 1;
                continue;
            }
            // Multi-byte: only a few lead bytes can start whitespace or a dropped character.
            let w = utf8_width(c);
            if matches!(c, 0xc2 | 0xe1 | 0xe2 | 0xe3 | 0xef) {
                let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                if is_space(ch) {
                    self.emit(&text[start..i]);
                    self.ws(plain, newlines);
                    i += w;
                    start = i;
                    continue;
                }
                if is_dropped(ch) {
                    self.emit(&text[start..i]);
                    i += w;
                    start = i;
                    continue;
                }
            }
            newlines = 0;
            i += w;
        }
        self.emit(&text[start..]);
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
