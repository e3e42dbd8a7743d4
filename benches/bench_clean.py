"""Benchmark: bb.clean beside the peers of ../shared/bench/peers.py, in one process.

    python benches/bench_clean.py [--corpus ../shared/corpus/articles.jsonl] [--records 14108]
                                  [--repeat 3] [--no-baseline]

The corpus is repeated to --records records (14,108 is the original production job) and the HTML
documents are cleaned by each contender, every one truncating to 50,000 characters as the
production pipeline did. The table gives the median of --repeat runs and each contender's ratio
to bb.clean; every run gets new str objects (see _common.fresh_strings). BeautifulSoup (the
baseline this library replaces) runs once: it takes minutes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_args, fresh_strings, load_peers, timed


def main() -> None:
    ap = corpus_args(__doc__)
    ap.add_argument("--no-baseline", action="store_true", help="skip BeautifulSoup (slow)")
    a = ap.parse_args()
    peers = load_peers(a.peers)
    docs = peers.load(str(a.corpus), a.records)
    html = [d["content"] for d in docs if d["format"] == "html"]
    mb = sum(len(h.encode()) for h in html) / 1e6
    cores = os.cpu_count() or 1
    print(f"corpus: {len(docs)} records, {len(html)} HTML documents, {mb:.1f} MB; {cores} cores")
    print(f"python {sys.version.split()[0]}, bedrock-batch {bb.__version__}\n")

    rows: list[tuple[str, float, int]] = []
    contenders: list[tuple[str, Callable[[list[str]], Any], int]] = [
        (
            f"bb.clean ({cores} threads)",
            lambda docs: bb.clean(docs, format="html", max_chars=50000),
            a.repeat,
        ),
        (
            "bb.clean (1 thread)",
            lambda docs: bb.clean(docs, format="html", max_chars=50000, threads=1),
            a.repeat,
        ),
    ]
    try:
        import selectolax  # noqa: F401

        contenders.append(
            (
                "selectolax (lexbor)",
                lambda docs: [peers.selectolax_clean(h) for h in docs],
                a.repeat,
            )
        )
    except ImportError:
        print("selectolax not installed: skipped")
    try:
        import resiliparse  # noqa: F401

        contenders.append(
            ("resiliparse", lambda docs: [peers.resiliparse_clean(h) for h in docs], a.repeat)
        )
    except ImportError:
        print("resiliparse not installed: skipped")
    if not a.no_baseline:
        contenders.append(
            ("BeautifulSoup + regex", lambda docs: [peers.baseline_clean(h) for h in docs], 1)
        )
    for name, fn, repeat in contenders:
        # Fresh str objects for every run: see fresh_strings.
        t, _ = timed(fn, repeat, setup=lambda: fresh_strings(html))
        rows.append((name, t, repeat))
        print(f"  {name:24s} {t:8.3f} s", file=sys.stderr)

    best = rows[0][1]
    one = rows[1][1]
    print(
        f"| contender | seconds (median) | MB/s | docs/s | bb.clean {cores}T is faster by | bb.clean 1T is faster by |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, t, repeat in rows:
        runs = "" if repeat > 1 else " (1 run)"
        print(
            f"| {name}{runs} | {t:.3f} | {mb / t:.0f} | {len(html) / t:.0f} | {t / best:.1f}x | {t / one:.1f}x |"
        )


if __name__ == "__main__":
    main()
