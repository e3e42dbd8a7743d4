"""Sources (bedrock_batch.sources, src/source/): read_articles over Parquet, JSON Lines, CSV and
WordPress exports (WXR), against the corpus' articles and the WordPress importer's fixtures.

What each importer fixture holds is taken from WordPress/wordpress-importer's own tests:
phpunit/tests/parser.php (the version of commit e55bdb571b69, the stored one closest to the
corpus' snapshot 5fda04887ed8) and phpunit/tests/import.php (test_small_import,
test_slashes_should_not_be_stripped); each test below names the PHP test it matches.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import InputError, InputTypeError, NotFoundError

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
COLUMNS = ["id", "title", "content", "excerpt", "date", "status", "post_type", "link"]
WXR_SCHEMA = pa.schema(
    [(c, pa.large_string()) for c in COLUMNS]
    + [("categories", pa.list_(pa.large_string())), ("tags", pa.list_(pa.large_string()))]
)


@pytest.fixture(scope="module")
def wp(corpus: Path) -> Path:
    return corpus / "wordpress"


@pytest.fixture(scope="module")
def data(wp: Path) -> Path:
    return wp / "wordpress-importer" / "phpunit" / "data"


@pytest.fixture(scope="module")
def theme(wp: Path) -> Path:
    return wp / "theme-test-data" / "themeunittestdata.wordpress.xml"


def where(data: bytes, needle: bytes) -> str:
    """``line L, column C`` of the first ``needle`` in ``data``, counted here (1-based, the
    column in characters), to check the reader's count against."""
    at = data.index(needle)
    line_start = data.rfind(b"\n", 0, at) + 1
    column = len(data[line_start:at].decode("utf-8", "replace")) + 1
    line = data.count(b"\n", 0, at) + 1
    return f"line {line}, column {column}"


def rows(path: Path, **kw: Any) -> list[dict[str, Any]]:
    return pa.table(bb.read_articles(path, **kw)).to_pylist()  # type: ignore[no-any-return]


def one(path: Path, **kw: Any) -> dict[str, Any]:
    (row,) = rows(path, **kw)
    return row


# ---------------------------------------------------------------- every format round-trips


@pytest.fixture(scope="module")
def table(articles: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(articles)


def test_parquet_round_trips_the_corpus(
    tmp_path: Path, articles: list[dict[str, Any]], table: pa.Table
) -> None:
    path = tmp_path / "articles.parquet"
    pq.write_table(table, path, row_group_size=100)
    stream = bb.read_articles(path, batch_size=64)
    reader = pa.RecordBatchReader.from_stream(stream)
    batches = list(reader)
    assert all(b.num_rows <= 64 for b in batches)
    assert pa.Table.from_batches(batches).to_pylist() == articles


def test_jsonl_round_trips_the_corpus(tmp_path: Path, articles: list[dict[str, Any]]) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), "utf-8")
    reader = pa.RecordBatchReader.from_stream(bb.read_articles(path, batch_size=100))
    batches = list(reader)
    assert [b.num_rows for b in batches] == [100] * 6 + [71]
    assert pa.Table.from_batches(batches).to_pylist() == articles
    # Compressed, and through polars.
    gz = tmp_path / "articles.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert pl.DataFrame(bb.read_articles(gz)).to_dicts() == articles


def test_csv_round_trips_the_corpus(tmp_path: Path, articles: list[dict[str, Any]]) -> None:
    # Python's csv module writes it: quoted newlines (and the 8 bodies with \r) in cells.
    path = tmp_path / "articles.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(articles[0]))
        w.writeheader()
        w.writerows(articles)
    got = pa.table(bb.read_articles(path, batch_size=50))
    assert got.to_pylist() == articles
    assert all(t == pa.string() for t in got.schema.types)
    # TSV, bz2-compressed.
    tsv = tmp_path / "articles.tsv.bz2"
    with bz2.open(tsv, "wt", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(articles[0]), delimiter="\t")
        w.writeheader()
        w.writerows(articles)
    assert rows(tsv) == articles


def test_csv_cells_are_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,title,n\n007,"a, b",1\n010,,2.5\n', "utf-8")
    assert rows(path) == [
        {"id": "007", "title": "a, b", "n": "1"},
        {"id": "010", "title": "", "n": "2.5"},
    ]


def test_wxr_needs_no_pyarrow_and_tables_say_how_to_get_it(
    tmp_path: Path, theme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["1"]}), path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    stream = bb.read_articles(theme)
    assert isinstance(stream, bb.ArticleStream)
    assert stream.column_names == [*COLUMNS, "categories", "tags"]
    assert not stream.closed
    with pytest.raises(InputError, match=r"pip install 'bedrock-batch\[arrow\]'"):
        bb.read_articles(path)


# ---------------------------------------------------------------- WXR: schema and streaming


def test_wxr_schema_and_batches(theme: Path) -> None:
    stream = bb.read_articles(theme, filter="all", batch_size=50)
    assert pa.schema(stream) == WXR_SCHEMA
    assert "ArticleStream(" in repr(stream)
    reader = pa.RecordBatchReader.from_stream(stream)
    assert reader.schema == WXR_SCHEMA
    # 186 items: the count the importer's test_parse_multiple_wxr_files gives for its copy of
    # the theme unit test data (theme-unit-test-data.xml).
    assert [b.num_rows for b in reader] == [50, 50, 50, 36]
    assert stream.closed
    with pytest.raises(InputError, match="already read"):
        pa.table(stream)


def test_wxr_reads_through_polars_and_pyarrow_alike(theme: Path) -> None:
    df = pl.DataFrame(bb.read_articles(theme))
    assert df.columns == [*COLUMNS, "categories", "tags"]
    assert df.schema["categories"] == pl.List(pl.String)
    assert df.to_dicts() == rows(theme)
    # polars' from_arrow gives any non-pyarrow stream as one struct Series (its design).
    series = pl.from_arrow(bb.read_articles(theme))
    assert isinstance(series, pl.Series)
    assert series.struct.unnest().equals(df)


def test_wxr_matches_an_independent_xml_parser(wp: Path) -> None:
    # Every well-formed export of the corpus, every item and field, against ElementTree (expat).
    files = sorted(wp.rglob("*.xml"))
    checked = 0
    for path in files:
        try:
            want = et_items(path)
        except ET.ParseError:
            continue
        got = rows(path, filter="all", batch_size=7)
        assert got == want, path
        checked += 1
    assert checked == len(files) - 3  # malformed.xml, malformed-simple.xml, crazy-cdata.xml


def et_items(path: Path) -> list[dict[str, Any]]:
    """The columns of every item, by ElementTree: the same rules, written another way."""
    wp_ns = ("http://wordpress.org/export/", "https://wordpress.org/export/")
    out = []
    for it in ET.parse(path).getroot().iterfind("channel/item"):
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row["categories"], row["tags"] = [], []
        for child in it:
            ns, _, tag = (
                child.tag[1:].rpartition("}") if child.tag[0] == "{" else ("", "", child.tag)
            )
            text = child.text or ""
            key = None
            if not ns and tag in ("title", "link"):
                key = tag
            elif ns == "http://purl.org/rss/1.0/modules/content/" and tag == "encoded":
                key = "content"
            elif ns.startswith(wp_ns) and ns.endswith("/excerpt/") and tag == "encoded":
                key = "excerpt"
            elif ns.startswith(wp_ns) and tag in (
                "post_id",
                "post_date_gmt",
                "status",
                "post_type",
            ):
                key = {"post_id": "id", "post_date_gmt": "date"}.get(tag, tag)
            elif not ns and tag == "category" and "nicename" in child.attrib:
                domain = child.get("domain")
                if domain == "category":
                    row["categories"].append(text)
                elif domain in ("post_tag", "tag"):
                    row["tags"].append(text)
            if key and row[key] is None:
                trim = key in ("id", "date", "status", "post_type", "link")
                row[key] = text.strip() if trim else text
        out.append(row)
    return out


def test_wxr_bodies_match_the_corpus_jsonl(wp: Path, articles: list[dict[str, Any]]) -> None:
    # articles.jsonl holds the raw content:encoded and the title of every post and page with a
    # body (ids end in #post-<post_id>, #page-<post_id>, or #post-item<n> for the n-th item of
    # an export without post ids); each is the same text here.
    wanted = [a for a in articles if a["id"].startswith("wordpress/")]
    assert len(wanted) == 169
    by_file: dict[str, dict[str, dict[str, Any]]] = {}
    for a in wanted:
        rel, _, key = a["id"].removeprefix("wordpress/").partition("#")
        if rel not in by_file:
            got = rows(wp / rel, filter="all")
            by_file[rel] = {
                f"{r['post_type']}-{r['id'] if r['id'] is not None else f'item{i}'}": r
                for i, r in enumerate(got)
            }
        row = by_file[rel][key]
        assert row["content"] == a["content"], a["id"]
        assert " ".join(row["title"].split()) == a["title"], a["id"]


def test_wxr_is_streamed_not_read_whole(tmp_path: Path) -> None:
    # A bad byte near the end of a large export: opening reads only the first batch, the
    # error comes when the stream gets there, named by its line.
    items = "".join(
        f"<item><title>Post {i}</title><wp:post_id>{i}</wp:post_id><wp:status>publish"
        f"</wp:status><wp:post_type>post</wp:post_type><content:encoded><![CDATA[<p>{'x' * 200}"
        f"</p>]]></content:encoded></item>\n"
        for i in range(1, 5001)
    )
    path = tmp_path / "big.xml"
    data = wxr(items + "<item><title>\x0b</title></item>\n").encode()
    path.write_bytes(data)
    assert where(data, b"\x0b") == "line 5008, column 14"
    stream = bb.read_articles(path, batch_size=100)
    reader = pa.RecordBatchReader.from_stream(stream)
    assert reader.read_next_batch().num_rows == 100
    # pyarrow raises ArrowInvalid (a ValueError) with the reader's message.
    with pytest.raises(
        ValueError, match=r"big\.xml: line 5008, column 14: the control character U\+000B"
    ):
        reader.read_all()


def wxr(items: str, version: str = "1.2") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<rss version="2.0"\n'
        f'  xmlns:excerpt="http://wordpress.org/export/{version}/excerpt/"\n'
        '  xmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        f'  xmlns:wp="http://wordpress.org/export/{version}/">\n'
        f"<channel>\n<title>t</title>\n{items}</channel>\n</rss>\n"
    )


# ---------------------------------------------------------------- WXR: the importer's fixtures


def test_valid_wxr_1_0(data: Path) -> None:
    # parser.php test_wxr_version_1_0: 6 posts; posts[0] in Uncategorized; posts[2] in alpha,
    # tagged news and roar (WXR 1.0 writes domain="tag"); posts[3] tagged chicken and face, in
    # child. Its parsers keep only <category> elements with a nicename, as here.
    got = rows(data / "valid-wxr-1.0.xml", filter="all")
    assert len(got) == 6
    assert (got[0]["categories"], got[0]["tags"]) == (["Uncategorized"], [])
    assert (got[2]["categories"], got[2]["tags"]) == (["alpha"], ["news", "roar"])
    assert (got[3]["categories"], got[3]["tags"]) == (["child"], ["chicken", "face"])
    assert [r["title"] for r in got] == [
        "Hello world!",
        "About",
        "Alpha post",
        "Child post",
        "Child page",
        "Parent page",
    ]


def test_valid_wxr_1_1(data: Path) -> None:
    # parser.php test_wxr_version_1_1: 2 posts; posts[0]'s terms are alpha (category),
    # Clippable (post_tag) and bieup (post_tax, a custom taxonomy: not read).
    got = rows(data / "valid-wxr-1.1.xml", filter="all")
    assert len(got) == 2
    assert (got[0]["categories"], got[0]["tags"]) == (["alpha"], ["Clippable"])
    assert [r["post_type"] for r in got] == ["post", "page"]


def test_escaped_cdata_closing_sequence(data: Path) -> None:
    # parser.php test_escaped_cdata_closing_sequence: ']]>' written ']]]]><![CDATA[>'.
    row = one(data / "crazy-cdata-escaped.xml")
    assert row["content"] == "Content with nested <![CDATA[ tags ]]> :)"
    assert row["excerpt"] == ""
    assert (row["id"], row["date"], row["link"]) == (
        "1",
        "2012-01-05 14:30:46",
        "http://example.org/?p=1",
    )


def test_unescaped_cdata_end_is_malformed(data: Path) -> None:
    # parser.php test_unescaped_cdata_closing_sequence: only the regex parser reads
    # crazy-cdata.xml; for XML (SimpleXML, expat) a ']]>' ends the section, and the rest,
    # ' :)]]>', is text that may not hold ']]>'.
    with pytest.raises(
        InputError,
        match=r'crazy-cdata\.xml: line 18, column 70: "\]\]>" outside a CDATA section',
    ):
        bb.read_articles(data / "crazy-cdata.xml")


def test_multiple_cdata_sections_concatenate(data: Path) -> None:
    # parser.php testCdataSectionsConcatenateCorrectly: trim(content) is the three sections.
    row = one(data / "multiple-cdata.xml")
    assert row["content"].strip() == "line oneline twoline three"
    assert row["content"] == "\nline oneline twoline three\n"


def test_cdata_edge(data: Path) -> None:
    # parser.php testParserHandlesCdataWeirdSequence: the content ends with ']] >'.
    assert one(data / "cdata-edge.xml")["content"] == "ends with sequence ]] >"


def test_backslashes_and_slashes(data: Path) -> None:
    # parser.php testBackslashesPreservedInContent; import.php
    # test_slashes_should_not_be_stripped (content 'Slashes aren\'t \"cool\"', the category
    # 'a \"great\" category', as PHP's single-quoted strings write them).
    assert one(data / "backslashes.xml")["content"] == "C:\\xampp\\htdocs\\wp-content"
    row = one(data / "slashes.xml")
    assert row["content"] == 'Slashes aren\\\'t \\"cool\\"'
    assert row["categories"] == ['a \\"great\\" category']


def test_blank_lines_in_content(data: Path) -> None:
    # parser.php test_blank_lines_in_content: three newlines in the content.
    content = one(data / "post-content-blank-lines.xml")["content"]
    assert content.count("\n") == 3
    assert "\n\n" in content


def test_utf8_challenges(data: Path) -> None:
    # parser.php test_parse_wxr_with_challenging_utf8_sequences.
    row = one(data / "wxr-utf-8-challenges.xml")
    # The fixture also holds invisible format characters (bidi controls U+202A-U+202E,
    # zero-width U+200B-U+200E) and decomposed marks (U + U+0308), which an XML parser keeps
    # (test_wxr_matches_an_independent_xml_parser checks every character); the copy of the
    # PHP test read for this shows its literals NFC-normalised and without them, so they are
    # compared that way.
    assert row["title"] == (
        '"The Road \u202eNot\u202c Taken" by Rob\u202dert \u202eFrost \u202a🌲\u202c'
    )
    assert visible(row["title"]) == '"The Road Not Taken" by Robert Frost 🌲'
    for part in (
        "T̷̢̯̭̈w̴̰̜̾o̷͉̅ ̵̨͔̔r̶̞̈o̷̰͇̍ä̴́ͅd̶̰̒s̵̞̈́",
        "𝓣𝓮𝓼𝓽 𝓜𝓾𝓵𝓽𝓲-𝓑𝔂𝓽𝓮: 🚀🌟💫⭐️🔥💯🎉🎊🌈🦄",
        "السلام عليكم وﷲ",
    ):
        assert visible(part) in visible(row["content"])
    assert visible(row["excerpt"]) == visible(
        "T̷̢̯̭̈h̶̰̾i̵̱̇s̶̰̍ ̵̰̔i̶̱̇s̶̰̍ ̵̰̔a̶̰̅n̶̰̍ ̵̰̔e̶̞̔x̶̰̍c̶̰̒e̶̞̔r̶̰̈p̶̰̒t̶̰̒ ̵̰̔w̶̰̾i̵̱̇t̶̰̒h̶̰̾ ̵̰̔e̶̞̔m̶̰̈o̶̰̍j̶̰̈i̵̱̇ 🚀🌟 ̵̰̔a̶̰̅n̶̰̍d̶̬̽ ̵̰̔R̶̰̈T̶̰̒L̶̰̈ خدسنگ ̵̰̔t̶̰̒e̶̞̔x̶̰̍t̶̰̒"
    )
    assert [visible(c) for c in row["categories"]] == [visible("Ü̷̢̯̭n̶̰̍c̶̰̒a̶̰̅t̶̰̒e̶̞̔g̶̰̈o̶̰̍r̶̰̈i̵̱̇z̶̰̒e̶̞̔d̶̬̽ 🎭")]


def visible(text: str) -> str:
    """``text`` NFC-normalised, without format characters (Unicode category Cf)."""
    return unicodedata.normalize("NFC", "".join(c for c in text if unicodedata.category(c) != "Cf"))


def test_small_export(data: Path) -> None:
    # import.php test_small_import: 11 posts (by ID, descending), 5 published posts, 1 private
    # post, 4 published pages, 1 draft page; 'Many Categories' in 27 categories, 'Private
    # Post' tagged tag1-tag3, the others in one category ('Non-standard post format' also
    # has the post format aside, another taxonomy).
    everything = rows(data / "small-export.xml", filter="all")
    by_id = sorted(everything, key=lambda r: -int(r["id"]))
    assert [r["title"] for r in by_id] == [
        "Many Categories",
        "Non-standard post format",
        "Top-level Foo",
        "Foo-child",
        "Private Post",
        "1-col page",
        "Draft Page",
        "Parent Page",
        "Child Page",
        "Sample Page",
        "Hello world!",
    ]
    counts: dict[tuple[str, str], int] = {}
    for r in everything:
        counts[r["post_type"], r["status"]] = counts.get((r["post_type"], r["status"]), 0) + 1
    assert counts == {
        ("post", "publish"): 5,
        ("post", "private"): 1,
        ("page", "publish"): 4,
        ("page", "draft"): 1,
    }
    assert len(by_id[0]["categories"]) == 27
    assert by_id[4]["tags"] == ["Tag1", "Tag2", "Tag3"]
    assert [len(r["categories"]) for r in by_id if r["post_type"] == "post"][1:] == [1, 1, 1, 1, 1]


def test_malformed_files_name_file_and_line(data: Path) -> None:
    # parser.php test_malformed_wxr: the SimpleXML and XML parsers refuse malformed.xml.
    with pytest.raises(
        InputError,
        match=r"malformed\.xml: line 90, column 1: the end tag </channel> does not close the "
        r"open <notachanneltag>",
    ):
        bb.read_articles(data / "malformed.xml")
    with pytest.raises(
        InputError,
        match=r"malformed-simple\.xml: line 14, column 1: the file ends inside <item> \(opened "
        r"on line 9\)",
    ):
        bb.read_articles(data / "malformed-simple.xml")


# ---------------------------------------------------------------- WXR: filter and columns


def test_default_filter_keeps_published_posts_and_pages(theme: Path, data: Path) -> None:
    everything = rows(theme, filter="all")
    kinds = {r["post_type"] for r in everything}
    assert {"post", "page", "attachment", "nav_menu_item"} <= kinds
    published = rows(theme)
    assert published == [
        r for r in everything if r["status"] == "publish" and r["post_type"] in ("post", "page")
    ]
    assert len(published) == 77
    assert rows(theme, filter=None) == everything
    small = data / "small-export.xml"
    assert len(rows(small)) == 9


def test_filter_takes_columns_and_values(theme: Path, data: Path) -> None:
    small = data / "small-export.xml"
    assert [r["title"] for r in rows(small, filter={"status": "draft"})] == ["Draft Page"]
    got = rows(small, filter={"status": ["private", "draft"], "post_type": ("post",)})
    assert [r["title"] for r in got] == ["Private Post"]
    attachments = rows(theme, filter={"post_type": {"attachment"}}, columns=["link"])
    assert len(attachments) == 37
    with pytest.raises(InputError, match='cannot be filtered on "tags"'):
        bb.read_articles(theme, filter={"tags": ["x"]})
    with pytest.raises(InputError, match='cannot be filtered on "nope"'):
        bb.read_articles(theme, filter={"nope": ["x"]})
    with pytest.raises(InputError, match="filter must be"):
        bb.read_articles(theme, filter="drafts")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="values must be str"):
        bb.read_articles(theme, filter={"status": [1]})  # type: ignore[dict-item]


def test_columns_select_in_order_and_name_the_missing(theme: Path) -> None:
    stream = bb.read_articles(theme, columns=["title", "id"])
    assert stream.column_names == ["title", "id"]  # type: ignore[attr-defined]
    got = pa.table(stream)
    assert got.column_names == ["title", "id"]
    assert got.to_pylist() == [{"title": r["title"], "id": r["id"]} for r in rows(theme)]
    with pytest.raises(
        InputError,
        match=r'column "body" is not in .*themeunittestdata\.wordpress\.xml: a WordPress export '
        r"has the columns id, title, content, excerpt, date, status, post_type, link, categories, tags",
    ):
        bb.read_articles(theme, columns=["body"])
    with pytest.raises(InputError, match="named twice"):
        bb.read_articles(theme, columns=["id", "id"])
    with pytest.raises(InputTypeError, match="list of column names"):
        bb.read_articles(theme, columns="title")


# ---------------------------------------------------------------- WXR: malformed input


def bad(tmp_path: Path, body: bytes, needle: bytes | None = None) -> str:
    """The message for a malformed export; with ``needle``, it must name the line and column
    where ``needle`` starts."""
    path = tmp_path / "bad.xml"
    path.write_bytes(body)
    with pytest.raises(InputError) as e:
        pa.table(bb.read_articles(path))
    message = str(e.value)
    assert message.startswith(f"{path}: ")
    if needle is not None:
        assert message.startswith(f"{path}: {where(body, needle)}: "), message
    return message


def item(text: str) -> str:
    return f"<item>\n<title>t</title>\n<content:encoded>{text}</content:encoded>\n</item>\n"


def test_broken_cdata(tmp_path: Path) -> None:
    body = wxr(item("<![CDATA[never closed")).encode()
    msg = bad(tmp_path, body, b"<![CDATA[")
    assert msg.endswith(
        "line 10, column 18: a CDATA section (<![CDATA[) that is never closed with ]]>"
    )
    body = wxr(item("<![CDATA[a]]> ]]> b")).encode()
    assert '"]]>" outside a CDATA section' in bad(tmp_path, body, b"]]> b")


def test_invalid_xml_characters(tmp_path: Path) -> None:
    body = wxr(item("<![CDATA[form\x0cfeed]]>")).encode()
    assert "the control character U+000C" in bad(tmp_path, body, b"\x0c")
    body = wxr(item("a &#x1b; b")).encode()
    assert "the character reference &#x1b; is U+001B" in bad(tmp_path, body, b"&#x1b;")
    body = wxr(item("a &nbsp; b")).encode()
    assert "unknown entity &nbsp;" in bad(tmp_path, body, b"&nbsp;")


def test_non_utf8_bytes(tmp_path: Path) -> None:
    body = wxr(item("<![CDATA[café ☕ caf\x00]]>")).encode().replace(b"\x00", b"\xe9")
    assert "bytes that are not UTF-8 (\\xe9)" in bad(tmp_path, body, b"\xe9")
    body = b'<?xml version="1.0" encoding="windows-1252"?>\n<rss/>'
    assert 'the file declares encoding "windows-1252"' in bad(tmp_path, body, b"<?xml")


def test_not_an_export(tmp_path: Path) -> None:
    assert "line 1, column 1: text before the root element" in bad(tmp_path, b"not xml at all")
    assert "the root element is <feed>, not <rss>" in bad(tmp_path, b"<feed/>")
    assert "no root element" in bad(tmp_path, b"")
    feed = b"<rss><channel><item><title>News</title></item></channel></rss>"
    assert "this looks like an RSS feed, not a WordPress export" in bad(tmp_path, feed)
    with pytest.raises(NotFoundError, match="no such file"):
        bb.read_articles(tmp_path / "missing.xml")
    with pytest.raises(FileNotFoundError):
        bb.read_articles(tmp_path / "missing.parquet")


def test_entities_namespaces_and_https_uris(tmp_path: Path) -> None:
    # WXR 1.0 and 1.1 namespaces (and the https URIs of the theme test data) are the same
    # fields; a BOM and CRLF line ends are fine.
    body = (
        "<item><title>A &amp; B &#8217;s</title><wp:post_id> 5 </wp:post_id>"
        "<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>"
        "<content:encoded>x &lt;b&gt;\r\ny</content:encoded></item>\n"
    )
    for version in ("1.0", "1.1"):
        path = tmp_path / f"v{version}.xml"
        path.write_bytes(b"\xef\xbb\xbf" + wxr(body, version).encode())
        row = one(path)
        assert (row["title"], row["id"], row["content"]) == ("A & B \u2019s", "5", "x <b>\ny")
    path = tmp_path / "https.xml"
    path.write_text(wxr(body).replace("http://wordpress.org", "https://wordpress.org"), "utf-8")
    assert one(path)["id"] == "5"


# ---------------------------------------------------------------- tables: columns, filter, bad lines


def test_tables_select_and_filter(tmp_path: Path, articles: list[dict[str, Any]]) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(articles), path)
    md = rows(path, columns=["id", "title"], filter={"format": "markdown"})
    assert md == [
        {"id": a["id"], "title": a["title"]} for a in articles if a["format"] == "markdown"
    ]
    # "published" is for WordPress exports: a table is not filtered by default.
    assert len(rows(path, columns=["id"])) == len(articles)
    for name in ("a.parquet", "a.jsonl", "a.csv"):
        p = tmp_path / name
        if name.endswith(".jsonl"):
            p.write_text('{"id": "1", "title": "t"}\n', "utf-8")
        elif name.endswith(".csv"):
            p.write_text("id,title\n1,t\n", "utf-8")
        else:
            pq.write_table(pa.table({"id": ["1"], "title": ["t"]}), p)
        with pytest.raises(
            InputError, match=rf"column 'body' is not in .*{name}: its columns .*are id, title"
        ):
            bb.read_articles(p, columns=["id", "body"])
        with pytest.raises(InputError, match=rf"column 'status' is not in .*{name}"):
            bb.read_articles(p, filter={"status": "publish"})


def test_jsonl_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    good = '{"id": "1", "title": "t"}\n'
    path.write_text(good + "\n" + '{"id": "2", "title": }\n', "utf-8")
    with pytest.raises(
        InputError, match=r"a\.jsonl: line 3, column 22: not valid JSON: Expecting value"
    ):
        bb.read_articles(path)
    path.write_text(good + "[1, 2]\n", "utf-8")
    with pytest.raises(InputError, match=r"a\.jsonl: line 2: a JSON object is expected, got list"):
        bb.read_articles(path)
    path.write_bytes(good.encode() + b'{"id": "3", "title": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"a\.jsonl: line 2, column 26: bytes that are not UTF-8"):
        bb.read_articles(path)
    # Past the first batch: the stream stops there, with the line (InputError from the
    # returned pyarrow reader; ArrowInvalid, also a ValueError, through pa.table()).
    path.write_text(good * 5 + '{"id": 6, "title": "t"}\n', "utf-8")
    reader = bb.read_articles(path, batch_size=2)
    assert isinstance(reader, pa.RecordBatchReader)
    with pytest.raises(InputError, match=r"a\.jsonl: line 6: .*changed from string to number"):
        reader.read_all()
    with pytest.raises(ValueError, match=r"a\.jsonl: line 6: "):
        pa.table(bb.read_articles(path, batch_size=2))
    # A key the first lines lacked is an error, not dropped; with columns= it is not read.
    path.write_text(good * 2 + '{"id": "3", "title": "t", "extra": 1}\n', "utf-8")
    with pytest.raises(InputError, match=r"line 3: .*pass columns="):
        bb.read_articles(path, batch_size=2).read_all()  # type: ignore[attr-defined]
    assert len(rows(path, batch_size=2, columns=["id"])) == 3


def test_csv_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    # The quoted cell spans lines 2-3, so the short row is on line 5 (row 4).
    path.write_text('id,title,content\n1,a,"two\nlines"\n2,b,c\n3,d\n4,e,f\n', "utf-8")
    with pytest.raises(InputError, match=r"a\.csv: line 5: 2 cells where the header has 3"):
        pa.table(bb.read_articles(path)).to_pylist()
    path.write_bytes(b"id,title\n1,a\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"a\.csv: line 3, column 6: bytes that are not UTF-8"):
        bb.read_articles(path)
    # Past the first block of rows: named when the stream gets there.
    path.write_bytes(b"id,title\n" + b"1,aaaaaaaa\n" * 600_000 + b"2,caf\xe9\n")
    reader = bb.read_articles(path)
    with pytest.raises(
        InputError, match=r"a\.csv: line 600002, column 6: bytes that are not UTF-8"
    ):
        reader.read_all()  # type: ignore[attr-defined]


def test_format_from_name_or_argument(tmp_path: Path) -> None:
    path = tmp_path / "articles.txt"
    path.write_text('{"id": "1"}\n', "utf-8")
    with pytest.raises(InputError, match=r'cannot tell the format .* pass format="parquet"'):
        bb.read_articles(path)
    assert rows(path, format="jsonl") == [{"id": "1"}]
    with pytest.raises(InputError, match="decompress it first"):
        bb.read_articles(tmp_path / "export.xml.gz")
    with pytest.raises(InputError, match="batch_size must be a positive"):
        bb.read_articles(path, format="jsonl", batch_size=0)


# ---------------------------------------------------------------- the next stages read it


def test_pack_reads_a_wxr_stream(theme: Path) -> None:
    recs = bb.pack(
        bb.read_articles(theme),
        prompt=bb.Prompt(user="{title}\n\n{content}"),
        model=HAIKU,
        missing="empty",
    )
    want = rows(theme)
    assert recs.ids == [r["id"] for r in want]
    first = json.loads(recs.to_jsonl().splitlines()[0])
    text = first["modelInput"]["messages"][0]["content"]
    assert text == f"{want[0]['title']}\n\n{want[0]['content'] or ''}"


def test_clean_reads_a_wxr_column(theme: Path) -> None:
    content = pa.table(bb.read_articles(theme))["content"]
    cleaned = bb.clean(content)
    assert isinstance(cleaned, pa.ChunkedArray)
    assert cleaned.type == pa.large_string()
    assert len(cleaned) == len(content) == 77
    assert cleaned.to_pylist() == bb.clean(content.to_pylist())
