"""The collect stage: every family's output, errors, folders and manifests, joins, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import InputError, NotFoundError

USER = "タイトル: {title}\n\n記事:\n{content}"

# The AWS documentation's output example (batch-inference-results): its modelOutput uses
# Python-style single quotes, so the first line is not JSON.
AWS_DOC_EXAMPLE = (
    '{ "recordId" : "3223593EFGH", "modelInput" : {"inputText": "Roses are red, violets are"}, '
    "\"modelOutput\" : {'inputTextTokenCount': 8, 'results': [{'tokenCount': 3, 'outputText': 'blue\\n', "
    "'completionReason': 'FINISH'}]}}\n"
    '{ "recordId" : "1223213ABCD", "modelInput" : {"inputText": "Hello world"}, '
    '"error" : {"errorCode" : 400, "errorMessage" : "bad request" }}\n'
)

SUMMARY = {
    "title_en": "Azure backups",
    "summary_ja": "バックアップが失敗した原因と対処。",
    "summary_en": "Why backups fail.",
}


def claude_line(rid: str, text: str, **extra: Any) -> dict[str, Any]:
    out = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 120, "output_tokens": 45},
    }
    out.update(extra)
    return {
        "recordId": rid,
        "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []},
        "modelOutput": out,
    }


def dump(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()


def test_the_aws_documentation_example() -> None:
    res = bb.read_results(AWS_DOC_EXAMPLE.encode())
    rows = {r["recordId"]: r for r in res.to_pandas().to_dict("records")}
    assert set(rows) == {"3223593EFGH", "1223213ABCD"}
    bad = rows["3223593EFGH"]
    assert bad["status"] == "failed" and bad["error_code"] == "unreadable_line"
    assert "<bytes>:1" in bad["error_message"] and "not JSON" in bad["error_message"]
    err = rows["1223213ABCD"]
    assert (
        err["status"] == "failed"
        and err["error_code"] == "400"
        and err["error_message"] == "bad request"
    )
    assert err["line"] == 2


def test_claude_json_answer_becomes_columns() -> None:
    data = dump([claude_line("R1", json.dumps(SUMMARY, ensure_ascii=False))])
    res = bb.read_results(data, schema=["title_en", "summary_ja", "summary_en"])
    df = res.to_pandas()
    assert list(df.columns[:6]) == [
        "recordId",
        "status",
        "text",
        "title_en",
        "summary_ja",
        "summary_en",
    ]
    row = df.iloc[0]
    assert row["status"] == "succeeded" and row["summary_ja"] == SUMMARY["summary_ja"]
    assert (
        row["input_tokens"] == 120
        and row["output_tokens"] == 45
        and row["stop_reason"] == "end_turn"
    )


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps(SUMMARY, ensure_ascii=False) + "\n```",
        "Here is the summary:\n" + json.dumps(SUMMARY, ensure_ascii=False) + "\nLet me know!",
        json.dumps(SUMMARY, ensure_ascii=False)[1:],  # the prefill "{" was the assistant's start
    ],
)
def test_json_in_fences_prose_and_after_a_prefill(text: str) -> None:
    res = bb.read_results(
        dump([claude_line("R1", text)]),
        schema={"title_en": str, "summary_ja": "str", "summary_en": str},
        prefill="{",
    )
    row = res.to_pandas().iloc[0]
    assert row["status"] == "succeeded", row["error_message"]
    assert row["title_en"] == "Azure backups"


def test_invalid_output_says_why() -> None:
    lines = [
        claude_line("a", "Sorry, I cannot help with that."),
        claude_line("b", json.dumps({"title_en": "x"})),
        claude_line("c", '{"title_en": "cut', stop_reason="max_tokens"),
        claude_line("d", json.dumps({"title_en": 5, "summary_ja": "s", "summary_en": "e"})),
    ]
    res = bb.read_results(
        dump(lines), schema={"title_en": str, "summary_ja": str, "summary_en": str}
    )
    rows = {r["recordId"]: r for r in res.to_pandas().to_dict("records")}
    assert all(r["status"] == "invalid_output" for r in rows.values())
    assert "no JSON" in rows["a"]["error_message"]
    assert 'missing key "summary_ja"' in rows["b"]["error_message"]
    assert "cut off" in rows["c"]["error_message"] and rows["c"]["stop_reason"] == "max_tokens"
    assert 'key "title_en" is a number but should be str' in rows["d"]["error_message"]
    assert sorted(res.retry_ids()) == ["a", "b", "c", "d"]


def test_every_family_output_shape() -> None:
    lines = [
        claude_line("claude", "hello"),
        {
            "recordId": "tool",
            "modelOutput": {
                "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"k": 1}}],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 3, "output_tokens": 4},
            },
        },
        {
            "recordId": "nova",
            "modelOutput": {
                "output": {
                    "message": {
                        "role": "assistant",
                        "content": [{"text": "nova "}, {"text": "text"}],
                    }
                },
                "stopReason": "end_turn",
                "usage": {"inputTokens": 12, "outputTokens": 40, "totalTokens": 52},
            },
        },
        {
            "recordId": "llama",
            "modelOutput": {
                "generation": "Paris.",
                "prompt_token_count": 17,
                "generation_token_count": 3,
                "stop_reason": "stop",
            },
        },
        {
            "recordId": "titan",
            "modelOutput": {
                "embedding": [0.1, -0.2, 0.3],
                "inputTextTokenCount": 5,
                "embeddingsByType": {"float": [0.1, -0.2, 0.3]},
            },
        },
        {
            "recordId": "titantext",
            "modelOutput": {
                "inputTextTokenCount": 8,
                "results": [
                    {"tokenCount": 3, "outputText": "blue\n", "completionReason": "FINISH"}
                ],
            },
        },
    ]
    df = bb.read_results(dump(lines)).to_pandas().set_index("recordId")
    assert df.loc["claude", "text"] == "hello"
    assert (
        json.loads(df.loc["tool", "text"]) == {"k": 1}
        and df.loc["tool", "stop_reason"] == "tool_use"
    )
    assert (
        df.loc["nova", "text"] == "nova text"
        and df.loc["nova", "input_tokens"] == 12
        and df.loc["nova", "output_tokens"] == 40
    )
    assert (
        df.loc["llama", "text"] == "Paris."
        and df.loc["llama", "output_tokens"] == 3
        and df.loc["llama", "stop_reason"] == "stop"
    )
    assert df.loc["titan", "embedding"] == [0.1, -0.2, 0.3] and df.loc["titan", "input_tokens"] == 5
    assert (
        df.loc["titantext", "text"] == "blue\n" and df.loc["titantext", "stop_reason"] == "FINISH"
    )
    assert (df["status"] == "succeeded").all()


def test_error_lines_and_errors_inside_model_output() -> None:
    lines = [
        {
            "recordId": "e1",
            "modelInput": {},
            "error": {"errorCode": 400, "errorMessage": "Malformed input request"},
        },
        {
            "recordId": "e2",
            "modelOutput": {"error": {"errorCode": "ThrottlingException", "message": "slow down"}},
        },
        {"recordId": "e3", "modelInput": {}},
        {"recordId": "e4", "modelOutput": "just a string"},
        {"recordId": "e5", "modelOutput": {"unexpected": True}},
    ]
    rows = {r["recordId"]: r for r in bb.read_results(dump(lines)).to_pandas().to_dict("records")}
    assert rows["e1"]["status"] == "failed" and rows["e1"]["error_code"] == "400"
    assert rows["e2"]["status"] == "failed" and rows["e2"]["error_message"] == "slow down"
    assert (
        rows["e3"]["status"] == "failed"
        and "neither modelOutput nor error" in rows["e3"]["error_message"]
    )
    assert (
        rows["e4"]["status"] == "invalid_output"
        and "not a JSON object" in rows["e4"]["error_message"]
    )
    assert (
        rows["e5"]["status"] == "invalid_output"
        and "unknown modelOutput shape (keys: unexpected)" in rows["e5"]["error_message"]
    )


def _job_folder(
    root: Path, job_id: str, ids: list[str], per_file: int, fail_every: int = 10
) -> None:
    d = root / job_id
    d.mkdir(parents=True)
    lines = []
    for k, rid in enumerate(ids):
        if k % fail_every == 3:
            lines.append(
                {
                    "recordId": rid,
                    "modelInput": {},
                    "error": {"errorCode": 400, "errorMessage": "bad"},
                }
            )
        else:
            lines.append(
                claude_line(
                    rid, json.dumps({"title_en": rid, "summary_ja": "ja", "summary_en": "en"})
                )
            )
    random.Random(7).shuffle(lines)
    for f in range(0, len(lines), per_file):
        (d / f"part-{f // per_file + 1:05d}.jsonl.out").write_bytes(dump(lines[f : f + per_file]))
    ok = sum(1 for x in lines if "modelOutput" in x)
    manifest = {
        "totalRecordCount": len(lines),
        "processedRecordCount": len(lines),
        "successRecordCount": ok,
        "errorRecordCount": len(lines) - ok,
        "inputTokenCount": 120 * ok,
        "outputTokenCount": 45 * ok,
        "newField": "kept",
    }
    (d / "manifest.json.out").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_job_folder_with_several_files_a_manifest_and_shuffled_order(tmp_path: Path) -> None:
    inputs = [f"R{i:010d}" for i in range(1, 251)]
    _job_folder(tmp_path / "out", "abc123def456", inputs[:240], per_file=100)
    res = bb.read_results(
        tmp_path / "out", inputs=inputs, schema=["title_en", "summary_ja", "summary_en"]
    )
    df = res.to_pandas()
    assert list(df["recordId"]) == inputs  # input order, each id exactly once
    s = res.summary()
    assert s == {
        "records": 250,
        "succeeded": 216,
        "failed": 24,
        "invalid_output": 0,
        "missing": 10,
        "input_tokens": 216 * 120,
        "output_tokens": 216 * 45,
        "problems": 0,
    }
    assert set(res.retry_ids()) == set(df.loc[df["status"] != "succeeded", "recordId"])
    assert res.manifest is not None and res.manifest["newField"] == "kept"
    assert (
        df.loc[df["status"] == "succeeded", "title_en"]
        == df.loc[df["status"] == "succeeded", "recordId"]
    ).all()
    assert isinstance(res.to_arrow(), pa.Table)


def test_several_jobs_and_inputs_from_records_and_files(tmp_path: Path) -> None:
    recs = bb.pack(
        [{"title": "t", "content": f"c{i}"} for i in range(300)],
        prompt=bb.Prompt(user=USER),
        model="anthropic.claude-3-5-haiku-20241022-v1:0",
        id_column=None,
    )
    recs.write(tmp_path / "in", quotas=bb.Quotas(max_records_per_job=150))
    _job_folder(tmp_path / "out", "job000000001", recs.ids[:150], per_file=150)
    _job_folder(tmp_path / "out", "job000000002", recs.ids[150:290], per_file=70)
    by_records = bb.read_results(tmp_path / "out", inputs=recs)
    by_files = bb.read_results(tmp_path / "out", inputs=tmp_path / "in")
    assert by_records.columns()["recordId"] == by_files.columns()["recordId"] == recs.ids
    assert by_records.summary()["missing"] == 10
    assert by_records.manifest is not None and by_records.manifest["totalRecordCount"] == 290
    rest = recs.exclude([r for r in recs.ids if r not in by_records.retry_ids()])
    assert rest.ids == by_records.retry_ids()


def test_join_keeps_every_input_row(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "title": ["a", "b", "c"]})
    data = dump([claude_line("2", "two"), claude_line("1", "one")])
    joined = bb.read_results(data).join(df, on="id")
    assert list(joined["id"]) == [1, 2, 3] and list(joined["title"]) == ["a", "b", "c"]
    assert list(joined["status"]) == ["succeeded", "succeeded", "missing"]
    assert list(joined["text"])[:2] == ["one", "two"]


# --- bad input -----------------------------------------------------------------------------


def test_truncated_last_line_and_garbage(tmp_path: Path) -> None:
    good = dump([claude_line("a", "x"), claude_line("b", "y")])
    partial = json.dumps(claude_line("c", "z"))[:60].encode()
    data = good + b"this is not json\n" + b"\n" + partial
    res = bb.read_results(data, inputs=["a", "b", "c", "d"])
    rows = {r["recordId"]: r for r in res.to_pandas().to_dict("records")}
    assert (
        rows["c"]["status"] == "failed"
        and "cut off" in rows["c"]["error_message"]
        and ":5" in rows["c"]["error_message"]
    )
    assert rows["d"]["status"] == "missing"
    (garbage,) = [p for p in res.problems if p[1] == 3]
    assert "not JSON" in garbage[3] and garbage[2] is None


def test_invalid_utf8_wrong_types_and_duplicates() -> None:
    data = (
        dump([claude_line("a", "x")])
        + b'{"recordId": "u", "modelOutput": {"generation": "caf\xe9"}}\n'
        + dump(
            [
                {"recordId": 5, "modelOutput": {}},
                claude_line("a", "again"),
                {"recordId": "z", "modelOutput": {"generation": "ok"}},
            ]
        )
    )
    res = bb.read_results(data)
    rows = {r["recordId"]: r for r in res.to_pandas().to_dict("records")}
    assert rows["u"]["status"] == "failed" and "UTF-8" in rows["u"]["error_message"]
    assert rows["a"]["text"] == "x"  # the first succeeded line is kept
    msgs = [p[3] for p in res.problems]
    assert any('recordId "a" appears again' in m for m in msgs)
    assert any(
        "not JSON" in m and p[1] == 3 for p, m in zip(res.problems, msgs)
    )  # recordId 5 is a number
    assert rows["z"]["status"] == "succeeded"


def test_ids_never_input_are_reported() -> None:
    res = bb.read_results(dump([claude_line("a", "x"), claude_line("stranger", "y")]), inputs=["a"])
    assert res.columns()["recordId"] == ["a"]
    assert any("stranger" in p[3] and "never input" in p[3] for p in res.problems)


def test_empty_file_missing_manifest_and_manifest_mismatch(tmp_path: Path) -> None:
    d = tmp_path / "out" / "job1"
    d.mkdir(parents=True)
    (d / "empty.jsonl.out").write_bytes(b"")
    (d / "part.jsonl.out").write_bytes(dump([claude_line("a", "x")]))
    res = bb.read_results(tmp_path / "out")
    msgs = [p[3] for p in res.problems]
    assert any("output file is empty" in m for m in msgs)
    assert any("no manifest.json.out" in m for m in msgs)
    (d / "manifest.json.out").write_text(
        json.dumps({"processedRecordCount": 3, "successRecordCount": 1, "errorRecordCount": 2})
    )
    msgs = [p[3] for p in bb.read_results(tmp_path / "out").problems]
    assert any("manifest says processedRecordCount=3, the output files have 1" in m for m in msgs)
    assert any("errorRecordCount=2" in m for m in msgs)
    with pytest.raises(NotFoundError):
        bb.read_results(tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="no batch output files"):
        bb.read_results(tmp_path / "empty")
    with pytest.raises(InputError, match="unknown status"):
        res.retry_ids(statuses=["weird"])


# --- cost report ---------------------------------------------------------------------------


def test_cost_report_reproduces_the_production_run() -> None:
    manifest = {
        "totalRecordCount": 14108,
        "processedRecordCount": 14108,
        "successRecordCount": 14108,
        "errorRecordCount": 0,
        "inputTokenCount": 28_385_402,
        "outputTokenCount": 8_044_345,
    }
    r = bb.cost_report(
        manifest,
        model="us.anthropic.claude-3-5-haiku-20241022-v1:0",
        started="2025-01-01T10:00:00Z",
        finished="2025-01-01T10:17:00Z",
        on_demand_rate=11,
    )
    assert (r.price_input_per_mtok, r.price_output_per_mtok) == (0.8, 4.0)
    assert (
        f"{r.on_demand_cost:.2f} {r.on_demand_input_cost:.2f} {r.on_demand_output_cost:.2f} {r.batch_cost:.2f}"
        == "54.89 22.71 32.18 27.44"
    )
    assert round(r.records_per_minute or 0) == 830 and round(r.speedup or 0) == 75
    text = str(r)
    assert (
        "$54.89 ($22.71 input + $32.18 output)" in text
        and "batch     $27.44" in text
        and "75x" in text
    )
    assert r.to_pandas().loc[0, "records"] == 14108
    own = bb.cost_report(
        manifest, model="some.unknown-model", prices={"input": 0.8, "output": 4.0}, minutes=17
    )
    assert round(own.batch_cost or 0, 2) == 27.44
    unknown = bb.cost_report(manifest, model="some.unknown-model")
    assert unknown.on_demand_cost is None and "no price known" in str(unknown)
    with pytest.raises(InputError, match="the manifest has no inputTokenCount"):
        bb.cost_report({"outputTokenCount": 1}, model="x")


def test_cost_report_from_results(tmp_path: Path) -> None:
    _job_folder(tmp_path, "jobabc", [f"r{i}" for i in range(100)], per_file=100)
    res = bb.read_results(tmp_path)
    r = bb.cost_report(res, model="anthropic.claude-haiku-4-5-20251001-v1:0", minutes=2.0)
    assert r.records == 90 and r.input_tokens == 90 * 120 and r.output_tokens == 90 * 45
    assert (
        r.on_demand_cost is not None
        and abs(r.on_demand_cost - (90 * 120 / 1e6 * 1.0 + 90 * 45 / 1e6 * 5.0)) < 1e-12
    )
    assert r.records_per_minute == 45


def test_join_never_touches_the_tables_own_columns() -> None:
    df = pd.DataFrame({"recordId": ["R1", "R2"], "status": ["publish", "draft"]})
    joined = bb.read_results(dump([claude_line("R1", "x")])).join(df, on="recordId")
    assert list(joined["recordId"]) == ["R1", "R2"] and list(joined["status"]) == [
        "publish",
        "draft",
    ]
    assert list(joined["status_result"]) == ["succeeded", "missing"]


def test_schema_keys_may_not_shadow_result_columns() -> None:
    with pytest.raises(InputError, match="schema key 'status' is also a result column"):
        bb.read_results(dump([claude_line("R1", '{"status": "x"}')]), schema=["status"])


def test_lines_are_read_right_whatever_the_echoed_input_holds() -> None:
    tricky_input = {
        "messages": [
            {"role": "user", "content": 'a "modelOutput": {"generation": "fake"} \\" "error": 1'}
        ],
        "modelOutput": {"generation": "nested fake"},
    }
    real = {"generation": "real", "prompt_token_count": 1, "generation_token_count": 1}
    lines = [
        {"recordId": "a", "modelInput": tricky_input, "modelOutput": real},
        {"modelOutput": real, "modelInput": tricky_input, "recordId": "b"},  # another key order
        {
            "recordId": "c",
            "modelInput": tricky_input,
            "error": {"errorCode": 500, "errorMessage": "boom"},
        },
    ]
    rows = {r["recordId"]: r for r in bb.read_results(dump(lines)).to_pandas().to_dict("records")}
    assert rows["a"]["text"] == "real" and rows["b"]["text"] == "real"
    assert rows["c"]["status"] == "failed" and rows["c"]["error_message"] == "boom"


def test_arrow_and_pandas_only_paths_give_the_same_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nulls in text and count columns, a schema field that is not text (an object column),
    # an embedding column, Japanese text and an empty string.
    lines = [
        claude_line("a", json.dumps({**SUMMARY, "score": 3}, ensure_ascii=False)),
        claude_line("b", json.dumps({"title_en": "", "summary_ja": "日本語", "score": None})),
        {"recordId": "c", "error": {"errorCode": 429, "errorMessage": "throttled"}},
        {"recordId": "d", "modelOutput": {"embedding": [0.5], "inputTextTokenCount": 2}},
    ]
    res = bb.read_results(dump(lines), schema=["title_en", "summary_ja", "score"])
    fast = res.to_pandas()
    table = res.to_arrow()
    assert table.schema.field("text").type == pa.large_string()
    assert table.schema.field("input_tokens").type == pa.int64()
    assert table.column("input_tokens").null_count == 1  # the error line has no usage
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # import fails
    slow = res.to_pandas()
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(fast, slow)
    rows = {r["recordId"]: r for r in fast.to_dict("records")}
    assert rows["a"]["score"] == 3 and rows["a"]["summary_ja"] == SUMMARY["summary_ja"]
    assert rows["b"]["title_en"] == "" and pd.isna(rows["b"]["score"])
    assert rows["c"]["status"] == "failed" and pd.isna(rows["c"]["text"])
    assert rows["d"]["embedding"] == [0.5] and fast["input_tokens"].dtype == "Int64"


def test_null_and_mistyped_blocks_and_repeated_schema_keys() -> None:
    blocks = lambda *b: {"content": list(b), "usage": {"input_tokens": 1, "output_tokens": 1}}  # noqa: E731
    lines = [
        {"recordId": "null-text", "modelOutput": blocks({"type": "text", "text": None})},
        {"recordId": "typed-5", "modelOutput": blocks({"type": 5, "text": "x"})},
        {
            "recordId": "nova-null",
            "modelOutput": {
                "output": {"message": {"content": [{"text": None}, {"text": "kept"}]}},
                "usage": {"inputTokens": 1, "outputTokens": 1},
            },
        },
        claude_line("twice", json.dumps(SUMMARY, ensure_ascii=False)),
    ]
    res = bb.read_results(dump(lines), schema=["title_en", "title_en", "summary_en"])
    rows = {r["recordId"]: r for r in res.to_pandas().to_dict("records")}
    assert rows["typed-5"]["status"] == "invalid_output"
    assert rows["nova-null"]["text"] == "kept"
    assert rows["twice"]["status"] == "succeeded"
    assert rows["twice"]["title_en"] == SUMMARY["title_en"]
    plain = bb.read_results(dump(lines[:1])).to_pandas()
    assert plain.loc[0, "status"] == "succeeded" and plain.loc[0, "text"] == ""


def test_results_leave_as_arrow_for_polars_pyarrow_and_duckdb() -> None:
    pl = pytest.importorskip("polars")
    lines = [
        claude_line("a", json.dumps({**SUMMARY, "score": 3}, ensure_ascii=False)),
        {"recordId": "b", "error": {"errorCode": 429, "errorMessage": "throttled"}},
        claude_line("c", json.dumps({**SUMMARY, "score": [1, {"x": 2}]}, ensure_ascii=False)),
    ]
    res = bb.read_results(dump(lines), schema=["title_en", "summary_ja", "score"])
    frame = pl.DataFrame(res)  # the PyCapsule interface, no pandas or pyarrow in between
    assert frame.height == 3 and frame["status"].to_list() == ["succeeded", "failed", "succeeded"]
    assert res.to_polars().equals(frame)
    table = pa.table(res)
    assert table.schema.field("recordId").type == pa.large_string()
    # A field whose values are of mixed JSON types is JSON text, marked as such.
    score = table.schema.field("score")
    assert score.type == pa.large_string() and score.metadata == {b"bedrock_batch.json": b"1"}
    assert table.column("score").to_pylist() == ["3", None, '[1,{"x":2}]']
    assert res.to_pandas()["score"].tolist()[2] == [1, {"x": 2}]
    duckdb = pytest.importorskip("duckdb")
    got = duckdb.sql("select status, count(*) as n from res group by status order by status")
    assert got.fetchall() == [("failed", 1), ("succeeded", 2)]


def test_inputs_and_joins_from_arrow_tables() -> None:
    pl = pytest.importorskip("polars")
    lines = [claude_line("2", json.dumps(SUMMARY, ensure_ascii=False))]
    ids = [1, 2, 3]
    source = {"id": ids, "title": ["a", "b", "c"], "status": ["draft", "publish", "publish"]}
    for inputs in (
        pa.table(source),
        pl.DataFrame(source),
        pa.array(["1", "2", "3"]),
        pl.Series(["1", "2", "3"]),
    ):
        res = bb.read_results(dump(lines), inputs=inputs, schema=["title_en"])
        assert [*res.columns()["recordId"]] == ["1", "2", "3"]
        assert res.summary()["missing"] == 2
    res = bb.read_results(dump(lines), inputs=pl.DataFrame(source), schema=["title_en"])
    joined = res.join(pl.DataFrame(source), on="id")
    assert isinstance(joined, pl.DataFrame)
    assert joined["id"].to_list() == ids and joined["status"].to_list() == source["status"]
    assert joined["status_result"].to_list() == ["missing", "succeeded", "missing"]
    assert joined["title_en"].to_list() == [None, SUMMARY["title_en"], None]
    table = res.join(pa.table(source), on="id")
    assert isinstance(table, pa.Table) and table["id"].to_pylist() == ids
    assert table["status_result"].to_pylist() == ["missing", "succeeded", "missing"]
    with pytest.raises(InputError, match=r"no id column .*columns: x"):
        bb.read_results(dump(lines), inputs=pa.table({"x": [1]}))


def test_many_blocks_in_order_and_reordered_give_the_same_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over 4 MB of output arrives as several blocks, each kept as its own Arrow batch; a field
    # typed differently across blocks is typed over all of them.
    n = 2400
    lines = []
    for i in range(n):
        answer: dict[str, Any] = {"summary_ja": f"{i}" + "要約" * 1000}
        answer["score"] = i if i < 1000 else i + 0.5
        answer["tag"] = [i] if i == n - 1 else "t"
        lines.append(claude_line(f"r{i:05d}", json.dumps(answer, ensure_ascii=False)))
    path = tmp_path / "big.jsonl.out"
    path.write_bytes(dump(lines))
    assert path.stat().st_size > 3 * (4 << 20) / 2
    schema = ["summary_ja", "score", "tag"]
    res = bb.read_results(path, schema=schema)
    table = res.to_arrow()
    assert len(table.to_batches()) >= 2 and table.num_rows == n
    assert table.schema.field("score").type == pa.float64()
    assert table.column("score").to_pylist()[999:1001] == [999.0, 1000.5]
    tag = table.schema.field("tag")
    assert tag.type == pa.large_string() and tag.metadata == {b"bedrock_batch.json": b"1"}
    assert table.column("tag").to_pylist()[-2:] == ['"t"', f"[{n - 1}]"]
    whole = res.to_pandas()
    assert whole["summary_ja"].str.startswith("1234要約").sum() == 1

    # The inputs backwards, one never answered: the columns copied into that order.
    ids = [f"r{i:05d}" for i in reversed(range(n))] + ["never"]
    back = bb.read_results(path, schema=schema, inputs=ids)
    frame = back.to_pandas()
    assert frame["recordId"].tolist() == ids
    assert len(back.to_arrow().to_batches()) == 1
    last = frame.iloc[-1]
    assert last["status"] == "missing" and last["error_code"] == "missing"
    assert pd.isna(last["summary_ja"]) and pd.isna(last["score"])
    expected = whole.set_index("recordId").loc[ids[:-1]].reset_index()
    pd.testing.assert_frame_equal(frame.iloc[:-1].reset_index(drop=True), expected)
    assert back.summary()["missing"] == 1 and back.retry_ids()[:1] == ["never"]
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    pd.testing.assert_frame_equal(back.to_pandas(), frame)


def test_an_answer_cut_inside_a_surrogate_pair_keeps_its_text() -> None:
    # An answer cut at max_tokens between the halves of an emoji ends in a lone surrogate
    # escape: JSON allows it, and the text reads it as U+FFFD rather than losing the answer.
    raw = (
        b'{"recordId":"a","modelOutput":{"content":[{"type":"text","text":"cut \\ud83d"}],'
        b'"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":2}}}\n'
    )
    row = bb.read_results(raw).to_pandas().iloc[0]
    assert row["status"] == "succeeded" and row["text"] == "cut \ufffd"
