//! A validating JSON reader that records where each value is instead of building it.
//!
//! Batch lines are a few small fields around one long string (the article). `serde_json` walks
//! that string byte by byte, once per nesting level that is parsed lazily; here one pass checks
//! the whole line against RFC 8259 (strings skipped 16 bytes at a time) and leaves a flat tape of
//! spans: every value's kind and byte range, and where its subtree ends. Reading a field is then
//! a walk over a few dozen nodes. Only valid JSON gets a tape; for the precise message about
//! invalid input, callers ask `serde_json`, whose errors say line and column.

use std::borrow::Cow;

use crate::simd;

/// Nesting deeper than this is refused (bounds the recursion). It is above `serde_json`'s 128,
/// so a line `serde_json` reads always has a tape.
const MAX_DEPTH: u32 = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    /// The JSON type's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Bool => "boolean",
            Kind::Null => "null",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    kind: Kind,
    /// A string holding a backslash escape.
    escaped: bool,
    start: usize,
    end: usize,
    /// The index of the node after this value's subtree.
    next: usize,
}

/// The spans of one valid JSON text.
pub struct Tape<'a> {
    src: &'a str,
    nodes: Vec<Node>,
}

/// One value of a [`Tape`].
#[derive(Clone, Copy)]
pub struct Val<'t, 'a> {
    tape: &'t Tape<'a>,
    i: usize,
}

struct Parser<'a> {
    b: &'a [u8],
    nodes: Vec<Node>,
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

impl Parser<'_> {
    fn push(&mut self, kind: Kind, start: usize) -> usize {
        self.nodes.push(Node {
            kind,
            escaped: false,
            start,
            end: start,
            next: 0,
        });
        self.nodes.len() - 1
    }

    fn scalar(&mut self, kind: Kind, start: usize, end: usize, escaped: bool) -> usize {
        let idx = self.push(kind, start);
        let n = &mut self.nodes[idx];
        n.end = end;
        n.escaped = escaped;
        n.next = idx + 1;
        end
    }

    /// The value starting at `i`; returns the index after it.
    fn value(&mut self, i: usize, depth: u32) -> Option<usize> {
        let b = self.b;
        match *b.get(i)? {
            b'{' => self.container(i, depth, true),
            b'[' => self.container(i, depth, false),
            b'"' => {
                let (end, escaped) = self.string(i)?;
                Some(self.scalar(Kind::String, i, end, escaped))
            }
            b't' => self.literal(i, b"true", Kind::Bool),
            b'f' => self.literal(i, b"false", Kind::Bool),
            b'n' => self.literal(i, b"null", Kind::Null),
            b'-' | b'0'..=b'9' => {
                let mut j = i + usize::from(b[i] == b'-');
                match b.get(j)? {
                    b'0' => j += 1,
                    b'1'..=b'9' => j = digits(b, j + 1),
                    _ => return None,
                }
                if b.get(j) == Some(&b'.') {
                    let k = digits(b, j + 1);
                    if k == j + 1 {
                        return None;
                    }
                    j = k;
                }
                if let Some(b'e' | b'E') = b.get(j) {
                    j += 1;
                    if let Some(b'+' | b'-') = b.get(j) {
                        j += 1;
                    }
                    let k = digits(b, j);
                    if k == j {
                        return None;
                    }
                    j = k;
                }
                Some(self.scalar(Kind::Number, i, j, false))
            }
            _ => None,
        }
    }

    fn literal(&mut self, i: usize, word: &[u8], kind: Kind) -> Option<usize> {
        self.b[i..]
            .starts_with(word)
            .then(|| self.scalar(kind, i, i + word.len(), false))
    }

    /// The string whose opening quote is at `i`: the index after its closing quote, and whether
    /// it holds escapes. Control characters and bad escapes make it invalid.
    fn string(&self, i: usize) -> Option<(usize, bool)> {
        let b = self.b;
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            j = simd::json_special(b, j);
            match *b.get(j)? {
                b'"' => return Some((j + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    match *b.get(j + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                        b'u' => {
                            let hex = b.get(j + 2..j + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            j += 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn container(&mut self, i: usize, depth: u32, object: bool) -> Option<usize> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let b = self.b;
        let idx = self.push(if object { Kind::Object } else { Kind::Array }, i);
        let close = if object { b'}' } else { b']' };
        let mut j = ws(b, i + 1);
        if b.get(j) == Some(&close) {
            j += 1;
        } else {
            loop {
                if object {
                    if b.get(j) != Some(&b'"') {
                        return None;
                    }
                    j = ws(b, self.value(j, depth + 1)?);
                    if b.get(j) != Some(&b':') {
                        return None;
                    }
                    j = ws(b, j + 1);
                }
                j = ws(b, self.value(j, depth + 1)?);
                match *b.get(j)? {
                    b',' => j = ws(b, j + 1),
                    c if c == close => {
                        j += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let next = self.nodes.len();
        let n = &mut self.nodes[idx];
        n.end = j;
        n.next = next;
        Some(j)
    }
}

/// The text of a JSON string's inside, whose escapes the tape has checked: UTF-16 escapes are
/// paired where they can be, a lone surrogate becomes U+FFFD.
fn unescape(inside: &str) -> String {
    let b = inside.as_bytes();
    let mut out = String::with_capacity(inside.len());
    let mut units: Vec<u16> = Vec::new();
    let (mut i, mut plain) = (0, 0);
    let hex = |at: usize| {
        inside
            .get(at..at + 4)
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&inside[plain..i]);
        let escaped = b.get(i + 1).copied().unwrap_or(b'\\');
        if escaped == b'u' {
            // A run of `\uXXXX` escapes decodes as UTF-16, lone surrogates lossily.
            units.clear();
            while b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                let Some(u) = hex(i + 2) else { break };
                units.push(u);
                i += 6;
            }
            if units.is_empty() {
                // Not reached on a checked string; kept from looping all the same.
                out.push('\u{FFFD}');
                i += 2;
            }
            out.extend(char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{FFFD}')));
        } else {
            out.push(match escaped {
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                other => char::from(other), // `"`, `\\`, `/`
            });
            i += 2;
        }
        plain = i;
    }
    out.push_str(&inside[plain..]);
    out
}

impl<'a> Tape<'a> {
    /// The tape of `src` (one JSON text, whitespace around it allowed), or `None` when `src` is
    /// not valid JSON.
    pub fn parse(src: &'a str) -> Option<Tape<'a>> {
        let b = src.as_bytes();
        let mut p = Parser {
            b,
            nodes: Vec::with_capacity(32),
        };
        let end = p.value(ws(b, 0), 0)?;
        (ws(b, end) == b.len()).then_some(Tape {
            src,
            nodes: p.nodes,
        })
    }

    pub fn root(&self) -> Val<'_, 'a> {
        Val { tape: self, i: 0 }
    }
}

impl<'t, 'a> Val<'t, 'a> {
    fn node(self) -> &'t Node {
        &self.tape.nodes[self.i]
    }

    pub fn kind(self) -> Kind {
        self.node().kind
    }

    pub fn kind_name(self) -> &'static str {
        self.kind().name()
    }

    /// The value's JSON text.
    pub fn raw(self) -> &'a str {
        let n = self.node();
        &self.tape.src[n.start..n.end]
    }

    /// The direct children of a value of kind `kind` (nothing for other kinds): an object's keys
    /// and values alternate.
    fn children(self, kind: Kind) -> impl Iterator<Item = Val<'t, 'a>> {
        let tape = self.tape;
        let end = if self.kind() == kind {
            self.node().next
        } else {
            self.i + 1
        };
        let mut j = self.i + 1;
        std::iter::from_fn(move || {
            (j < end).then(|| {
                let v = Val { tape, i: j };
                j = tape.nodes[j].next;
                v
            })
        })
    }

    /// An object's members in order (nothing for other kinds).
    pub fn members(self) -> impl Iterator<Item = (Val<'t, 'a>, Val<'t, 'a>)> {
        let mut c = self.children(Kind::Object);
        std::iter::from_fn(move || Some((c.next()?, c.next()?)))
    }

    /// An array's elements in order (nothing for other kinds).
    pub fn items(self) -> impl Iterator<Item = Val<'t, 'a>> {
        self.children(Kind::Array)
    }

    /// Whether this string value spells `key`.
    pub fn is_key(self, key: &str) -> bool {
        let n = self.node();
        if n.escaped {
            self.as_str().is_some_and(|s| s == key)
        } else {
            n.end - n.start == key.len() + 2 && &self.tape.src[n.start + 1..n.end - 1] == key
        }
    }

    /// The object member named `key` (the last one when a key repeats, as most readers do).
    pub fn get(self, key: &str) -> Option<Val<'t, 'a>> {
        self.members()
            .filter(|(k, _)| k.is_key(key))
            .last()
            .map(|(_, v)| v)
    }

    /// How many members named `key` the object has.
    pub fn count(self, key: &str) -> usize {
        self.members().filter(|(k, _)| k.is_key(key)).count()
    }

    /// The text of a string value (escapes decoded, a lone surrogate as U+FFFD, as an answer
    /// cut inside a character has it); `None` for other kinds.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        let n = self.node();
        match (n.kind, n.escaped) {
            (Kind::String, false) => Some(Cow::Borrowed(&self.tape.src[n.start + 1..n.end - 1])),
            (Kind::String, true) => {
                Some(Cow::Owned(unescape(&self.tape.src[n.start + 1..n.end - 1])))
            }
            _ => None,
        }
    }

    pub fn as_f64(self) -> Option<f64> {
        (self.kind() == Kind::Number)
            .then(|| self.raw().parse::<f64>().ok())
            .flatten()
    }

    /// A non-negative integer written without fraction or exponent.
    pub fn as_u64(self) -> Option<u64> {
        (self.kind() == Kind::Number)
            .then(|| self.raw().parse::<u64>().ok())
            .flatten()
    }

    /// The value unless it is `null` (which typed readers take as absent).
    pub fn present(self) -> Option<Val<'t, 'a>> {
        (self.kind() != Kind::Null).then_some(self)
    }

    /// The elements of an array whose elements are all objects.
    pub fn objects(self) -> Option<Vec<Val<'t, 'a>>> {
        if self.kind() != Kind::Array {
            return None;
        }
        let v: Vec<_> = self.items().collect();
        v.iter().all(|x| x.kind() == Kind::Object).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_read_as_replacement_characters() {
        let t = Tape::parse(r#"["cut \ud83d", "\ude00x", "\ud83d\ude00", "a\n\"\\\/\u00e9\t"]"#)
            .unwrap();
        let got: Vec<String> = t
            .root()
            .items()
            .map(|v| v.as_str().unwrap().into_owned())
            .collect();
        assert_eq!(
            got,
            ["cut \u{FFFD}", "\u{FFFD}x", "\u{1F600}", "a\n\"\\/\u{e9}\t"]
        );
    }

    #[test]
    fn agrees_with_serde_on_validity() {
        let cases = [
            r#"{"a":1}"#,
            r#" {"a" : [1, 2.5, -3e+2, true, false, null, "x\"y\u00e9"]} "#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":tru}"#,
            r#"{"a":1} x"#,
            "[1,[2,[3]]]",
            r#"{"a":{"b":{}}, "c":[]}"#,
            "",
            r#"{"a" 1}"#,
            "{1:2}",
            "[1 2]",
            r#""unterminated"#,
            "-0.5e-7",
            "日本語",
            r#"{"日本":"語"}"#,
        ];
        for c in cases {
            let ours = Tape::parse(c).is_some();
            let theirs = serde_json::from_str::<serde_json::Value>(c).is_ok();
            assert_eq!(ours, theirs, "{c}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(Tape::parse(&deep).is_some());
        let deeper = "[".repeat(600) + &"]".repeat(600);
        assert!(Tape::parse(&deeper).is_none());
    }

    #[test]
    fn navigates() {
        let t = Tape::parse(
            r#"{"recordId":"r1","modelInput":{"max_tokens":4096,"messages":[{"role":"user","content":"a\nb"}],"x":1,"x":2}}"#,
        )
        .unwrap();
        let root = t.root();
        assert_eq!(root.get("recordId").unwrap().as_str().unwrap(), "r1");
        let mi = root.get("modelInput").unwrap();
        assert_eq!(mi.get("max_tokens").unwrap().as_u64(), Some(4096));
        assert_eq!(mi.get("x").unwrap().raw(), "2");
        assert_eq!(mi.count("x"), 2);
        let msgs = mi.get("messages").unwrap().objects().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].get("content").unwrap().as_str().unwrap(), "a\nb");
        assert!(mi.get("missing").is_none());
        assert_eq!(mi.members().count(), 4);
        assert!(root.get("recordId").unwrap().get("x").is_none());
    }
}
