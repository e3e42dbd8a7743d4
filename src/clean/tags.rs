//! The HTML tokenizer's scanning steps that decide where tags, comments and raw text end,
//! shared by the HTML pass and the WordPress shortcode pass.

/// True when `b[at..]` starts with `<name` (ASCII case-insensitive) followed by a tag delimiter.
pub(super) fn tag_at(b: &[u8], at: usize, name: &[u8], closing: bool) -> bool {
    let start = at + 1 + usize::from(closing);
    let end = start + name.len();
    end < b.len()
        && (!closing || b[at + 1] == b'/')
        && b[start..end].eq_ignore_ascii_case(name)
        && matches!(b[end], b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Where the end tag `</name ...>` after `from` starts and ends (one past its `>`); `None` when
/// the element is never closed (it then runs to the end of the document, as in a browser).
pub(super) fn close_of(b: &[u8], from: usize, name: &[u8]) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(off) = memchr::memmem::find(&b[pos..], b"</") {
        let at = pos + off;
        if tag_at(b, at, name, true) {
            return Some((at, end_tag_end(b, at, name)));
        }
        pos = at + 2;
    }
    None
}

/// One past the `>` of the end tag `</name ...>` at `at`: attributes are read as in a start
/// tag, so `</script a=">">` ends at its last `>`.
fn end_tag_end(b: &[u8], at: usize, name: &[u8]) -> usize {
    tag_end(b, at + 2 + name.len()).map_or(b.len(), |(e, _)| e)
}

/// Where a script's content ends: the start and end of its `</script ...>`, by the
/// tokenizer's script data states. After `<!--` a `<script>` double-escapes, and its
/// `</script>` returns to the escape instead of ending the element; `-->` ends either.
pub(super) fn script_close(b: &[u8], from: usize) -> Option<(usize, usize)> {
    #[derive(PartialEq, Eq)]
    enum State {
        Data,
        Escaped,
        DoubleEscaped,
    }
    const NAME: &[u8] = b"script";
    let mut state = State::Data;
    let mut i = from;
    while let Some(off) = memchr::memchr2(b'<', b'-', &b[i..]) {
        let at = i + off;
        i = at + 1;
        if b[at] == b'-' {
            if state != State::Data && b[at..].starts_with(b"-->") {
                state = State::Data;
                i = at + 3;
            }
            continue;
        }
        match state {
            State::Data if b[at..].starts_with(b"<!--") => {
                // The comment's own dashes may close it (`<!-->`).
                state = State::Escaped;
                i = at + 2;
            }
            State::Data | State::Escaped if tag_at(b, at, NAME, true) => {
                return Some((at, end_tag_end(b, at, NAME)));
            }
            State::Escaped if tag_at(b, at, NAME, false) => {
                state = State::DoubleEscaped;
                i = at + 1 + NAME.len();
            }
            State::DoubleEscaped if tag_at(b, at, NAME, true) => {
                state = State::Escaped;
                i = at + 2 + NAME.len();
            }
            _ => {}
        }
    }
    None
}

/// Where the comment opening at `at` (`<!--`) ends, one past `-->` or `--!>` (an HTML5
/// tokenizer ends a comment at either); `<!-->` and `<!--->` are complete empty comments.
pub(super) fn comment_end(b: &[u8], at: usize) -> Option<usize> {
    let rest = &b[at + 4..];
    if rest.starts_with(b">") {
        return Some(at + 5);
    }
    if rest.starts_with(b"->") {
        return Some(at + 6);
    }
    let mut pos = at + 4;
    while let Some(off) = memchr::memmem::find(&b[pos..], b"--") {
        let dash = pos + off;
        match &b[dash + 2..] {
            [b'>', ..] => return Some(dash + 3),
            [b'!', b'>', ..] => return Some(dash + 4),
            _ => pos = dash + 1,
        }
    }
    None
}

pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// The end of a tag whose name ends at `i` (one past its `>`), and whether it closes itself
/// (`/>`), following the HTML tokenizer's attribute states: a `>` inside a quoted attribute
/// value does not end the tag. `None` when the document ends inside the tag.
pub(super) fn tag_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let skip_space = |i: &mut usize| {
        while *i < b.len() && is_space(b[*i]) {
            *i += 1;
        }
    };
    loop {
        // Before an attribute name.
        skip_space(&mut i);
        match *b.get(i)? {
            b'>' => return Some((i + 1, false)),
            b'/' => {
                if b.get(i + 1) == Some(&b'>') {
                    return Some((i + 2, true));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // The name (its first character may be anything, even `=`).
        i += 1;
        while i < b.len() && !matches!(b[i], b'/' | b'>' | b'=') && !is_space(b[i]) {
            i += 1;
        }
        skip_space(&mut i);
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        skip_space(&mut i);
        match *b.get(i)? {
            q @ (b'"' | b'\'') => i += 1 + memchr::memchr(q, &b[i + 1..])? + 1,
            b'>' => return Some((i + 1, false)),
            _ => {
                while i < b.len() && b[i] != b'>' && !is_space(b[i]) {
                    i += 1;
                }
            }
        }
    }
}

/// The attributes of a tag, from just after its name to its `>`: (name, raw value), the value
/// `None` when the attribute has none. As the tokenizer reads them: names end at whitespace,
/// `/`, `>` or `=`; a value is quoted or ends at whitespace or `>`.
pub(super) fn attributes(b: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            return None;
        }
        let start = i;
        i += 1;
        while i < b.len() && !matches!(b[i], b'/' | b'>' | b'=') && !is_space(b[i]) {
            i += 1;
        }
        let name = &b[start..i];
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Some((name, None));
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let value = if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
            let end = memchr::memchr(q, &b[i + 1..]).map_or(b.len(), |e| i + 1 + e);
            let v = &b[i + 1..end];
            i = end + 1;
            v
        } else {
            let start = i;
            while i < b.len() && b[i] != b'>' && !is_space(b[i]) {
                i += 1;
            }
            &b[start..i]
        };
        Some((name, Some(value)))
    })
}
