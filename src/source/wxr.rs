//! WordPress exports (WXR 1.0, 1.1 and 1.2, the RSS file of Tools → Export) read as a stream
//! of Arrow record batches, `batch_size` items at a time: memory holds one batch, whatever
//! the size of the export.
//!
//! Each `<item>` of `<rss><channel>` is one row. Namespaces are matched by URI, not prefix
//! (`http(s)://wordpress.org/export/1.x/` for `wp:`, `.../1.x/excerpt/` for `excerpt:`,
//! `http://purl.org/rss/1.0/modules/content/` for `content:`); an undeclared prefix is
//! taken by its name, as WordPress' own regex parser does. Text is the element's own text and
//! CDATA sections joined (several sections, and the `]]]]><![CDATA[>` split WordPress writes
//! for a `]]>` inside a post), entities and character references resolved, line ends
//! normalised as XML requires.
//!
//! A file that is not well-formed is an error naming the file, line and column: the checks
//! of quick-xml (tags, end names, attributes, references), bytes that are not UTF-8 or are
//! characters XML forbids ([`super::Checked`]), `]]>` outside CDATA (an unescaped CDATA end
//! in a post), unknown entities, elements left open at the end of the file, and anything
//! but whitespace and markup outside the root element.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{LargeStringBuilder, ListBuilder};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::{position, Checked, Origin};
use crate::error::Error;

/// The columns of a WXR source, in their default order.
pub const COLUMNS: [&str; 10] = [
    "id",
    "title",
    "content",
    "excerpt",
    "date",
    "status",
    "post_type",
    "link",
    "categories",
    "tags",
];

/// Items read per batch when the caller does not say.
pub const DEFAULT_BATCH_SIZE: usize = 1024;

/// One column of [`COLUMNS`]; the first eight are text, the last two lists of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Col {
    Id,
    Title,
    Content,
    Excerpt,
    Date,
    Status,
    PostType,
    Link,
    Categories,
    Tags,
}

const SCALARS: usize = 8;

impl Col {
    const ALL: [Col; 10] = [
        Col::Id,
        Col::Title,
        Col::Content,
        Col::Excerpt,
        Col::Date,
        Col::Status,
        Col::PostType,
        Col::Link,
        Col::Categories,
        Col::Tags,
    ];

    fn name(self) -> &'static str {
        COLUMNS[self as usize]
    }

    fn named(name: &str) -> Option<Col> {
        COLUMNS.iter().position(|c| *c == name).map(|i| Col::ALL[i])
    }

    /// The element an item holds the column in.
    fn element(self) -> &'static str {
        match self {
            Col::Id => "<wp:post_id>",
            Col::Title => "<title>",
            Col::Content => "<content:encoded>",
            Col::Excerpt => "<excerpt:encoded>",
            Col::Date => "<wp:post_date_gmt>",
            Col::Status => "<wp:status>",
            Col::PostType => "<wp:post_type>",
            Col::Link => "<link>",
            Col::Categories | Col::Tags => "<category>",
        }
    }

    fn is_list(self) -> bool {
        matches!(self, Col::Categories | Col::Tags)
    }

    /// Identifiers lose surrounding whitespace; text (title, bodies, terms) is kept as written.
    fn trimmed(self) -> bool {
        matches!(
            self,
            Col::Id | Col::Date | Col::Status | Col::PostType | Col::Link
        )
    }

    fn data_type(self) -> DataType {
        if self.is_list() {
            DataType::List(Arc::new(Field::new_list_field(DataType::LargeUtf8, true)))
        } else {
            DataType::LargeUtf8
        }
    }
}

/// Which items become rows: each rule keeps the items whose column's value is one of its
/// values (an item without the field fails the rule); every rule must pass.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    rules: Vec<(Col, HashSet<String>)>,
}

impl Filter {
    /// Every item: attachments, menu items, drafts, revisions...
    pub fn all() -> Self {
        Filter::default()
    }

    /// The default: published posts and pages (`status == "publish"` and `post_type` in
    /// `{post, page}`), what a site shows its readers.
    pub fn published() -> Self {
        Filter {
            rules: vec![
                (Col::Status, HashSet::from(["publish".to_string()])),
                (
                    Col::PostType,
                    HashSet::from(["post".to_string(), "page".to_string()]),
                ),
            ],
        }
    }

    /// Rules by column name, e.g. `[("status", ["publish", "private"])]`: text columns only.
    pub fn new(rules: Vec<(String, Vec<String>)>) -> Result<Self, Error> {
        let mut out = Vec::with_capacity(rules.len());
        for (name, values) in rules {
            let col = Col::named(&name).filter(|c| !c.is_list()).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "filter: a WordPress export cannot be filtered on {name:?}; its text columns \
                     are {}",
                    COLUMNS[..SCALARS].join(", ")
                ))
            })?;
            out.push((col, values.into_iter().collect()));
        }
        Ok(Filter { rules: out })
    }

    fn keeps(&self, item: &Item) -> bool {
        self.rules.iter().all(|(col, values)| {
            item.scalars[*col as usize]
                .as_deref()
                .is_some_and(|v| values.contains(v))
        })
    }
}

/// What to read and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// Columns in output order; `None` for [`COLUMNS`].
    pub columns: Option<Vec<String>>,
    pub filter: Filter,
    /// Rows per record batch (at least 1).
    pub batch_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            columns: None,
            filter: Filter::published(),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// One item's fields while it is read.
#[derive(Default)]
struct Item {
    scalars: [Option<String>; SCALARS],
    categories: Vec<String>,
    tags: Vec<String>,
}

/// The element of an item whose text is being gathered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Scalar(Col),
    Term(Col),
}

/// An element left open, for the message at the end of the file.
struct Open {
    name: String,
    offset: u64,
}

/// Column builders of one batch.
enum Builder {
    Text(LargeStringBuilder),
    List(ListBuilder<LargeStringBuilder>),
}

/// A WXR file read as a stream of record batches (an iterator; `RecordBatchReader` in the
/// bindings). After an error it yields nothing more.
pub struct WxrReader {
    name: String,
    origin: Origin,
    reader: NsReader<Checked>,
    /// The event buffer, reused.
    buf: Vec<u8>,
    schema: SchemaRef,
    columns: Vec<Col>,
    /// Which columns an item must gather: the output's and the filter's.
    wanted: [bool; 10],
    filter: Filter,
    batch_size: usize,
    builders: Vec<Builder>,
    rows: usize,
    stack: Vec<Open>,
    /// The open `<item>` (`rss > channel > item`), while one is open.
    item: Option<Item>,
    /// The item child whose text is gathered, and the text so far.
    target: Option<(Target, String)>,
    root_done: bool,
    /// Items read, and items kept, for the message when none is kept.
    seen: u64,
    kept: u64,
    /// Which columns some item had (by `Col` index), for the same message.
    present: [bool; 10],
    done: bool,
}

impl WxrReader {
    /// Opens a WXR file (bytes are read as they are needed).
    pub fn open(path: &Path, options: Options) -> Result<Self, Error> {
        Self::new(
            path.display().to_string(),
            Origin::File(path.to_path_buf()),
            options,
        )
    }

    /// Reads WXR from bytes in memory; `name` stands for the file in messages.
    pub fn from_bytes(
        name: &str,
        bytes: impl Into<Arc<[u8]>>,
        options: Options,
    ) -> Result<Self, Error> {
        Self::new(name.to_string(), Origin::Memory(bytes.into()), options)
    }

    fn new(name: String, origin: Origin, options: Options) -> Result<Self, Error> {
        if options.batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch_size must be a positive number of rows".into(),
            ));
        }
        let columns = select(options.columns.as_deref(), &name)?;
        let mut wanted = [false; 10];
        for c in &columns {
            wanted[*c as usize] = true;
        }
        for (c, _) in &options.filter.rules {
            wanted[*c as usize] = true;
        }
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(c.name(), c.data_type(), true))
                .collect::<Vec<_>>(),
        ));
        // `Checked` is the buffer: the parser reads its checked bytes in place.
        let mut reader = NsReader::from_reader(Checked::new(origin.open()?));
        reader.config_mut().check_end_names = true;
        let mut out = WxrReader {
            name,
            origin,
            reader,
            buf: Vec::with_capacity(1 << 16),
            schema,
            columns,
            wanted,
            filter: options.filter,
            batch_size: options.batch_size,
            builders: Vec::new(),
            rows: 0,
            stack: Vec::new(),
            item: None,
            target: None,
            root_done: false,
            seen: 0,
            kept: 0,
            present: [false; 10],
            done: false,
        };
        out.builders = out.new_builders();
        Ok(out)
    }

    /// The schema of every batch: the selected columns, `large_string` text and
    /// `list<large_string>` categories and tags, all nullable.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Items read so far, kept or not.
    pub fn items_seen(&self) -> u64 {
        self.seen
    }

    /// Items kept (rows) so far.
    pub fn items_kept(&self) -> u64 {
        self.kept
    }

    fn new_builders(&self) -> Vec<Builder> {
        self.columns
            .iter()
            .map(|c| {
                if c.is_list() {
                    Builder::List(ListBuilder::new(LargeStringBuilder::new()))
                } else {
                    Builder::Text(LargeStringBuilder::with_capacity(self.batch_size, 0))
                }
            })
            .collect()
    }

    /// An error at byte `offset` of the file.
    fn error_at(&self, offset: u64, what: impl std::fmt::Display) -> Error {
        Error::InvalidInput(format!(
            "{}: {what}",
            position(&self.name, &self.origin, offset)
        ))
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, Error> {
        let fresh = self.new_builders();
        let builders = std::mem::replace(&mut self.builders, fresh);
        let arrays: Vec<ArrayRef> = builders
            .into_iter()
            .map(|b| match b {
                Builder::Text(mut b) => Arc::new(b.finish()) as ArrayRef,
                Builder::List(mut b) => Arc::new(b.finish()) as ArrayRef,
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| Error::InvalidInput(format!("{}: {e}", self.name)))
    }

    fn push(&mut self, item: Item) {
        for (builder, col) in self.builders.iter_mut().zip(&self.columns) {
            match builder {
                Builder::Text(b) => b.append_option(item.scalars[*col as usize].as_deref()),
                Builder::List(b) => {
                    let terms = if *col == Col::Categories {
                        &item.categories
                    } else {
                        &item.tags
                    };
                    for t in terms {
                        b.values().append_value(t);
                    }
                    b.append(true);
                }
            }
        }
        self.rows += 1;
    }

    /// Reads items until a batch is full or the file ends: the next batch, or `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        if self.done {
            return Ok(None);
        }
        match self.read_until_full() {
            Ok(()) => {}
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        }
        if self.rows == 0 {
            return Ok(None);
        }
        self.finish_batch().map(Some)
    }

    fn read_until_full(&mut self) -> Result<(), Error> {
        while self.rows < self.batch_size {
            if !self.step()? {
                self.done = true;
                break;
            }
        }
        Ok(())
    }

    /// Reads one event; false at the end of the file.
    fn step(&mut self) -> Result<bool, Error> {
        // The event borrows the buffer, the handlers borrow `self`: the buffer is lent out.
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let out = self.event(&mut buf);
        self.buf = buf;
        out
    }

    fn event(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        let before = self.reader.buffer_position();
        let (ns, event) = match self.reader.read_resolved_event_into(buf) {
            Ok((ns, event)) => (namespace(&ns), event),
            Err(e) => {
                // A bad byte stops the parser with an I/O error: say what the byte was.
                if let Some(bad) = self.reader.get_ref().bad().cloned() {
                    return Err(self.error_at(bad.offset, bad.message));
                }
                if let quick_xml::Error::Io(io) = &e {
                    return Err(Error::Io {
                        path: self.name.clone(),
                        source: std::io::Error::new(io.kind(), io.to_string()),
                    });
                }
                let at = self.reader.error_position().max(before);
                return Err(self.error_at(at, xml_error(&e)));
            }
        };
        match event {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                check_attributes(&e).map_err(|m| self.error_at(before, m))?;
                let local = e.local_name().as_ref().to_string();
                self.start_element(ns, &local, &e, before)?;
                self.stack.push(Open {
                    name,
                    offset: before,
                });
            }
            Event::Empty(e) => {
                check_attributes(&e).map_err(|m| self.error_at(before, m))?;
                let local = e.local_name().as_ref().to_string();
                self.start_element(ns, &local, &e, before)?;
                self.close();
            }
            Event::End(_) => {
                self.stack.pop();
                self.close();
            }
            Event::Text(t) => {
                let raw: &str = &t;
                if let Some(i) = memchr::memmem::find(raw.as_bytes(), b"]]>") {
                    return Err(self.error_at(
                        before + i as u64,
                        "\"]]>\" outside a CDATA section: a CDATA section that holds \"]]>\" must \
                         split it (\"]]]]><![CDATA[>\", as WordPress writes it)",
                    ));
                }
                if self.stack.is_empty() && !raw.trim_ascii().is_empty() {
                    let what = if self.root_done {
                        "text after the end of the root element"
                    } else {
                        "text before the root element: this is not an XML file (a WordPress export starts with <?xml and <rss>)"
                    };
                    let skipped = (raw.len() - raw.trim_ascii_start().len()) as u64;
                    return Err(self.error_at(before + skipped, what));
                }
                self.gather(&t.xml10_content());
            }
            Event::CData(t) => {
                if self.stack.is_empty() {
                    return Err(self.error_at(before, "a CDATA section outside the root element"));
                }
                self.gather(&t.xml10_content());
            }
            Event::GeneralRef(r) => {
                let text = resolve_reference(&r).map_err(|m| self.error_at(before, m))?;
                if self.stack.is_empty() {
                    return Err(self.error_at(before, "a reference outside the root element"));
                }
                self.gather(&text);
            }
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(self.error_at(
                            before,
                            format!(
                                "the file declares encoding {enc:?}; only UTF-8 is read: convert it \
                                 (e.g. iconv -f {enc} -t UTF-8) and change the declaration"
                            ),
                        ));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => {
                if let Some(open) = self.stack.last() {
                    let end = self.reader.buffer_position();
                    let (line, _) = super::locate(&self.origin, open.offset);
                    let name = open.name.clone();
                    return Err(self.error_at(
                        end,
                        format!(
                            "the file ends inside <{name}> (opened on line {line}): it is cut \
                             short or an end tag is missing"
                        ),
                    ));
                }
                if !self.root_done {
                    return Err(self.error_at(
                        self.reader.buffer_position(),
                        "no root element: the file is empty or not XML",
                    ));
                }
                // A filter on a field no item has keeps nothing: an RSS feed, not an export.
                if self.kept == 0 && self.seen > 0 {
                    if let Some((col, _)) = self
                        .filter
                        .rules
                        .iter()
                        .find(|(c, _)| !self.present[*c as usize])
                    {
                        return Err(Error::InvalidInput(format!(
                            "{}: none of its {} items has the {} field ({}) the filter needs: \
                             this looks like an RSS feed, not a WordPress export (WXR); pass \
                             filter=\"all\" to read every item",
                            self.name,
                            self.seen,
                            col.name(),
                            col.element()
                        )));
                    }
                }
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A start tag at depth `self.stack.len()` (its element not yet pushed).
    fn start_element(
        &mut self,
        ns: Ns,
        local: &str,
        e: &BytesStart<'_>,
        offset: u64,
    ) -> Result<(), Error> {
        let depth = self.stack.len();
        match depth {
            0 => {
                if self.root_done {
                    return Err(self.error_at(offset, "a second root element"));
                }
                if local != "rss" {
                    return Err(self.error_at(
                        offset,
                        format!(
                            "the root element is <{}>, not <rss>: this is not a WordPress export \
                             (WXR)",
                            e.name().as_ref()
                        ),
                    ));
                }
            }
            2 if ns == Ns::None && local == "item" && self.stack[1].name == "channel" => {
                self.item = Some(Item::default());
                self.seen += 1;
            }
            3 if self.item.is_some() => {
                let target = match (ns, local) {
                    (Ns::None, "title") => Some(Target::Scalar(Col::Title)),
                    (Ns::None, "link") => Some(Target::Scalar(Col::Link)),
                    (Ns::Content, "encoded") => Some(Target::Scalar(Col::Content)),
                    (Ns::Excerpt, "encoded") => Some(Target::Scalar(Col::Excerpt)),
                    (Ns::Wp, "post_id") => Some(Target::Scalar(Col::Id)),
                    (Ns::Wp, "post_date_gmt") => Some(Target::Scalar(Col::Date)),
                    (Ns::Wp, "status") => Some(Target::Scalar(Col::Status)),
                    (Ns::Wp, "post_type") => Some(Target::Scalar(Col::PostType)),
                    (Ns::None, "category") => term_column(e),
                    _ => None,
                };
                let item = self.item.as_ref().expect("inside an item");
                self.target = target
                    .filter(|t| match t {
                        // The first of a repeated field counts (as `$item->title` in PHP).
                        Target::Scalar(c) => item.scalars[*c as usize].is_none(),
                        Target::Term(_) => true,
                    })
                    .filter(|t| match t {
                        Target::Scalar(c) | Target::Term(c) => self.wanted[*c as usize],
                    })
                    .map(|t| (t, String::new()));
            }
            _ => {}
        }
        Ok(())
    }

    /// The end of the element at depth `self.stack.len()` (already popped for an end tag).
    fn close(&mut self) {
        match self.stack.len() {
            0 => self.root_done = true,
            2 => {
                if let Some(item) = self.item.take() {
                    for (i, v) in item.scalars.iter().enumerate() {
                        self.present[i] |= v.is_some();
                    }
                    if self.filter.keeps(&item) {
                        self.kept += 1;
                        self.push(item);
                    }
                }
            }
            3 => {
                if let (Some((target, text)), Some(item)) = (self.target.take(), &mut self.item) {
                    match target {
                        Target::Scalar(c) => {
                            let text = if c.trimmed() {
                                text.trim().to_string()
                            } else {
                                text
                            };
                            item.scalars[c as usize] = Some(text);
                        }
                        Target::Term(Col::Categories) => item.categories.push(text),
                        Target::Term(_) => item.tags.push(text),
                    }
                }
            }
            _ => {}
        }
    }

    /// Text of the element being gathered (its own text, not that of elements inside it).
    fn gather(&mut self, text: &str) {
        if self.stack.len() == 4 {
            if let Some((_, out)) = &mut self.target {
                out.push_str(text);
            }
        }
    }
}

impl Iterator for WxrReader {
    type Item = Result<RecordBatch, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

/// The columns to read, in order: all of [`COLUMNS`], or those named (each once).
fn select(columns: Option<&[String]>, name: &str) -> Result<Vec<Col>, Error> {
    let Some(columns) = columns else {
        return Ok(Col::ALL.to_vec());
    };
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
        let col = Col::named(c).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "column {c:?} is not in {name}: a WordPress export has the columns {}",
                COLUMNS.join(", ")
            ))
        })?;
        if out.contains(&col) {
            return Err(Error::InvalidArgument(format!(
                "column {c:?} is named twice in columns"
            )));
        }
        out.push(col);
    }
    Ok(out)
}

/// The namespaces a WXR item's fields live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ns {
    None,
    Wp,
    Excerpt,
    Content,
    Other,
}

fn namespace(ns: &ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Bound(uri) => {
            let uri: &str = uri.as_ref();
            let wp = uri
                .strip_prefix("http://wordpress.org/export/")
                .or_else(|| uri.strip_prefix("https://wordpress.org/export/"));
            match wp {
                Some(rest) if rest.ends_with("/excerpt/") || rest.ends_with("/excerpt") => {
                    Ns::Excerpt
                }
                Some(_) => Ns::Wp,
                None if uri.trim_end_matches('/') == "http://purl.org/rss/1.0/modules/content" => {
                    Ns::Content
                }
                None => Ns::Other,
            }
        }
        // An undeclared prefix: taken by its name (exports written by hand or by other tools).
        ResolveResult::Unknown(prefix) => match prefix.as_str() {
            "wp" => Ns::Wp,
            "excerpt" => Ns::Excerpt,
            "content" => Ns::Content,
            _ => Ns::Other,
        },
    }
}

/// `<category domain="category|post_tag" nicename="...">`: the column its text goes to. As in
/// WordPress' importer, only elements with a `nicename` are terms (WXR 1.0 also writes a bare
/// `<category>` for each); WXR 1.0 names tags `domain="tag"`. Other taxonomies (post formats,
/// custom ones) are not read.
fn term_column(e: &BytesStart<'_>) -> Option<Target> {
    let mut domain = None;
    let mut nicename = false;
    for a in e.attributes().flatten() {
        match a.key.as_ref() {
            "domain" => {
                domain = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .ok()
                    .map(Cow::into_owned);
            }
            "nicename" => nicename = true,
            _ => {}
        }
    }
    if !nicename {
        return None;
    }
    match domain.as_deref() {
        Some("category") => Some(Target::Term(Col::Categories)),
        Some("post_tag" | "tag") => Some(Target::Term(Col::Tags)),
        _ => None,
    }
}

/// Checks a tag's attributes (syntax, duplicates, references) so a malformed one is an error.
fn check_attributes(e: &BytesStart<'_>) -> Result<(), String> {
    for a in e.attributes() {
        let a =
            a.map_err(|err| format!("a malformed attribute in <{}>: {err}", e.name().as_ref()))?;
        a.normalized_value(XmlVersion::Implicit1_0).map_err(|err| {
            format!(
                "attribute {} of <{}>: {err}",
                a.key.as_ref(),
                e.name().as_ref()
            )
        })?;
    }
    Ok(())
}

/// The text of `&name;` or `&#n;`: the five XML entities and character references of
/// characters XML allows; anything else is an error message.
fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<Cow<'static, str>, String> {
    let name: &str = r;
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(Cow::Owned(c.to_string())),
            Ok(Some(c)) => Err(format!(
                "the character reference &{name}; is U+{:04X}, which XML does not allow",
                u32::from(c)
            )),
            _ => Err(format!(
                "the character reference &{name}; is not a character"
            )),
        };
    }
    quick_xml::escape::resolve_predefined_entity(name)
        .map(Cow::Borrowed)
        .ok_or_else(|| {
            format!(
                "unknown entity &{name};: XML knows only &lt; &gt; &amp; &apos; &quot; and \
                 character references (&#8217;); HTML entities such as &nbsp; belong inside CDATA"
            )
        })
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(u32::from(c), 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10_FFFF)
}

/// quick-xml's message, said for a person.
fn xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(SyntaxError::UnclosedCData) => {
            "a CDATA section (<![CDATA[) that is never closed with ]]>".into()
        }
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("the end tag </{found}> does not close the open <{expected}>")
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("the end tag </{name}> closes nothing")
        }
        other => format!("not well-formed XML: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Array;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Site</title>
<wp:wxr_version>1.2</wp:wxr_version>
"#;
    const TAIL: &str = "</channel>\n</rss>\n";

    fn item(id: u32, status: &str, kind: &str, content: &str) -> String {
        format!(
            "<item>\n<title>Post {id}</title>\n<link>http://x/?p={id}</link>\n\
             <content:encoded><![CDATA[{content}]]></content:encoded>\n\
             <excerpt:encoded><![CDATA[]]></excerpt:encoded>\n<wp:post_id>{id}</wp:post_id>\n\
             <wp:post_date_gmt>2024-01-0{} 10:00:00</wp:post_date_gmt>\n\
             <wp:status>{status}</wp:status>\n<wp:post_type>{kind}</wp:post_type>\n\
             <category domain=\"category\" nicename=\"news\"><![CDATA[News]]></category>\n\
             <category domain=\"post_tag\" nicename=\"a-b\"><![CDATA[a, b]]></category>\n\
             </item>\n",
            id % 9 + 1
        )
    }

    fn doc(items: &str) -> Vec<u8> {
        format!("{HEAD}{items}{TAIL}").into_bytes()
    }

    fn read(bytes: Vec<u8>, options: Options) -> Result<Vec<RecordBatch>, Error> {
        WxrReader::from_bytes("test.xml", bytes, options)?.collect()
    }

    fn texts(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column_by_name(column).unwrap().as_string::<i64>().clone();
                (0..a.len())
                    .map(move |i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn lists(batches: &[RecordBatch], column: &str) -> Vec<Vec<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column_by_name(column).unwrap().as_list::<i32>().clone();
                (0..a.len())
                    .map(move |i| {
                        let v = a.value(i);
                        let s = v.as_string::<i64>();
                        (0..s.len()).map(|j| s.value(j).to_string()).collect()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn error(bytes: impl Into<Vec<u8>>) -> String {
        match read(
            bytes.into(),
            Options {
                filter: Filter::all(),
                ..Options::default()
            },
        ) {
            Ok(b) => panic!("read {} batches", b.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn items_become_rows_in_batches() {
        let items: String = (1..=5)
            .map(|i| item(i, "publish", "post", &format!("<p>Body {i}</p>")))
            .collect();
        let batches = read(
            doc(&items),
            Options {
                batch_size: 2,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>(),
            [2, 2, 1]
        );
        assert_eq!(
            batches[0]
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>(),
            COLUMNS
        );
        assert_eq!(texts(&batches, "id")[4].as_deref(), Some("5"));
        assert_eq!(texts(&batches, "title")[0].as_deref(), Some("Post 1"));
        assert_eq!(
            texts(&batches, "content")[2].as_deref(),
            Some("<p>Body 3</p>")
        );
        assert_eq!(texts(&batches, "excerpt")[0].as_deref(), Some(""));
        assert_eq!(
            texts(&batches, "date")[0].as_deref(),
            Some("2024-01-02 10:00:00")
        );
        assert_eq!(texts(&batches, "link")[0].as_deref(), Some("http://x/?p=1"));
        assert_eq!(lists(&batches, "categories")[0], ["News"]);
        assert_eq!(lists(&batches, "tags")[0], ["a, b"]);
    }

    #[test]
    fn the_default_filter_keeps_published_posts_and_pages() {
        let items = [
            item(1, "publish", "post", "a"),
            item(2, "draft", "post", "b"),
            item(3, "publish", "page", "c"),
            item(4, "inherit", "attachment", ""),
            item(5, "publish", "nav_menu_item", ""),
            item(6, "private", "post", "d"),
        ]
        .concat();
        let ids = |filter| {
            texts(
                &read(
                    doc(&items),
                    Options {
                        filter,
                        ..Options::default()
                    },
                )
                .unwrap(),
                "id",
            )
        };
        let some = |v: &[&str]| v.iter().map(|s| Some((*s).to_string())).collect::<Vec<_>>();
        assert_eq!(ids(Filter::published()), some(&["1", "3"]));
        assert_eq!(ids(Filter::all()), some(&["1", "2", "3", "4", "5", "6"]));
        let rules = vec![("status".to_string(), vec!["draft".into(), "private".into()])];
        assert_eq!(ids(Filter::new(rules).unwrap()), some(&["2", "6"]));
        let rules = vec![("post_type".to_string(), vec!["attachment".into()])];
        assert_eq!(ids(Filter::new(rules).unwrap()), some(&["4"]));
        let err = Filter::new(vec![("tags".into(), vec![])]).unwrap_err();
        assert!(
            err.to_string().contains("cannot be filtered on \"tags\""),
            "{err}"
        );
    }

    #[test]
    fn columns_select_and_order() {
        let items = item(7, "publish", "post", "x");
        let options = Options {
            columns: Some(vec!["title".into(), "id".into()]),
            ..Options::default()
        };
        let batches = read(doc(&items), options).unwrap();
        assert_eq!(batches[0].num_columns(), 2);
        assert_eq!(batches[0].schema().field(0).name(), "title");
        assert_eq!(texts(&batches, "id")[0].as_deref(), Some("7"));
        // The filter's columns are read even when not selected.
        let options = Options {
            columns: Some(vec![]),
            ..Options::default()
        };
        let batches = read(doc(&items), options).unwrap();
        assert_eq!((batches[0].num_rows(), batches[0].num_columns()), (1, 0));
        let options = Options {
            columns: Some(vec!["body".into()]),
            ..Options::default()
        };
        let err = read(doc(&items), options).unwrap_err().to_string();
        assert!(
            err.contains("column \"body\" is not in test.xml: a WordPress export has the columns id, title, content"),
            "{err}"
        );
    }

    #[test]
    fn cdata_sections_join_and_entities_resolve() {
        // Several sections, the split WordPress writes for "]]>", text around them, entities
        // and character references, CRLF line ends.
        let body = "<content:encoded>\n<![CDATA[one]]><![CDATA[two]]>&amp;&#x263A;&#233;\
                    <![CDATA[ ]]]]><![CDATA[> end]]>\r\n</content:encoded>";
        let items = format!(
            "<item><title>A &amp; B &lt;i&gt; &#8217;q&#8217;</title>{body}\
             <wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item>"
        );
        let batches = read(doc(&items), Options::default()).unwrap();
        assert_eq!(
            texts(&batches, "content")[0].as_deref(),
            Some("\nonetwo&☺é ]]> end\n")
        );
        assert_eq!(
            texts(&batches, "title")[0].as_deref(),
            Some("A & B <i> \u{2019}q\u{2019}")
        );
        // A field that is not there is null.
        assert_eq!(texts(&batches, "id")[0], None);
        assert_eq!(lists(&batches, "categories")[0], Vec::<String>::new());
    }

    #[test]
    fn namespaces_are_matched_by_uri_for_every_wxr_version() {
        for version in ["1.0", "1.1", "1.2"] {
            let text = format!(
                r#"<?xml version="1.0"?><rss xmlns:e="http://wordpress.org/export/{version}/excerpt/" xmlns:c="http://purl.org/rss/1.0/modules/content/" xmlns:w="http://wordpress.org/export/{version}/"><channel><item><title>T</title><c:encoded>body</c:encoded><e:encoded>short</e:encoded><w:post_id>3</w:post_id><w:status>publish</w:status><w:post_type>page</w:post_type></item></channel></rss>"#
            );
            let batches = read(text.into_bytes(), Options::default()).unwrap();
            assert_eq!(texts(&batches, "content")[0].as_deref(), Some("body"));
            assert_eq!(texts(&batches, "excerpt")[0].as_deref(), Some("short"));
            assert_eq!(texts(&batches, "id")[0].as_deref(), Some("3"));
        }
        // Undeclared prefixes (the importer's generated large export) are taken by name.
        let text = "<rss><channel><item><title>P</title><wp:post_id>1</wp:post_id>\
                    <wp:post_type>post</wp:post_type><wp:status>publish</wp:status>\
                    <content:encoded><![CDATA[Sample 1]]></content:encoded></item></channel></rss>";
        let batches = read(text.as_bytes().to_vec(), Options::default()).unwrap();
        assert_eq!(texts(&batches, "content")[0].as_deref(), Some("Sample 1"));
        // Another namespace's <encoded> is not the content.
        let text = r#"<rss xmlns:x="urn:x"><channel><item><x:encoded>no</x:encoded><wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item></channel></rss>"#;
        let batches = read(text.as_bytes().to_vec(), Options::default()).unwrap();
        assert_eq!(texts(&batches, "content")[0], None);
    }

    #[test]
    fn malformed_files_are_named_with_line_and_column() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (doc("<item><title>x</titel></item>"), "line 9, column 15: the end tag </titel> does not close the open <title>"),
            (format!("{HEAD}<item><title>x</title>").into_bytes(), "the file ends inside <item> (opened on line 9)"),
            (doc("<item><content:encoded><![CDATA[never closed</content:encoded></item>"), "line 9, column 24: a CDATA section (<![CDATA[) that is never closed"),
            (doc("<item><content:encoded><![CDATA[a <![CDATA[ b ]]> c]]></content:encoded></item>"), "line 9, column 52: \"]]>\" outside a CDATA section"),
            (doc("<item><title>bell \u{7}</title></item>"), "line 9, column 19: the control character U+0007"),
            (doc("<item><title>&#1;</title></item>"), "line 9, column 14: the character reference &#1; is U+0001"),
            (doc("<item><title>a&nbsp;b</title></item>"), "line 9, column 15: unknown entity &nbsp;"),
            ([&doc("<item><title>caf")[..HEAD.len() + 17], b"\xe9</title></item></channel></rss>"].concat(), "line 9, column 18: bytes that are not UTF-8 (\\xe9)"),
            (b"This is not valid XML content".to_vec(), "line 1, column 1: text before the root element"),
            (b"<feed></feed>".to_vec(), "the root element is <feed>, not <rss>"),
            (Vec::new(), "no root element"),
            (b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>".to_vec(), "declares encoding \"iso-8859-1\""),
            (doc("<item><category domain=\"category\" nicename=\"a\" nicename=\"b\">x</category></item>"), "line 9, column 7: a malformed attribute in <category>"),
            (format!("{HEAD}{TAIL}<rss/>").into_bytes(), "a second root element"),
        ];
        for (bytes, want) in cases {
            let got = error(bytes);
            assert!(got.starts_with("test.xml: "), "{got}");
            assert!(got.contains(want), "want {want:?} in {got:?}");
        }
    }

    #[test]
    fn an_rss_feed_is_not_silently_empty() {
        let feed = b"<rss><channel><item><title>News</title><link>http://x/1</link></item>\
                     </channel></rss>";
        let err = read(feed.to_vec(), Options::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("none of its 1 items has the status field (<wp:status>)"),
            "{err}"
        );
        let all = Options {
            filter: Filter::all(),
            ..Options::default()
        };
        let batches = read(feed.to_vec(), all).unwrap();
        assert_eq!(texts(&batches, "title")[0].as_deref(), Some("News"));
        // An export whose items are all drafts is just empty.
        let drafts = doc(&item(1, "draft", "post", "x"));
        let mut r = WxrReader::from_bytes("t.xml", drafts, Options::default()).unwrap();
        assert!(r.next().is_none());
        assert_eq!((r.items_seen(), r.items_kept()), (1, 0));
    }

    #[test]
    fn an_error_after_good_batches_ends_the_stream() {
        let items: String = (1..=3).map(|i| item(i, "publish", "post", "ok")).collect();
        let mut bytes = format!("{HEAD}{items}").into_bytes();
        bytes.extend_from_slice(b"<item><title>\x01</title></item></channel></rss>");
        let mut r = WxrReader::from_bytes(
            "t.xml",
            bytes,
            Options {
                batch_size: 2,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(r.next().unwrap().unwrap().num_rows(), 2);
        let err = r.next().unwrap().unwrap_err().to_string();
        assert!(err.contains("U+0001"), "{err}");
        assert!(r.next().is_none());
    }

    #[test]
    fn never_panics_on_cut_or_garbled_exports() {
        // Every prefix of a real-looking export, and random byte flips: an error or rows,
        // never a panic or a hang.
        let items: String = (1..=3)
            .map(|i| item(i, "publish", "post", "<b>x</b> ]]]]><![CDATA[> y"))
            .collect();
        let whole = doc(&items);
        for cut in 0..whole.len() {
            let _ = read(whole[..cut].to_vec(), Options::default());
        }
        let mut next = crate::testing::xorshift(7);
        for _ in 0..2000 {
            let mut bytes = whole.clone();
            for _ in 0..3 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = (next() & 0xFF) as u8;
            }
            let _ = read(bytes, Options::default());
        }
    }

    /// A file of the shared corpus' WordPress folder.
    fn fixture(rel: &str) -> std::path::PathBuf {
        std::env::var("BEDROCK_BATCH_CORPUS")
            .map_or_else(
                |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
                std::path::PathBuf::from,
            )
            .join("wordpress")
            .join(rel)
    }

    fn read_fixture(rel: &str, filter: Filter) -> Result<Vec<RecordBatch>, Error> {
        let options = Options {
            filter,
            ..Options::default()
        };
        WxrReader::open(&fixture(rel), options)?.collect()
    }

    #[test]
    fn the_importer_fixtures_read_as_its_tests_say() {
        // WordPress/wordpress-importer phpunit/tests/parser.php, test_wxr_version_1_0: six
        // posts; the third has the category alpha and the tags news and roar (WXR 1.0's
        // domain="tag"), the bare <category> duplicates not counted.
        let b = read_fixture(
            "wordpress-importer/phpunit/data/valid-wxr-1.0.xml",
            Filter::all(),
        )
        .unwrap();
        assert_eq!(texts(&b, "id").len(), 6);
        assert_eq!(lists(&b, "categories")[0], ["Uncategorized"]);
        assert_eq!(lists(&b, "categories")[2], ["alpha"]);
        assert_eq!(lists(&b, "tags")[2], ["news", "roar"]);
        // test_wxr_version_1_1: two posts, the first with the category alpha and the tag
        // Clippable (its post_tax term is another taxonomy).
        let b = read_fixture(
            "wordpress-importer/phpunit/data/valid-wxr-1.1.xml",
            Filter::all(),
        )
        .unwrap();
        assert_eq!(texts(&b, "id").len(), 2);
        assert_eq!(lists(&b, "categories")[0], ["alpha"]);
        assert_eq!(lists(&b, "tags")[0], ["Clippable"]);
        // test_escaped_cdata_closing_sequence.
        let b = read_fixture(
            "wordpress-importer/phpunit/data/crazy-cdata-escaped.xml",
            Filter::published(),
        )
        .unwrap();
        assert_eq!(
            texts(&b, "content"),
            [Some(
                "Content with nested <![CDATA[ tags ]]> :)".to_string()
            )]
        );
        // test_malformed_wxr: the SimpleXML and XML parsers refuse malformed.xml.
        let err = read_fixture(
            "wordpress-importer/phpunit/data/malformed.xml",
            Filter::all(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(
                "malformed.xml: line 90, column 1: the end tag </channel> does not close the \
                 open <notachanneltag>"
            ),
            "{err}"
        );
    }

    #[test]
    fn open_names_a_missing_file() {
        let err = WxrReader::open(Path::new("/no/such/export.xml"), Options::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/no/such/export.xml: no such file"), "{err}");
    }
}
