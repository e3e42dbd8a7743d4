"""Prints a digest of every stage's output on the whole corpus, as JSON: run by
``test_portable.py`` once with the vector paths on and once with ``BEDROCK_BATCH_SIMD=off``.

Usage: python portable_outputs.py CORPUS_DIR WORK_DIR
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import bedrock_batch as bb
from bedrock_batch import _core
from bedrock_batch.emulator import default_responder

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SCHEMA = ["title_en", "summary_ja"]
OPTION_SETS: list[dict[str, Any]] = [
    {},
    {"drop_code": False},
    {"drop_images": False, "keep_paragraphs": True},
    {"max_chars": 1000},
    {"format": "html", "drop_code": False, "drop_images": False, "keep_paragraphs": True},
]

# Text that takes every width and escape: Latin-1, kana, emoji (UCS-4), controls, quotes,
# backslashes, a lone surrogate, long ASCII runs around multi-byte characters.
EXTRA = [
    'café \x00\x01\x1f "quoted" back\\slash déjà vu ' * 50,
    "日本語のテキスト\u3000全角スペース\t" * 200 + "😀 emoji 🎉" * 30,
    "a" * 1000 + "é" + "b" * 63 + "日" + "c" * 129 + "\ud800 lone" + "\U0001f600" * 3,
    "<p>" + "x" * 5000 + "&amp;&lt;&#x1F600;</p><script>bad()</script>" + "ÿ" * 700,
]


def digest(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    corpus, work = Path(sys.argv[1]), Path(sys.argv[2])
    with open(corpus / "articles.jsonl", encoding="utf-8") as f:
        articles = [json.loads(line) for line in f if line.strip()]
    docs = [a["content"] for a in articles] + EXTRA
    out: dict[str, Any] = {"simd": _core.simd_paths()}
    for i, opts in enumerate(OPTION_SETS):
        cleaned = bb.clean(docs, **opts)
        out[f"clean[{i}]"] = digest("\x1e".join(c or "" for c in cleaned))
    rows = [
        {"id": f"a{i}", "title": a.get("title") or "", "content": a["content"]}
        for i, a in enumerate(articles)
    ] + [{"id": f"x{i}", "title": t[:30], "content": t} for i, t in enumerate(EXTRA)]
    prompt = bb.Prompt(
        system='JSON: {{"title_en": ..., "summary_ja": ...}}',
        user="{title}\n\n{content}",
        max_tokens=512,
        prefill="{",
    )
    raw = bb.pack(rows, prompt=prompt, model=MODEL)
    out["pack"] = digest(raw.to_jsonl())
    out["pack.tokens"] = raw.input_tokens
    recs = bb.pack(rows, prompt=prompt, model=MODEL, clean={"content": {"max_chars": 20_000}})
    out["pack+clean"] = digest(recs.to_jsonl())
    shards = recs.write(
        work / "batch", quotas=bb.Quotas(min_records_per_job=100, max_records_per_job=300)
    )
    out["shards"] = [(s.path.name, s.records, s.bytes, s.input_tokens) for s in shards]
    report = bb.validate(work / "batch", model=MODEL)
    report_json = json.dumps(dataclasses.asdict(report), sort_keys=True, default=str)
    out["validate"] = digest(report_json.replace(str(work), "<work>"))
    # Collect: answers made by the emulator's responder, written as Bedrock's output lines.
    respond = default_responder("claude", False)
    lines = []
    for n, line in enumerate(recs.to_jsonl().splitlines()):
        rec = json.loads(line)
        if n % 17 == 3:
            lines.append(
                {
                    "recordId": rec["recordId"],
                    "modelInput": rec["modelInput"],
                    "error": {"errorCode": 429, "errorMessage": "Too many requests"},
                }
            )
        else:
            lines.append(
                {
                    "recordId": rec["recordId"],
                    "modelInput": rec["modelInput"],
                    "modelOutput": respond(rec["recordId"], rec["modelInput"]),
                }
            )
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    (work / "out").mkdir()
    (work / "out" / "part.jsonl.out").write_bytes(data)
    res = bb.read_results(work / "out", inputs=recs, schema=SCHEMA, prefill="{")
    cols = res.columns()
    cols_json = json.dumps(cols, sort_keys=True, ensure_ascii=False, default=str)
    out["collect"] = digest(cols_json.replace(str(work), "<work>"))
    out["collect.summary"] = res.summary()
    out["validate.bytes"] = bb.validate(data + b"{not json\n").error_count
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
