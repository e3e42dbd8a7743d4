"""The pack stage and sharding: real corpus records for every family, quota edges, bad input."""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import GeneratedIdsWarning, InputError, InputTypeError

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SYSTEM = "あなたは技術ブログの要約専門家です。記事から日本語と英語の要約を生成し、JSON形式で出力してください。"
USER = "タイトル: {title}\n\n記事:\n{content}"


def text_of_message(family: str, invocation: str, mi: dict[str, Any]) -> str:
    if family == "claude" and invocation == "InvokeModel":
        assert mi["anthropic_version"] == "bedrock-2023-05-31"
        content = mi["messages"][0]["content"]
        assert isinstance(content, str)
        return content
    if family in ("nova",) or invocation == "Converse":
        blocks = mi["messages"][0]["content"]
        assert mi["messages"][0]["role"] == "user" and isinstance(blocks, list)
        return str(blocks[0]["text"])
    if family == "titan-embed":
        return str(mi["inputText"])
    prompt = mi["prompt"]
    assert prompt.startswith("<|begin_of_text|>")
    return str(prompt)


@pytest.mark.parametrize(
    ("model", "invocation", "family"),
    [
        (HAIKU, "auto", "claude"),
        (HAIKU, "converse", "claude"),
        ("amazon.nova-lite-v1:0", "auto", "nova"),
        ("amazon.titan-embed-text-v2:0", "auto", "titan-embed"),
        ("meta.llama3-3-70b-instruct-v1:0", "auto", "llama3"),
        ("us.meta.llama4-scout-17b-instruct-v1:0", "auto", "llama4"),
    ],
)
def test_every_corpus_record_for_every_family(
    articles: list[dict[str, Any]], model: str, invocation: str, family: str
) -> None:
    embed = family == "titan-embed"
    prompt = (
        bb.Prompt(user="{content}")
        if embed
        else bb.Prompt(system=SYSTEM, user=USER, max_tokens=2000, temperature=0.1, prefill="{")
    )
    rows = [{"title": a["title"], "content": a["content"][:40000]} for a in articles]
    recs = bb.pack(rows, prompt=prompt, model=model, id_column=None, invocation=invocation)  # type: ignore[arg-type]
    assert len(recs) == len(articles) == 671 and recs.family == family
    assert recs.invocation == ("Converse" if invocation == "converse" else "InvokeModel")
    lines = recs.to_jsonl().decode("utf-8").splitlines()
    assert len(lines) == 671
    for row, line, rid in zip(rows, lines, recs.ids):
        rec = json.loads(line)
        assert set(rec) == {"recordId", "modelInput"} and rec["recordId"] == rid
        text = text_of_message(family, recs.invocation, rec["modelInput"])
        want = row["content"] if embed else USER.format(**row)
        if family.startswith("llama"):
            assert want in text and text.endswith("\n\n{")
            assert SYSTEM in text
        else:
            assert text == want
    assert recs.ids[:2] == ["R0000000001", "R0000000002"]
    # Japanese stays UTF-8 in the bytes (ensure_ascii=False), not \\u escapes.
    assert "記事" in lines[0] or any("記事" in ln for ln in lines)
    assert "\\u8a18" not in recs.to_jsonl().decode()


def test_claude_body_is_the_documented_shape() -> None:
    p = bb.Prompt(
        system="sys",
        user="Q: {q}",
        max_tokens=100,
        temperature=0.2,
        stop_sequences=["END"],
        prefill="{",
    )
    rec = bb.pack([{"id": "a", "q": "x"}], prompt=p, model=HAIKU).head(1)[0]
    assert rec == {
        "recordId": "a",
        "modelInput": {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 100,
            "system": "sys",
            "messages": [
                {"role": "user", "content": "Q: x"},
                {"role": "assistant", "content": "{"},
            ],
            "temperature": 0.2,
            "stop_sequences": ["END"],
        },
    }
    conv = bb.pack(
        [{"id": "a", "q": "x"}], prompt=p, model=HAIKU, invocation="converse", extra={"top_k": 5}
    ).head(1)[0]
    assert conv["modelInput"] == {
        "system": [{"text": "sys"}],
        "messages": [
            {"role": "user", "content": [{"text": "Q: x"}]},
            {"role": "assistant", "content": [{"text": "{"}]},
        ],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]},
        "additionalModelRequestFields": {"top_k": 5},
    }
    emb = bb.pack(
        [{"id": 1, "q": "x"}],
        prompt=bb.Prompt(user="{q}"),
        model="amazon.titan-embed-text-v2:0",
        extra={"dimensions": 512, "normalize": True},
    )
    assert emb.head(1)[0] == {
        "recordId": "1",
        "modelInput": {"inputText": "x", "dimensions": 512, "normalize": True},
    }


def test_tables_of_every_kind_and_int_ids() -> None:
    rows = [{"id": 7, "title": "A", "content": "<p>x</p>"}, {"id": 8, "title": "B", "content": "y"}]
    want = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU).to_jsonl()
    assert bb.pack(pd.DataFrame(rows), prompt=bb.Prompt(user=USER), model=HAIKU).to_jsonl() == want
    assert (
        bb.pack(pa.Table.from_pylist(rows), prompt=bb.Prompt(user=USER), model=HAIKU).to_jsonl()
        == want
    )
    assert bb.pack(iter(rows), prompt=bb.Prompt(user=USER), model=HAIKU).ids == ["7", "8"]
    no_ids = [{"title": "A", "content": "x"}, {"title": "B", "content": "y"}]
    with pytest.warns(
        GeneratedIdsWarning, match=r"no 'id' column.*one of its columns \(title, content\)"
    ):
        assert bb.pack(no_ids, prompt=bb.Prompt(user=USER), model=HAIKU).ids == [
            "R0000000001",
            "R0000000002",
        ]
    # Asked for by name: row order, without a warning (pytest runs with -W error).
    assert bb.pack(no_ids, prompt=bb.Prompt(user=USER), model=HAIKU, id_column=None).ids[1] == (
        "R0000000002"
    )


def test_prompt_needs_its_user_template() -> None:
    with pytest.raises(TypeError, match="user"):
        bb.Prompt()  # type: ignore[call-arg]
    assert bb.Prompt(user="{content}").fields == ["content"]


def test_bytes_cells_are_utf8_text_or_an_error_naming_row_and_column() -> None:
    rows = [
        {"id": "a", "title": "タイトル".encode(), "content": b"plain"},
        {"id": "b", "title": "t", "content": "本文".encode()},
    ]
    lines = [
        json.loads(x)
        for x in bb.pack(rows, prompt=bb.Prompt(user="{title}|{content}"), model=HAIKU)
        .to_jsonl()
        .splitlines()
    ]
    assert [x["modelInput"]["messages"][0]["content"] for x in lines] == [
        "タイトル|plain",
        "t|本文",
    ]
    # The same through a DataFrame (column lists) and through clean=.
    df = pd.DataFrame(rows)
    recs = bb.pack(
        df, prompt=bb.Prompt(user="{title}|{content}"), model=HAIKU, clean={"content": "html"}
    )
    assert [
        json.loads(x)["modelInput"]["messages"][0]["content"] for x in recs.to_jsonl().splitlines()
    ] == [
        "タイトル|plain",
        "t|本文",
    ]
    bad = [
        {"id": "a", "title": "t", "content": "c"},
        {"id": "b", "title": "t", "content": b"ok \xff\xfe"},
    ]
    for table in (bad, pd.DataFrame(bad)):
        with pytest.raises(
            InputError,
            match=r"row 1: column \"content\" holds bytes that are not UTF-8 \(byte 3 is \\xff\)",
        ):
            bb.pack(table, prompt=bb.Prompt(user="{title}|{content}"), model=HAIKU)


def test_clean_runs_in_the_same_pass(articles: list[dict[str, Any]]) -> None:
    rows = [{"title": a["title"], "content": a["content"]} for a in articles[:60]]
    recs = bb.pack(
        rows,
        prompt=bb.Prompt(user="{content}"),
        model=HAIKU,
        id_column=None,
        clean={"content": {"format": "auto", "max_chars": 3000}},
    )
    cleaned = bb.clean([r["content"] for r in rows], max_chars=3000)
    got = [r["modelInput"]["messages"][0]["content"] for r in recs.head(60)]
    assert got == cleaned


def test_exclude_gives_the_remaining_batch() -> None:
    rows = [{"id": f"p{i}", "title": "t", "content": "c"} for i in range(10)]
    recs = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU)
    rest = recs.exclude(["p1", "p3", "nope"])
    assert rest.ids == [f"p{i}" for i in range(10) if i not in (1, 3)]
    assert len(recs) == 10
    ints = bb.pack(
        [{"id": i, "title": "t", "content": "c"} for i in range(5)],
        prompt=bb.Prompt(user=USER),
        model=HAIKU,
    )
    assert ints.exclude([0, 4]).ids == ["1", "2", "3"]


# --- sharding ------------------------------------------------------------------------------


def _recs(n: int, content: str = "c") -> bb.Records:
    cols = {"title": ["t"] * n, "content": [content] * n}
    return bb.pack(
        pd.DataFrame(cols), prompt=bb.Prompt(user=USER, max_tokens=10), model=HAIKU, id_column=None
    )


def _read_back(shards: list[bb.Shard]) -> list[str]:
    ids = []
    for s in shards:
        lines = s.path.read_text("utf-8").splitlines()
        assert len(lines) == s.records and s.path.stat().st_size == s.bytes
        ids += [json.loads(line)["recordId"] for line in lines]
    return ids


def test_exactly_the_minimum_and_one_below(tmp_path: Path) -> None:
    shards = _recs(100).write(tmp_path / "a")
    assert [(s.job, s.records) for s in shards] == [(1, 100)]
    assert shards[0].path == tmp_path / "a" / "job-0001" / "part-00001.jsonl"
    with pytest.raises(InputError, match=r"99 records: a batch job needs at least 100 \(1 more\)"):
        _recs(99).write(tmp_path / "b")


def test_one_above_the_maximum_splits_in_two_balanced_jobs(tmp_path: Path) -> None:
    recs = _recs(50_001)
    shards = recs.write(tmp_path)
    assert [(s.job, s.records) for s in shards] == [(1, 25_000), (2, 25_001)]
    assert _read_back(shards) == recs.ids


def test_120001_records_make_three_balanced_jobs(tmp_path: Path) -> None:
    recs = _recs(120_001)
    shards = recs.write(tmp_path)
    per_job: dict[int, int] = {}
    for s in shards:
        per_job[s.job] = per_job.get(s.job, 0) + s.records
    assert per_job == {1: 40_000, 2: 40_000, 3: 40_001}
    assert min(per_job.values()) >= 100
    assert _read_back(shards) == recs.ids
    assert not list(tmp_path.rglob("*.tmp"))
    assert sum(s.input_tokens for s in shards) == recs.input_tokens


def test_byte_limits_bind_before_record_limits(tmp_path: Path) -> None:
    recs = _recs(1000, content="x" * 900)
    size = len(recs.to_jsonl())
    q = bb.Quotas(max_bytes_per_file=size // 7, max_bytes_per_job=size // 3)
    shards = recs.write(tmp_path, quotas=q)
    jobs = {s.job for s in shards}
    assert len(jobs) == 4  # 3 jobs would leave one over the job byte limit
    assert all(s.bytes <= q.max_bytes_per_file for s in shards)
    for j in jobs:
        assert sum(s.bytes for s in shards if s.job == j) <= q.max_bytes_per_job
    counts = [sum(s.records for s in shards if s.job == j) for j in sorted(jobs)]
    assert max(counts) - min(counts) <= 1
    assert _read_back(shards) == recs.ids


def test_a_record_larger_than_a_file_is_named(tmp_path: Path) -> None:
    rows = [
        {"id": f"r{i}", "title": "t", "content": "x" * (5000 if i == 42 else 10)}
        for i in range(200)
    ]
    recs = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU)
    with pytest.raises(
        InputError, match=r'record "r42" is \d+ bytes, above the 2000-byte file limit'
    ):
        recs.write(tmp_path, quotas=bb.Quotas(max_bytes_per_file=2000))


def test_existing_job_folders_need_overwrite(tmp_path: Path) -> None:
    _recs(300).write(tmp_path, quotas=bb.Quotas(max_records_per_job=100))
    assert len(list(tmp_path.glob("job-*"))) == 3
    with pytest.raises(InputError, match="overwrite=True"):
        _recs(100).write(tmp_path)
    assert len(list(tmp_path.glob("job-*"))) == 3, "a refused write removes nothing"
    # A folder left aside by a run killed while removing its old jobs goes too.
    left = tmp_path / ".removing-1-2-0" / "part-00001.jsonl"
    left.parent.mkdir()
    left.write_text("old")
    (tmp_path / "notes").mkdir()
    shards = _recs(100).write(tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-0001", "notes"]
    assert _read_back(shards) == _recs(100).ids


def test_quotas_reject_nonsense() -> None:
    with pytest.raises(InputError, match="min_records_per_job is above"):
        bb.Quotas(min_records_per_job=10, max_records_per_job=5)
    q = bb.Quotas(min_records_per_job=1000, max_bytes_per_file=200_000_000)
    assert q.min_records_per_job == 1000 and "200000000" in repr(q)


# --- estimates -----------------------------------------------------------------------------


def test_estimate_knows_cjk_and_prices() -> None:
    en = bb._core.estimate_tokens("The quick brown fox jumps over the lazy dog " * 10)
    ja = bb._core.estimate_tokens("日本語の文章はトークンが多くなります。" * 10)
    assert 80 <= en <= 110  # 350 letters / 4
    assert ja == 190  # one per character
    recs = bb.pack(
        [{"id": i, "title": "t", "content": "日本語" * 100} for i in range(10)],
        prompt=bb.Prompt(user=USER, max_tokens=500),
        model=HAIKU,
    )
    est = recs.estimate()
    assert est["records"] == 10 and est["output_tokens"] == 5000
    assert est["price_input_per_mtok"] == 1.0 and est["price_output_per_mtok"] == 5.0
    assert math.isclose(est["batch_cost"], est["on_demand_cost"] / 2)
    assert math.isclose(est["on_demand_cost"], est["input_tokens"] / 1e6 * 1.0 + 5000 / 1e6 * 5.0)
    own = recs.estimate(prices={"input": 0.8, "output": 4.0}, output_tokens=300)
    assert own["output_tokens"] == 3000 and own["price_source"] == "given"
    with pytest.raises(InputError, match='missing "output"'):
        recs.estimate(prices={"input": 1.0})


_FAMILIES = [
    (HAIKU, "auto", "claude"),
    (HAIKU, "converse", "claude"),
    ("amazon.nova-lite-v1:0", "auto", "nova"),
    ("amazon.titan-embed-text-v2:0", "auto", "titan-embed"),
    ("meta.llama3-3-70b-instruct-v1:0", "auto", "llama3"),
]


@pytest.mark.parametrize(("model", "invocation", "family"), _FAMILIES)
def test_cells_of_every_width_escape_like_json_dumps(
    model: str, invocation: str, family: str
) -> None:
    # Cells are escaped straight from CPython's storage (1, 2 or 4 bytes a character), in
    # blocks of 16-64; every JSON special (quotes, backslashes, each control character) sits in
    # every position of a block, in text of every width, and each line must be what json.dumps
    # (ensure_ascii=False) writes, with the token estimate of the text it holds.
    specials = '"\\' + "".join(chr(c) for c in range(0x20)) + "\u2028\x7f"
    bodies = [
        "plain ascii",
        "café ÿ",
        "日本語　テキスト",
        "emoji 😀 日本",
        "pair \ud83d\ude00 lone \ud800",
    ]
    rows = []
    for k, body in enumerate(bodies):
        for shift in range(0, 70, 7):
            text = (body * 9)[:shift] + specials + body * 3
            rows.append({"id": f"r{k}-{shift}", "title": f'"{body}"\t', "content": text})
    prompt = bb.Prompt(user="{title}\n{content}", max_tokens=64)
    recs = bb.pack(rows, prompt=prompt, model=model, invocation=invocation)  # type: ignore[arg-type]
    lines = recs.to_jsonl().splitlines()
    assert len(lines) == len(rows)
    tokens = 0
    for row, line in zip(rows, lines):
        rec = json.loads(line)
        want = _replace_surrogates(f"{row['title']}\n{row['content']}")
        got = text_of_message(family, recs.invocation, rec["modelInput"])
        assert want in got
        # Byte for byte as json.dumps escapes it.
        assert json.dumps(want, ensure_ascii=False).encode()[1:-1] in line
        tokens += bb._core.estimate_tokens(want)
    if family in ("claude", "nova", "titan-embed"):
        assert recs.input_tokens == tokens


def _replace_surrogates(s: str) -> str:
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def test_a_prompt_of_only_unicode_spaces_is_empty() -> None:
    # ASCII letters settle that a prompt is not empty; one of only non-ASCII characters is
    # checked as text: U+3000 and NBSP are spaces, a kana is not.
    model = "amazon.titan-embed-text-v2:0"
    prompt = bb.Prompt(user="{content}")
    ok = bb.pack([{"id": "a", "content": "\u3000テ\u00a0"}], prompt=prompt, model=model)
    assert json.loads(ok.to_jsonl())["modelInput"]["inputText"] == "\u3000テ\u00a0"
    for blank in ["\u3000\u00a0 \n", " \t"]:
        with pytest.raises(InputError, match=r'row 0 \(id "a"\): the user prompt is empty'):
            bb.pack([{"id": "a", "content": blank}], prompt=prompt, model=model)


def test_records_outlive_their_table(tmp_path: Path) -> None:
    # Lines are rendered when written, from the cells the records keep: dropping the table (or,
    # for pyarrow, the only Python strings of its cells) and reusing the freed memory must not
    # change a byte; exclude() shares what it keeps.
    def rows() -> list[dict[str, Any]]:
        return [
            {"id": f"r{i}", "title": f"題 {i}", "content": "日本語の本文 “quoted” " * 40 + str(i)}
            for i in range(300)
        ]

    for table in (rows(), pa.Table.from_pylist(rows())):
        recs = bb.pack(table, prompt=bb.Prompt(user=USER), model=HAIKU)
        want = [json.loads(x) for x in recs.to_jsonl().splitlines()]
        del table
        gc.collect()
        junk = [("x" * 999 + str(i)) * 3 for i in range(20_000)]
        assert [json.loads(x) for x in recs.to_jsonl().splitlines()] == want
        rest = recs.exclude(["r0", "r7"])
        del recs
        gc.collect()
        out = tmp_path / str(len(junk) + len(want))
        shards = rest.write(out, overwrite=True)
        lines = b"".join(s.path.read_bytes() for s in shards).splitlines()
        assert [json.loads(x) for x in lines] == [
            w for w in want if w["recordId"] not in ("r0", "r7")
        ]
        assert sum(s.bytes for s in shards) == sum(len(x) + 1 for x in lines)
        del junk


def test_written_files_are_the_jsonl_in_blocks(tmp_path: Path) -> None:
    # Files are rendered in parts of ~256 KB, eight at a time, and written in order: a file of
    # many parts must be to_jsonl() byte for byte.
    rows = [{"id": i, "title": "t", "content": f"本文 {i} " * 400} for i in range(3000)]
    recs = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU)
    shards = recs.write(tmp_path)
    assert b"".join(s.path.read_bytes() for s in shards) == recs.to_jsonl()
    assert len(recs.to_jsonl()) > 8 * 256 * 1024 * 2
    # Sizes and tokens counted while writing (nothing measured before) are those measured
    # first; written either way, and planned by real sizes when limits bind, the files agree.
    measured = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU)
    tokens = measured.input_tokens
    again = measured.write(tmp_path / "again")
    assert [(s.bytes, s.input_tokens) for s in again] == [(s.bytes, s.input_tokens) for s in shards]
    assert recs.input_tokens == tokens == sum(s.input_tokens for s in shards)
    small = bb.Quotas(min_records_per_job=100, max_bytes_per_file=4_000_000)
    split = bb.pack(rows, prompt=bb.Prompt(user=USER), model=HAIKU).write(
        tmp_path / "split", quotas=small
    )
    assert len(split) > 1 and all(s.bytes <= 4_000_000 for s in split)
    assert b"".join(s.path.read_bytes() for s in split) == recs.to_jsonl()
    assert sum(s.input_tokens for s in split) == tokens


# --- bad input -----------------------------------------------------------------------------


def test_keys_whose_eq_runs_during_lookup() -> None:
    """A non-str key with the hash of a field name makes each lookup call its ``__eq__``
    (the rows ahead are looked up early, for prefetching); whatever it does, every row reads
    right and the key's error, if any, is raised."""
    calls = []

    class Collides:
        def __hash__(self) -> int:
            return hash("title")

        def __eq__(self, other: object) -> bool:
            calls.append(other)
            return False

    rows = [{Collides(): 0, "title": f"t{i}", "content": f"c{i}", "id": f"r{i}"} for i in range(40)]
    before = len(calls)  # building the dicts compared the keys already
    recs = bb.pack(rows, prompt=bb.Prompt(user="{title} {content}"), model=HAIKU)
    lines = [json.loads(x) for x in recs.to_jsonl().splitlines()]
    got = [(x["recordId"], x["modelInput"]["messages"][0]["content"]) for x in lines]
    assert sorted(got) == sorted((f"r{i}", f"t{i} c{i}") for i in range(40))
    assert len(calls) > before

    class Raises(Collides):
        """Fails from its second comparison on: after the Python-side column probe, in the
        lookups of the Rust pass (the early one's error is cleared, the read's raised)."""

        seen = -1  # building the dict compares once
        __hash__ = Collides.__hash__

        def __eq__(self, other: object) -> bool:
            Raises.seen += 1
            if Raises.seen > 1:
                raise RuntimeError("eq failed")
            return False

    with pytest.raises(RuntimeError, match="eq failed"):
        bb.pack(
            [{Raises(): 0, "title": "t", "content": "c", "id": "r"}],
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
        )
    # The key's error reached the caller from the read's lookup, whatever the early ones did.
    assert Raises.seen >= 2


def test_missing_column_is_named_before_any_row() -> None:
    with pytest.raises(
        InputError,
        match=r"the prompt uses column 'content', which the table does not have \(columns: id, title\)",
    ):
        bb.pack([{"id": 1, "title": "t"}], prompt=bb.Prompt(user=USER), model=HAIKU)
    with pytest.raises(InputError, match="clean= names column 'body'"):
        bb.pack(
            [{"id": 1, "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
            clean={"body": "html"},
        )
    with pytest.raises(InputError, match="id_column 'key' is not a column"):
        bb.pack(
            [{"title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
            id_column="key",
        )


def test_an_empty_prompt_is_named() -> None:
    rows = [
        {"id": "a", "content": "<p>x</p>"},
        {"id": "b", "content": "<script>only code</script>"},
    ]
    with pytest.raises(
        InputError,
        match=r'row 1 \(id "b"\): the user prompt is empty once filled \(columns content\)',
    ):
        bb.pack(
            rows,
            prompt=bb.Prompt(user="{content}"),
            model="amazon.titan-embed-text-v2:0",
            clean={"content": "html"},
        )


def test_missing_values_in_template_columns() -> None:
    df = pd.DataFrame(
        {"id": ["a", "b", "c"], "title": ["x", None, "z"], "content": ["1", "2", float("nan")]}
    )
    with pytest.raises(InputError, match=r'row 1 \(id "b"\): column "title" is missing'):
        bb.pack(df, prompt=bb.Prompt(user=USER), model=HAIKU)
    recs = bb.pack(df, prompt=bb.Prompt(user=USER), model=HAIKU, missing="empty")
    texts = [r["modelInput"]["messages"][0]["content"] for r in recs.head(3)]
    assert texts[1] == "タイトル: \n\n記事:\n2" and texts[2] == "タイトル: z\n\n記事:\n"


def test_ids_must_be_text_or_int_unique_and_safe() -> None:
    base = {"title": "t", "content": "c"}
    with pytest.raises(InputTypeError, match=r"row 1: ids must be str or int, got float"):
        bb.pack(
            [{"id": "a", **base}, {"id": 1.5, **base}], prompt=bb.Prompt(user=USER), model=HAIKU
        )
    with pytest.raises(InputError, match=r'2 duplicate id\(s\): "a", "b"'):
        bb.pack(
            [{"id": i, **base} for i in ["a", "b", "a", "b", "c"]],
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
        )
    with pytest.raises(InputError, match=r"row 0: id .* has '#'"):
        bb.pack(
            [{"id": "wordpress/x.xml#post-1", **base}], prompt=bb.Prompt(user=USER), model=HAIKU
        )
    with pytest.raises(InputError, match='row 0: id "" is empty'):
        bb.pack([{"id": "", **base}], prompt=bb.Prompt(user=USER), model=HAIKU)
    with pytest.raises(InputError, match="row 0: the id is missing"):
        bb.pack([{"id": None, **base}], prompt=bb.Prompt(user=USER), model=HAIKU)


def test_empty_table_unknown_model_and_bad_settings() -> None:
    with pytest.raises(InputError, match="no rows"):
        bb.pack(
            pd.DataFrame({"id": [], "title": [], "content": []}),
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
        )
    with pytest.raises(
        InputError, match="known families: claude, nova, titan-embed, llama3, llama4"
    ):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER),
            model="cohere.command-r-v1:0",
        )
    ok = bb.pack(
        [{"id": "a", "title": "t", "content": "c"}],
        prompt=bb.Prompt(user=USER),
        model="cohere.command-r-v1:0",
        family="claude",
    )
    assert ok.family == "claude"
    with pytest.raises(
        InputError, match=r"above anthropic\.claude-3-haiku-20240307-v1:0's limit of 4096"
    ):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER, max_tokens=5000),
            model="anthropic.claude-3-haiku-20240307-v1:0",
        )
    with pytest.raises(InputError, match="temperature or top_p, not both"):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER, temperature=0.5, top_p=0.9),
            model=HAIKU,
        )
    with pytest.raises(
        InputError, match="prefill must be non-empty and must not end with whitespace"
    ):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER, prefill="{ "),
            model=HAIKU,
        )
    with pytest.raises(InputError, match="embedding model takes only the user template"):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER, system="s"),
            model="amazon.titan-embed-text-v2:0",
        )
    with pytest.raises(InputError, match='extra key "max_tokens" is written by the Prompt'):
        bb.pack(
            [{"id": "a", "title": "t", "content": "c"}],
            prompt=bb.Prompt(user=USER),
            model=HAIKU,
            extra={"max_tokens": 5},
        )
    with pytest.raises(InputTypeError, match="row 1: expected a mapping"):
        bb.pack([{"title": "t", "content": "c"}, ["x"]], prompt=bb.Prompt(user=USER), model=HAIKU)
    with pytest.raises(InputTypeError, match="table must be"):
        bb.pack("not a table", prompt=bb.Prompt(user=USER), model=HAIKU)


def test_templates_fail_at_construction() -> None:
    with pytest.raises(InputError, match="user template: '\\{' at character 4 is never closed"):
        bb.Prompt(user="abc {title")
    with pytest.raises(
        InputError, match="system template: '}' at character 0 has no opening brace"
    ):
        bb.Prompt(user=USER, system="} x")
    p = bb.Prompt(system="{lang}", user="{{literal}} {title} {content} {title}")
    assert p.fields == ["title", "content", "lang"]
    rec = bb.pack(
        [{"title": "T", "content": "C", "lang": "ja"}], prompt=p, model=HAIKU, id_column=None
    ).head(1)[0]
    assert rec["modelInput"]["system"] == "ja"
    assert rec["modelInput"]["messages"][0]["content"] == "{literal} T C T"


def test_model_ids_profiles_and_arns() -> None:
    for m in [
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/apac.anthropic.claude-haiku-4-5-20251001-v1:0",
    ]:
        info = bb.model_info(m)
        assert (
            info["family"] == "claude"
            and info["base_model"] == "anthropic.claude-haiku-4-5-20251001-v1:0"
        )
        assert info["max_output_tokens"] == 64000 and info["context_tokens"] == 200000


# --- Arrow tables in ---------------------------------------------------------------------------


def test_arrow_tables_of_every_kind_pack_the_same_records(articles: list[dict[str, Any]]) -> None:
    pl = pytest.importorskip("polars")
    rows = [
        {"id": f"a{i}", "title": a.get("title") or "t", "content": a["content"][:3000]}
        for i, a in enumerate(articles)
    ]
    rows[3]["title"] = None  # a null, written empty with missing="empty"
    kw: dict[str, Any] = {
        "prompt": bb.Prompt(user=USER),
        "model": HAIKU,
        "clean": {"content": "auto"},
        "missing": "empty",
    }
    want = bb.pack(rows, **kw).to_jsonl()
    table = pa.Table.from_pylist(rows)
    assert bb.pack(table, **kw).to_jsonl() == want
    assert bb.pack(table.to_batches(max_chunksize=100)[0], **kw).ids == [
        r["id"] for r in rows[:100]
    ]
    # Chunks that end mid-table, and every string type.
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=77))
    assert bb.pack(chunked, **kw).to_jsonl() == want
    for typ in (pa.large_string(), pa.string_view()):
        cast = table.cast(pa.schema([(n, typ) for n in table.schema.names]))
        assert bb.pack(cast, **kw).to_jsonl() == want
    assert bb.pack(pl.from_arrow(table), **kw).to_jsonl() == want
    str_df = pd.DataFrame(rows).astype({"title": "str", "content": "str", "id": "str"})
    assert bb.pack(str_df, **kw).to_jsonl() == want
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=50))
    assert bb.pack(reader, **kw).to_jsonl() == want
    # Integer ids from Arrow, as from a list.
    ints = pa.table({"id": [7, 8], "title": ["A", "B"], "content": ["x", "y"]})
    assert bb.pack(ints, prompt=bb.Prompt(user=USER), model=HAIKU).ids == ["7", "8"]


def test_arrow_records_outlive_their_table() -> None:
    table = pa.table({"id": ["a", "b"], "title": ["T", "U"], "content": ["本文 one", "two"]})
    recs = bb.pack(table, prompt=bb.Prompt(user=USER), model=HAIKU)
    want = recs.to_jsonl()
    del table
    gc.collect()
    assert recs.to_jsonl() == want and "本文 one" in want.decode()


def test_arrow_tables_with_bad_columns_are_named() -> None:
    with pytest.raises(InputError, match=r"column 'content'.*columns: id, title"):
        bb.pack(pa.table({"id": ["a"], "title": ["t"]}), prompt=bb.Prompt(user=USER), model=HAIKU)
    nums = pa.table({"id": ["a"], "title": ["t"], "content": [1.5]})
    with pytest.raises(InputTypeError, match=r'column "content" is Arrow Float64, not text'):
        bb.pack(nums, prompt=bb.Prompt(user=USER), model=HAIKU)
    raw = pa.table({"id": ["a", "b"], "title": ["t", "t"], "content": pa.array([b"ok", b"\xff"])})
    with pytest.raises(InputError, match=r'row 1: column "content" holds bytes that are not UTF-8'):
        bb.pack(raw, prompt=bb.Prompt(user=USER), model=HAIKU)
    floats = pa.table({"id": [1.5], "title": ["t"], "content": ["c"]})
    with pytest.raises(InputTypeError, match=r'id column "id" is Arrow Float64'):
        bb.pack(floats, prompt=bb.Prompt(user=USER), model=HAIKU)


def test_prompts_and_quotas_pickle_for_workers() -> None:
    import pickle

    p = bb.Prompt(
        user="{a}",
        system="s {b}",
        max_tokens=77,
        temperature=0.3,
        stop_sequences=["x"],
        prefill="{",
    )
    q = bb.Quotas(min_records_per_job=10, max_records_per_job=300, max_concurrent_jobs=3)
    p2, q2 = pickle.loads(pickle.dumps((p, q)))
    assert (p2.user, p2.system, p2.max_tokens, p2.temperature, p2.stop_sequences, p2.prefill) == (
        "{a}",
        "s {b}",
        77,
        0.3,
        ["x"],
        "{",
    )
    assert repr(q2) == repr(q)
