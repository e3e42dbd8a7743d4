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

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{LargeStringBuilder, ListBuilder};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use quick_xml::events::{BytesStart, Event};
use quick_xml::NsReader;

mod xml;

use super::{position, Checked, Origin};
use crate::error::Error;
use xml::{check_attributes, namespace, resolve_reference, term_column, xml_error, Ns};

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

#[cfg(test)]
mod tests;
