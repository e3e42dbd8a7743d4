"""The validate stage: a file seeded with every kind of problem, clean input, folders, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import InputError, NotFoundError, ValidationError

USER = "タイトル: {title}\n\n記事:\n{content}"

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def claude(rid: str | None, text: str = "Summarise this.", **over: Any) -> dict[str, Any]:
    mi: dict[str, Any] = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": text}],
    }
    mi.update(over)
    rec: dict[str, Any] = {"modelInput": mi}
    if rid is not None:
        rec["recordId"] = rid
    return rec


def good_lines(n: int, start: int = 0) -> list[str]:
    return [json.dumps(claude(f"R{i:010d}"), ensure_ascii=False) for i in range(start, start + n)]


def test_a_clean_file_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(good_lines(150)) + "\n", encoding="utf-8")
    report = bb.validate(path, model=HAIKU)
    assert report.ok and report.records == 150 and report.files == 1 and report.jobs == 1
    assert report.problems == [] and report.problem_count == 0
    assert report.input_tokens > 0
    report.raise_for_errors()
    assert str(report).startswith("ok: 150 records")


def test_every_kind_of_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    lines = good_lines(120)
    seeded = {
        3: '{"recordId": "R-bad-json", "modelInput": {',  # truncated JSON
        7: json.dumps({"recordId": "R-no-input"}),
        11: json.dumps(claude("R0000000001")),  # duplicate of line 2
        15: json.dumps(claude("R-types", max_tokens="512")),
        19: json.dumps(claude("R-role", messages=[{"role": "bot", "content": "x"}])),
        23: json.dumps(claude("R-empty-msgs", messages=[])),
        27: json.dumps(claude("R-big", "word " * 400_000)),  # over the context window
        31: json.dumps(claude("R-version", anthropic_version="2023-06-01")),
        35: json.dumps(claude("R-max", max_tokens=100_000)),
        39: "[1, 2, 3]",
        43: json.dumps({"recordId": 12, "modelInput": claude(None)["modelInput"]}),
        47: json.dumps(
            claude(
                "R-prefill",
                messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "{ "}],
            )
        ),
        51: json.dumps(claude("R-sampling", temperature=0.5, top_p=0.9)),
    }
    for line_no, text in seeded.items():
        lines[line_no - 1] = text
    path = tmp_path / "seeded.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf8\n")
    report = bb.validate(path, model=HAIKU)
    assert not report.ok
    found = {(p.line, p.field) for p in report.problems}
    expected = {
        (3, "line"),
        (7, "modelInput"),
        (11, "recordId"),
        (15, "modelInput.max_tokens"),
        (19, "modelInput.messages[0].role"),
        (23, "modelInput.messages"),
        (27, "modelInput"),
        (31, "modelInput.anthropic_version"),
        (35, "modelInput.max_tokens"),
        (39, "line"),
        (43, "recordId"),
        (47, "modelInput.messages[1].content"),
        (51, "modelInput.top_p"),
        (121, "line"),
    }
    assert expected <= found, expected - found
    by_line = {p.line: p for p in report.problems}
    assert "not valid JSON" in by_line[3].message
    assert by_line[11].record_id == "R0000000001" and "duplicate" in by_line[11].message
    assert "context window" in by_line[27].message
    assert "above the model's limit of 64000" in by_line[35].message
    assert "not a JSON object" in by_line[39].message
    assert "not UTF-8" in by_line[121].message
    assert all(p.file == str(path) for p in report.problems)
    with pytest.raises(ValidationError, match=r"error\(s\) in .* records") as e:
        report.raise_for_errors()
    assert isinstance(e.value, InputError) and e.value.report is report
    df = report.to_pandas()
    assert list(df.columns) == ["file", "line", "record_id", "field", "message", "severity", "kind"]
    assert len(df) == len(report.problems)


def test_too_few_records_and_file_limits(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(good_lines(40)) + "\n", encoding="utf-8")
    report = bb.validate(small)
    assert not report.ok
    (job,) = [p for p in report.problems if p.field == "job"]
    assert "40 records: a batch job needs at least 100 (60 more)" in job.message
    report = bb.validate(
        small,
        quotas=bb.Quotas(min_records_per_job=10, max_records_per_file=30, max_bytes_per_file=1000),
    )
    msgs = [p.message for p in report.problems if p.field == "file"]
    assert any("40 records, above the 30 per file" in m for m in msgs)
    assert any("above the 1000 per file" in m for m in msgs)


def test_folders_are_jobs_and_wrong_files_are_named(tmp_path: Path) -> None:
    for j in (1, 2):
        d = tmp_path / f"job-000{j}"
        d.mkdir()
        (d / "part-00001.jsonl").write_text(
            "\n".join(good_lines(100, start=j * 1000)) + "\n", encoding="utf-8"
        )
    (tmp_path / "job-0002" / "notes.txt").write_text("x", encoding="utf-8")
    report = bb.validate(tmp_path, model=HAIKU)
    assert report.jobs == 2 and report.records == 200 and report.files == 3
    (bad,) = report.problems
    assert bad.file.endswith("notes.txt") and ".jsonl" in bad.message
    (tmp_path / "job-0002" / "notes.txt").unlink()
    assert bb.validate(tmp_path, model=HAIKU).ok


def test_validates_what_pack_writes(tmp_path: Path, articles: list[dict[str, Any]]) -> None:
    rows = [{"title": a["title"], "content": a["content"]} for a in articles]
    for model, inv in [
        (HAIKU, "auto"),
        (HAIKU, "converse"),
        ("amazon.nova-lite-v1:0", "auto"),
        ("meta.llama3-3-70b-instruct-v1:0", "auto"),
    ]:
        recs = bb.pack(
            rows,
            prompt=bb.Prompt(user=USER, max_tokens=1000),
            model=model,
            id_column=None,
            invocation=inv,
            clean={"content": {"max_chars": 20000}},
        )  # type: ignore[arg-type]
        out = tmp_path / model.replace(":", "_") / inv
        recs.write(out, quotas=bb.Quotas(max_records_per_job=300))
        report = bb.validate(out, model=model, invocation=inv)
        assert report.ok, [str(p) for p in report.problems[:5]]
        assert report.records == 671 and report.jobs == 3
        assert abs(report.input_tokens - recs.input_tokens) <= 0.2 * recs.input_tokens
    texts = [t for t in bb.clean([r["content"] for r in rows], max_chars=8000) if t]
    emb = bb.pack(
        [{"content": t} for t in texts],
        prompt=bb.Prompt(user="{content}"),
        model="amazon.titan-embed-text-v2:0",
        id_column=None,
    )
    assert bb.validate(emb.to_jsonl(), model="amazon.titan-embed-text-v2:0").ok


def test_family_is_read_from_each_line_without_a_model() -> None:
    nova = {
        "recordId": "n1",
        "modelInput": {
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"maxTokens": 10},
        },
    }
    titan = {"recordId": "t1", "modelInput": {"inputText": "hi", "dimensions": 300}}
    llama = {"recordId": "l1", "modelInput": {"prompt": 5, "max_gen_len": 10}}
    unknown = {"recordId": "u1", "modelInput": {"text": "hi"}}
    data = "\n".join(json.dumps(x) for x in [nova, titan, llama, unknown]).encode()
    report = bb.validate(data, quotas=bb.Quotas(min_records_per_job=1))
    fields = {(p.record_id, p.field) for p in report.problems}
    assert ("t1", "modelInput.dimensions") in fields
    assert ("l1", "modelInput.prompt") in fields
    assert ("u1", "modelInput") in fields
    assert not any(p.record_id == "n1" for p in report.problems)


def test_problems_are_capped_and_counted() -> None:
    data = ("not json\n" * 5000).encode()
    report = bb.validate(data, max_problems=50)
    assert len(report.problems) == 50 and report.truncated
    assert ("error", "line", "json", 5000) in report.counts
    assert report.problem_count == 5002  # plus: the file has no records, the job too few
    assert report.records == 0


def test_records_without_ids_are_fine_and_empty_lines_warn() -> None:
    lines = [json.dumps(claude(None)) for _ in range(100)]
    data = ("\n".join(lines[:50]) + "\n\n" + "\n".join(lines[50:]) + "\n").encode()
    report = bb.validate(data)
    assert report.ok and report.records == 100
    (warn,) = report.problems
    assert warn.severity == "warning" and warn.line == 51


def test_bad_sources() -> None:
    with pytest.raises(NotFoundError):
        bb.validate("/nonexistent/input.jsonl")
    with pytest.raises(bb.InputTypeError, match="source must be a path"):
        bb._core.validate_input(12)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown model"):
        bb.validate(b"", model="nope.nothing")


def test_long_lines_across_blocks(tmp_path: Path) -> None:
    # Lines longer than the 4 MiB read block, and a last line without a newline.
    big = json.dumps(claude("big", "日本語 " * 1_500_000), ensure_ascii=False)
    lines = [*good_lines(99), big]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = bb.validate(path)
    assert report.ok and report.records == 100
    assert report.bytes == path.stat().st_size


def test_null_members_read_as_absent_and_deep_nesting_is_read() -> None:
    null_id = {**claude(None), "recordId": None}
    null_input = {"recordId": "R2", "modelInput": None}
    deep = claude("R3", extra=json.loads("[" * 300 + "]" * 300))
    lines = [null_id, null_input, deep] + [claude(f"R{i}") for i in range(10, 110)]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    report = bb.validate(data)
    by_line = {p.line: p for p in report.problems}
    assert 1 not in by_line  # a null recordId is an absent one, which Bedrock allows
    assert (by_line[2].field, by_line[2].kind) == ("modelInput", "missing")
    # 300 levels: deeper than serde_json reads, still checked (the unknown key is not an error)
    assert 3 not in by_line
    assert report.records == 103
