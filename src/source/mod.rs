//! Article sources read by the core: WordPress exports (WXR, [`wxr`]). Parquet, JSONL and CSV
//! are read by pyarrow in the Python layer (`bedrock_batch.sources`).
//!
//! [`Checked`] hands a file's bytes to a parser only after they are known to be UTF-8 with no
//! character XML forbids, so a bad byte is named by its own offset (and [`locate`]d to a line and
//! column) instead of surfacing as a parser's vaguer complaint somewhere later.

pub mod wxr;

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Error;

/// Where a source's bytes come from: a file (read again from the start to locate an error)
/// or bytes in memory (tests, small inputs).
#[derive(Clone)]
pub enum Origin {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

impl Origin {
    /// A fresh reader over the whole input.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        match self {
            Origin::File(path) => match File::open(path) {
                Ok(f) => Ok(Box::new(f)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NotFound {
                    path: path.display().to_string(),
                    message: "no such file".into(),
                }),
                Err(e) => Err(Error::Io {
                    path: path.display().to_string(),
                    source: e,
                }),
            },
            Origin::Memory(bytes) => Ok(Box::new(io::Cursor::new(Arc::clone(bytes)))),
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset`, found by reading the input
/// again up to it: only an error pays for this, and memory stays bounded for any file size.
pub fn locate(origin: &Origin, offset: u64) -> (u64, u64) {
    let Ok(mut reader) = origin.open() else {
        return (0, 0);
    };
    let mut line = 1;
    let mut column = 1;
    let mut left = offset;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let chars = |b: &[u8]| b.iter().filter(|&&c| c & 0xC0 != 0x80).count() as u64;
        match memchr::memrchr(b'\n', chunk) {
            Some(last) => {
                line += memchr::memchr_iter(b'\n', chunk).count() as u64;
                column = 1 + chars(&chunk[last + 1..]);
            }
            None => column += chars(chunk),
        }
        left -= n as u64;
    }
    (line, column)
}

/// `path: line L, column C` for messages.
pub fn position(name: &str, origin: &Origin, offset: u64) -> String {
    let (line, column) = locate(origin, offset);
    format!("{name}: line {line}, column {column}")
}

/// The first byte a source may not hold: not UTF-8, or a character XML 1.0 forbids anywhere
/// (C0 controls other than tab, newline and carriage return; U+FFFE, U+FFFF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadByte {
    /// Absolute offset of the byte in the input.
    pub offset: u64,
    pub message: String,
}

/// A `BufRead` that checks bytes before handing them out: UTF-8 (a sequence cut by a read is
/// held back until the next read completes it) and the characters XML 1.0 never allows. The
/// bytes before a bad one are handed out first, so the parser reports any earlier problem
/// first; then reading fails with `InvalidData` and [`Checked::bad`] says what and where.
pub struct Checked {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    /// Next byte to hand out.
    start: usize,
    /// End of the checked bytes that may be handed out.
    end: usize,
    /// Bytes in `buf`; `end..len` is an incomplete UTF-8 sequence held back.
    len: usize,
    /// Absolute offset of `buf[0]`.
    offset: u64,
    eof: bool,
    bad: Option<BadByte>,
}

const CHUNK: usize = 1 << 16;

impl Checked {
    pub fn new(inner: Box<dyn Read + Send>) -> Self {
        Checked {
            inner,
            buf: vec![0u8; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            len: 0,
            offset: 0,
            eof: false,
            bad: None,
        }
    }

    /// The bad byte that stopped reading, if one did.
    pub fn bad(&self) -> Option<&BadByte> {
        self.bad.as_ref()
    }

    /// Reads and checks the next chunk (after the previous one was consumed).
    fn refill(&mut self) -> io::Result<()> {
        let tail = self.len - self.end;
        self.buf.copy_within(self.end..self.len, 0);
        self.offset += self.end as u64;
        self.start = 0;
        self.end = 0;
        self.len = tail;
        loop {
            if !self.eof {
                match self.inner.read(&mut self.buf[self.len..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let bytes = &self.buf[..self.len];
            let (valid, bad_utf8) = match simdutf8::compat::from_utf8(bytes) {
                Ok(_) => (bytes.len(), None),
                // A sequence cut by the end of what was read: complete it with the next read.
                Err(e) if e.error_len().is_none() && !self.eof => (e.valid_up_to(), None),
                Err(e) => (e.valid_up_to(), Some(e.valid_up_to())),
            };
            let bad_char = forbidden(&bytes[..valid]);
            let stop = match (bad_char, bad_utf8) {
                (Some((at, what)), _) => Some((at, what)),
                (None, Some(at)) => {
                    let end = (at + 4).min(bytes.len());
                    let shown: Vec<String> = bytes[at..end]
                        .iter()
                        .take_while(|&&b| b >= 0x80)
                        .map(|b| format!("\\x{b:02x}"))
                        .collect();
                    let shown = if shown.is_empty() {
                        format!("\\x{:02x}", bytes[at])
                    } else {
                        shown.join("")
                    };
                    Some((
                        at,
                        format!(
                            "bytes that are not UTF-8 ({shown}); a WordPress export is UTF-8: \
                             convert the file (e.g. iconv -f WINDOWS-1252 -t UTF-8)"
                        ),
                    ))
                }
                (None, None) => None,
            };
            if let Some((at, message)) = stop {
                self.end = at;
                self.bad = Some(BadByte {
                    offset: self.offset + at as u64,
                    message,
                });
                return Ok(());
            }
            self.end = valid;
            if self.end > 0 || self.eof {
                return Ok(());
            }
            // Only the start of a cut sequence so far: read on.
        }
    }
}

/// The first character XML 1.0 forbids in `s` (valid UTF-8): its index and a description.
fn forbidden(s: &[u8]) -> Option<(usize, String)> {
    let control = s
        .iter()
        .position(|&b| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r');
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
    let nonchar = memchr::memmem::find_iter(s, b"\xEF\xBF")
        .find(|&i| matches!(s.get(i + 2), Some(0xBE | 0xBF)));
    match (control, nonchar) {
        (Some(c), n) if n.is_none_or(|n| c < n) => Some((
            c,
            format!(
                "the control character U+{:04X}, which XML does not allow (not even in CDATA); \
                 remove it from the post or the file",
                s[c]
            ),
        )),
        (_, Some(n)) => Some((
            n,
            format!(
                "the character U+{:04X}, which XML does not allow",
                if s[n + 2] == 0xBE { 0xFFFE } else { 0xFFFF }
            ),
        )),
        _ => None,
    }
}

impl Read for Checked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Checked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            if self.bad.is_some() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad byte"));
            }
            if !(self.eof && self.end == self.len) {
                self.refill()?;
            }
            if self.start == self.end && self.bad.is_some() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad byte"));
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads through `Checked` with reads of at most `step` bytes from the source.
    fn read_all(bytes: &[u8], step: usize) -> (Vec<u8>, Option<BadByte>) {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.2.min(out.len()).min(self.0.len() - self.1);
                out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut r = Checked::new(Box::new(Trickle(bytes.to_vec(), 0, step)));
        let mut out = Vec::new();
        loop {
            match r.fill_buf() {
                Ok([]) => break,
                Ok(b) => {
                    let n = b.len();
                    out.extend_from_slice(b);
                    r.consume(n);
                }
                Err(_) => break,
            }
        }
        (out, r.bad().cloned())
    }

    #[test]
    fn utf8_cut_anywhere_passes() {
        let text = "héllo — 日本語 🚀 \u{FFFD} tab\there\r\n".repeat(50);
        for step in 1..9 {
            let (out, bad) = read_all(text.as_bytes(), step);
            assert_eq!(bad, None, "step {step}");
            assert_eq!(out, text.as_bytes(), "step {step}");
        }
    }

    #[test]
    fn bad_bytes_are_found_at_their_offset() {
        for (input, at, what) in [
            (&b"abc\xffdef"[..], 3, "not UTF-8"),
            (b"ab\xe6\x97", 2, "not UTF-8"), // cut at the end of the file
            (b"abc\x01", 3, "U+0001"),
            (b"a\x0bb", 1, "U+000B"),
            (b"xx\xef\xbf\xbe", 2, "U+FFFE"),
            (b"\xef\xbf\xbf", 0, "U+FFFF"),
            (b"ok \xed\xa0\x80", 3, "not UTF-8"), // a surrogate
        ] {
            for step in [1, 2, 3, 64] {
                let (out, bad) = read_all(input, step);
                let bad = bad.unwrap_or_else(|| panic!("{input:?} passed"));
                assert_eq!(bad.offset, at, "{input:?} step {step}");
                assert!(bad.message.contains(what), "{}", bad.message);
                assert_eq!(out, &input[..at as usize]);
            }
        }
    }

    #[test]
    fn locate_counts_lines_and_characters() {
        let origin = Origin::Memory(Arc::from(&b"one\ntw\xc3\xa9o\nthree"[..]));
        assert_eq!(locate(&origin, 0), (1, 1));
        assert_eq!(locate(&origin, 4), (2, 1));
        // After "twé": three characters, four bytes.
        assert_eq!(locate(&origin, 8), (2, 4));
        assert_eq!(locate(&origin, 10), (3, 1));
    }
}
