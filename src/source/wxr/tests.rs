//! The WXR reader against hand-written exports, the corpus and the importer's fixtures.

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
