//! Which elements are open while the HTML pass reads a page, and in which namespace: the
//! tokenizer's content models, the element stack (with a hashed count for stray end tags) and
//! the SVG/MathML namespaces with their breakouts and integration points.

use std::collections::HashMap;

use super::tags::attributes;

/// Elements whose whole content is never article text.
pub(super) const ALWAYS_SKIP: [&[u8]; 10] = [
    b"title",
    b"svg",
    b"template",
    b"object",
    b"math",
    b"canvas",
    b"video",
    b"audio",
    b"select",
    b"noscript",
];
/// Code blocks, dropped with `drop_code`: `pre`, which covers WordPress's code blocks
/// (`<pre class="wp-block-code">`, `<pre class="wp-block-syntaxhighlighter-code">`) and the
/// `<pre class="brush: ...">` of highlighter plugins.
pub(super) const CODE_SKIP: [&[u8]; 2] = [b"pre", b"xmp"];

/// Elements that are never open: they have no content and no end tag (as lol_html counts them).
pub(super) const VOID: [&[u8]; 17] = [
    b"area",
    b"base",
    b"basefont",
    b"bgsound",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"keygen",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
];

/// Start tags that leave SVG or MathML content for HTML (the tree builder's breakout list).
pub(super) const BREAKOUT: [&[u8]; 44] = [
    b"b",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"center",
    b"code",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"hr",
    b"i",
    b"img",
    b"li",
    b"listing",
    b"menu",
    b"meta",
    b"nobr",
    b"ol",
    b"p",
    b"pre",
    b"ruby",
    b"s",
    b"small",
    b"span",
    b"strong",
    b"strike",
    b"sub",
    b"sup",
    b"table",
    b"tt",
    b"u",
    b"ul",
    b"var",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ns {
    Html,
    Svg,
    MathMl,
}

/// How the content after a start tag is tokenized, in the HTML namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    /// Markup.
    Normal,
    /// `textarea`, `title`: text (with character references) up to the end tag.
    RcData,
    /// `style`, `iframe`, `xmp`, `noembed`, `noframes`, `noscript`, `script`: never text.
    RawText,
    /// `plaintext`: the rest of the document is text.
    PlainText,
}

pub(super) fn content_of(name: &[u8]) -> Content {
    match name {
        b"textarea" | b"title" => Content::RcData,
        b"plaintext" => Content::PlainText,
        b"script" | b"style" | b"iframe" | b"xmp" | b"noembed" | b"noframes" | b"noscript" => {
            Content::RawText
        }
        _ => Content::Normal,
    }
}

/// The open elements (lowercase names in one buffer, as a stack) and how many of them skip
/// their content.
///
/// An end tag whose name is not open is ignored, and must be found so without a search of
/// the stack (a page of stray end tags under deep nesting would take quadratic time):
/// `buckets` counts the open names by an 8-bit hash, which rules out most names at once. The
/// first time a search finds nothing after all (another name shares the bucket), exact counts
/// per name are built and kept from then on for this document.
pub(super) struct Open {
    pub(super) names: Vec<u8>,
    pub(super) items: Vec<(u32, u8, bool)>,
    pub(super) buckets: [u32; 256],
    pub(super) exact: Option<HashMap<Box<[u8]>, u32>>,
    pub(super) skipping: u32,
}

pub(super) fn bucket(name: &[u8]) -> u8 {
    name.iter().fold(0x9E_u8, |h, &c| h.rotate_left(3) ^ c)
}

impl Open {
    pub(super) fn new() -> Self {
        Open {
            names: Vec::new(),
            items: Vec::new(),
            buckets: [0; 256],
            exact: None,
            skipping: 0,
        }
    }

    /// The name of element `k` (it runs to the start of the next one's, or the buffer's end).
    pub(super) fn name(&self, k: usize) -> &[u8] {
        let start = self.items[k].0 as usize;
        let end = self
            .items
            .get(k + 1)
            .map_or(self.names.len(), |next| next.0 as usize);
        &self.names[start..end]
    }

    pub(super) fn push(&mut self, name: &[u8], skip: bool) {
        let h = bucket(name);
        self.items.push((self.names.len() as u32, h, skip));
        self.names.extend_from_slice(name);
        self.buckets[h as usize] += 1;
        self.skipping += u32::from(skip);
        if let Some(exact) = &mut self.exact {
            match exact.get_mut(name) {
                Some(n) => *n += 1,
                None => {
                    exact.insert(name.into(), 1);
                }
            }
        }
    }

    /// Closes the innermost open `name` (from the `floor`-th open element in) and every element
    /// inside it; nothing when none is open.
    pub(super) fn pop_up_to(&mut self, name: &[u8], floor: usize) {
        if self.buckets[bucket(name) as usize] == 0
            || self
                .exact
                .as_ref()
                .is_some_and(|e| e.get(name).copied().unwrap_or(0) == 0)
        {
            return;
        }
        let Some(at) = (floor.min(self.items.len())..self.items.len())
            .rev()
            .find(|&k| self.name(k) == name)
        else {
            if floor > 0 {
                return;
            }
            let mut exact: HashMap<Box<[u8]>, u32> = HashMap::new();
            for k in 0..self.items.len() {
                *exact.entry(self.name(k).into()).or_insert(0) += 1;
            }
            self.exact = Some(exact);
            return;
        };
        self.truncate(at);
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Closes every element from the `at`-th open one in.
    pub(super) fn truncate(&mut self, at: usize) {
        if at >= self.items.len() {
            return;
        }
        for k in at..self.items.len() {
            let (_, h, skip) = self.items[k];
            self.buckets[h as usize] -= 1;
            self.skipping -= u32::from(skip);
            if let Some(exact) = &mut self.exact {
                let start = self.items[k].0 as usize;
                let end = self
                    .items
                    .get(k + 1)
                    .map_or(self.names.len(), |next| next.0 as usize);
                if let Some(n) = exact.get_mut(&self.names[start..end]) {
                    *n -= 1;
                }
            }
        }
        self.names.truncate(self.items[at].0 as usize);
        self.items.truncate(at);
    }
}

/// The namespace the tokenizer is in, as HTML's tree construction moves it (lol_html's
/// simulation of it): into SVG and MathML at their start tags, back to HTML at their end tags,
/// at breakout tags and inside integration points.
pub(super) struct Namespaces {
    pub(super) stack: Vec<Ns>,
    /// How many elements were open when each entry of `stack` began.
    pub(super) depths: Vec<usize>,
}

impl Namespaces {
    pub(super) fn current(&self) -> Ns {
        self.stack.last().copied().unwrap_or(Ns::Html)
    }

    pub(super) fn leave(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
            self.depths.pop();
        }
    }

    /// The first open element an HTML end tag may close: inside an SVG or MathML integration
    /// point, the point itself.
    pub(super) fn floor(&self) -> usize {
        if self.stack.len() > 1 && self.current() == Ns::Html {
            self.depths.last().copied().unwrap_or(0)
        } else {
            0
        }
    }

    pub(super) fn push(&mut self, ns: Ns, open: usize) {
        self.stack.push(ns);
        self.depths.push(open);
    }

    /// Leaves foreign content for HTML (a breakout tag): every SVG and MathML element up to
    /// the nearest HTML element or integration point closes. Returns how many elements stay
    /// open.
    pub(super) fn break_out(&mut self) -> Option<usize> {
        let mut keep = None;
        while self.stack.len() > 1 && self.current() != Ns::Html {
            keep = self.depths.last().copied();
            self.leave();
        }
        keep
    }

    /// Moves for a start tag; `attrs` are the tag's attributes (from just after its name);
    /// `open` elements are open before it. Returns how many stay open when it breaks out of
    /// foreign content.
    pub(super) fn start(
        &mut self,
        name: &[u8],
        self_closing: bool,
        attrs: &[u8],
        open: usize,
    ) -> Option<usize> {
        match (name, self.current()) {
            (b"svg" | b"math", _) if self_closing => {}
            (b"svg", _) => self.push(Ns::Svg, open),
            (b"math", _) => self.push(Ns::MathMl, open),
            (_, Ns::Html) => {}
            (_, ns) => {
                if BREAKOUT.contains(&name) {
                    return self.break_out();
                } else if (ns == Ns::Svg && matches!(name, b"desc" | b"title" | b"foreignobject"))
                    || (ns == Ns::MathMl
                        && matches!(name, b"mi" | b"mo" | b"mn" | b"ms" | b"mtext"))
                {
                    if !self_closing {
                        self.push(Ns::Html, open);
                    }
                } else if name == b"font" {
                    if attributes(attrs).any(|(n, _)| {
                        n.eq_ignore_ascii_case(b"color")
                            || n.eq_ignore_ascii_case(b"size")
                            || n.eq_ignore_ascii_case(b"face")
                    }) {
                        return self.break_out();
                    }
                } else if ns == Ns::MathMl
                    && name == b"annotation-xml"
                    && !self_closing
                    && attributes(attrs).any(|(n, v)| {
                        n.eq_ignore_ascii_case(b"encoding")
                            && v.is_some_and(|v| {
                                v.eq_ignore_ascii_case(b"text/html")
                                    || v.eq_ignore_ascii_case(b"application/xhtml+xml")
                            })
                    })
                {
                    self.push(Ns::Html, open);
                }
            }
        }
        None
    }

    /// Moves for an end tag.
    pub(super) fn end(&mut self, name: &[u8]) {
        let n = self.stack.len();
        match self.current() {
            Ns::Html if n >= 2 => {
                let prev = self.stack[n - 2];
                if (prev == Ns::MathMl
                    && matches!(
                        name,
                        b"mi" | b"mo" | b"mn" | b"ms" | b"mtext" | b"annotation-xml"
                    ))
                    || (prev == Ns::Svg && matches!(name, b"desc" | b"title" | b"foreignobject"))
                {
                    self.leave();
                }
            }
            Ns::Html => {}
            ns => {
                if (ns == Ns::Svg && name == b"svg")
                    || (ns == Ns::MathMl && name == b"math")
                    || matches!(name, b"p" | b"br")
                {
                    self.leave();
                }
            }
        }
    }
}
