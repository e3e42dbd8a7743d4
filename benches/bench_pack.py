"""Benchmark: pack + write and validate beside ../shared/bench/peers.py, in one process.

    python benches/bench_pack.py [--corpus ../shared/corpus/articles.jsonl] [--records 14108]

Rows are the corpus repeated to --records records, cleaned once (bb.clean, 50,000 characters)
before timing. Packing: the peers' json.dumps and orjson packers against bb.pack + Records.write,
all writing the same Claude records (system prompt, "タイトル: …\\n\\n記事:\\n…", max_tokens 4096,
temperature 0.1). Validation: a json.loads loop that checks each line's keys against bb.validate on
the file our packer wrote. The contenders run side by side, once each per round for --repeat
rounds, each run on new str objects; the table gives each one's median time and the median
over rounds of its time over ours.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cleaned_rows, corpus_args, fresh_strings, interleaved, load_peers, paired_ratio

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def json_loads_validate(path: str) -> int:
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "modelInput" not in rec or "recordId" not in rec:
                raise ValueError("bad line")
            mi = rec["modelInput"]
            if not mi.get("messages") or not isinstance(mi.get("max_tokens"), int):
                raise ValueError("bad modelInput")
            n += 1
    return n


def main() -> None:
    a = corpus_args(__doc__).parse_args()
    peers = load_peers(a.peers)
    rows = cleaned_rows(peers, a.corpus, a.records)
    prompt = bb.Prompt(
        system=peers.SYSTEM,
        user="タイトル: {title}\n\n記事:\n{content}",
        max_tokens=4096,
        temperature=0.1,
    )
    tmp = tempfile.mkdtemp()
    base_path, orj_path = os.path.join(tmp, "base.jsonl"), os.path.join(tmp, "orjson.jsonl")
    out_dir = os.path.join(tmp, "ours")

    def ours(rows: list[tuple[str, str, str]]) -> None:
        dict_rows = [{"id": i, "title": t, "content": b} for i, t, b in rows]
        bb.pack(dict_rows, prompt=prompt, model=MODEL).write(out_dir, overwrite=True)

    # Every run gets new str objects (see _common.fresh_strings); building our list of dicts
    # is timed with us.
    def fresh() -> list[tuple[str, str, str]]:
        return fresh_strings(rows)

    # Side by side, round by round (see _common.interleaved); ratios are per round.
    names = ["bb.pack + Records.write", "orjson packer", "json.dumps packer (baseline)"]
    runs = interleaved(
        [
            ours,
            lambda r: peers.orjson_pack(r, orj_path),
            lambda r: peers.baseline_pack(r, base_path),
        ],
        a.repeat,
        fresh,
    )
    results = [(n, statistics.median(t), paired_ratio(t, runs[0])) for n, t in zip(names, runs)]
    written = sorted(Path(out_dir).rglob("*.jsonl"))
    size = sum(p.stat().st_size for p in written)
    ours_lines = b"".join(p.read_bytes() for p in written).splitlines()
    orj_lines = Path(orj_path).read_bytes().splitlines()
    assert [json.loads(x) for x in ours_lines[:50]] == [json.loads(x) for x in orj_lines[:50]]
    target = str(written[0])
    report = bb.validate(target, model=MODEL)
    assert report.ok and report.records == len(rows), report
    vruns = interleaved(
        [lambda: bb.validate(target, model=MODEL), lambda: json_loads_validate(target)], a.repeat
    )
    vresults = [
        (n, statistics.median(t), paired_ratio(t, vruns[0]))
        for n, t in zip(["bb.validate", "json.loads loop"], vruns)
    ]
    print(
        f"{len(rows)} records, {size / 1e6:.1f} MB of JSONL; {os.cpu_count()} cores, python {sys.version.split()[0]}\n"
    )
    print(
        "| packing and writing | seconds (median) | records/s | bb.pack is faster by (median of rounds) |"
    )
    print("|---|---:|---:|---:|")
    for name, t, ratio in results:
        print(f"| {name} | {t:.3f} | {len(rows) / t:,.0f} | {ratio:.1f}x |")
    print(
        "\n| validating | seconds (median) | MB/s | bb.validate is faster by (median of rounds) |"
    )
    print("|---|---:|---:|---:|")
    for name, t, ratio in vresults:
        print(f"| {name} | {t:.3f} | {size / 1e6 / t:,.0f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
