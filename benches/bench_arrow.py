"""Benchmark: clean and pack + write from Arrow-backed tables against the same data as Python
objects, and pack + write against the orjson packer, side by side in one process.

    python benches/bench_arrow.py [--records 14108] [--repeat 5]

Clean: the corpus's documents repeated to --records, as a list of ``str`` (new objects every
run), a pyarrow ``large_string`` array, a pandas 3 ``str`` Series and a polars Series. Pack +
write: the documents cleaned to 50,000 characters, as a pandas 3 DataFrame (``str`` columns), a
polars DataFrame and a pyarrow Table, against a list of dicts and the peers' orjson packer. The
contenders run once each per round; ratios are medians of per-round ratios.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_args, fresh_strings, interleaved, load_peers, paired_ratio

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def table(names: list[str], runs: list[list[float]], unit: str, count: int) -> None:
    print(f"| contender | seconds (median) | {unit}/s | time over the first row's |")
    print("|---|---:|---:|---:|")
    for name, t in zip(names, runs):
        med = statistics.median(t)
        print(f"| {name} | {med:.3f} | {count / med:,.0f} | {paired_ratio(t, runs[0]):.2f}x |")


def main() -> None:
    ap = corpus_args(__doc__)
    a = ap.parse_args()
    peers = load_peers(a.peers)
    docs = [d["content"] for d in peers.load(str(a.corpus), a.records)]
    size = sum(len(d.encode()) for d in docs)
    print(
        f"{len(docs):,} documents, {size / 1e6:.0f} MB; {os.cpu_count()} cores, python "
        f"{sys.version.split()[0]}, pandas {pd.__version__}, polars {pl.__version__}, "
        f"pyarrow {pa.__version__}\n"
    )
    arrow = pa.array(docs, type=pa.large_string())
    series = pd.Series(docs, dtype="str")
    polars = pl.Series("content", docs)
    kinds = ["list of str", "pyarrow large_string", "pandas 3 str Series", "polars Series"]
    runs = interleaved(
        [
            lambda: bb.clean(fresh_strings(docs), max_chars=50_000),
            lambda: bb.clean(arrow, max_chars=50_000),
            lambda: bb.clean(series, max_chars=50_000),
            lambda: bb.clean(polars, max_chars=50_000),
        ],
        a.repeat,
    )
    print("bb.clean(..., max_chars=50_000):\n")
    table(kinds, runs, "docs", len(docs))

    bodies = bb.clean(docs, max_chars=50_000)
    ids = [f"r{i:06d}" for i in range(len(docs))]
    titles = [f"title {i}" for i in range(len(docs))]
    rows = list(zip(ids, titles, bodies))
    frame = pd.DataFrame({"id": ids, "title": titles, "content": bodies}).astype("str")
    pat = pa.table({"id": ids, "title": titles, "content": bodies})
    pol = pl.from_arrow(pat)
    prompt = bb.Prompt(
        system=peers.SYSTEM,
        user="タイトル: {title}\n\n記事:\n{content}",
        max_tokens=4096,
        temperature=0.1,
    )
    tmp = tempfile.mkdtemp()
    orj = os.path.join(tmp, "orjson.jsonl")

    def ours(source: object, name: str) -> None:
        bb.pack(source, prompt=prompt, model=MODEL).write(os.path.join(tmp, name), overwrite=True)

    names = [
        "orjson packer (tuples)",
        "bb: list of dicts",
        "bb: pandas 3 DataFrame (str)",
        "bb: polars DataFrame",
        "bb: pyarrow Table",
    ]
    runs = interleaved(
        [
            lambda: peers.orjson_pack(fresh_strings(rows), orj),
            lambda: ours([{"id": i, "title": t, "content": b} for i, t, b in rows], "dicts"),
            lambda: ours(frame, "pandas"),
            lambda: ours(pol, "polars"),
            lambda: ours(pat, "arrow"),
        ],
        a.repeat,
    )
    print("\npack + write (Claude records; the first row is the orjson packer):\n")
    table(names, runs, "records", len(rows))
    print("\nbb over the orjson packer, median of rounds:")
    for name, t in zip(names[1:], runs[1:]):
        print(f"  {name}: {paired_ratio(runs[0], t):.1f}x")


if __name__ == "__main__":
    main()
