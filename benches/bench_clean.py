"""Benchmark: bb.clean beside the peers of ../shared/bench/peers.py, in one process.

    python benches/bench_clean.py [--corpus ../shared/corpus/articles.jsonl] [--records 14108]
                                  [--repeat 3] [--no-baseline]

The corpus is repeated to --records records (14,108 is the original production job) and the HTML
documents are cleaned by each contender, every one truncating to 50,000 characters as the
production pipeline did. The table gives the median of --repeat runs and each contender's ratio
to bb.clean, taken round by round: the contenders run side by side, each once per round (see
_common.interleaved); every run gets new str objects (see _common.fresh_strings). BeautifulSoup
(the baseline this library replaces) runs once, after: it takes minutes.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_args, fresh_strings, interleaved, load_peers, paired_ratio, timed


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

    rows: list[tuple[str, float, int, list[float]]] = []
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
    # Side by side, round by round (see _common.interleaved); BeautifulSoup runs once, after.
    timed_side = [c for c in contenders if c[2] > 1]
    runs = interleaved([fn for _, fn, _ in timed_side], a.repeat, lambda: fresh_strings(html))
    for (name, _, repeat), t in zip(timed_side, runs):
        rows.append((name, statistics.median(t), repeat, t))
        print(f"  {name:24s} {statistics.median(t):8.3f} s", file=sys.stderr)
    for name, fn, repeat in contenders:
        if repeat == 1:
            t1, _ = timed(fn, 1, setup=lambda: fresh_strings(html))
            rows.append((name, t1, 1, [t1]))
            print(f"  {name:24s} {t1:8.3f} s", file=sys.stderr)

    ours, one = rows[0][3], rows[1][3]

    def ratio(t: list[float], base: list[float]) -> float:
        # Per round where both ran side by side, else against the median.
        if len(t) == len(base):
            return paired_ratio(t, base)
        return statistics.median(t) / statistics.median(base)

    print(
        f"| contender | seconds (median) | MB/s | docs/s | bb.clean {cores}T is faster by | bb.clean 1T is faster by |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, t, repeat, all_t in rows:
        runs_note = "" if repeat > 1 else " (1 run)"
        print(
            f"| {name}{runs_note} | {t:.3f} | {mb / t:.0f} | {len(html) / t:.0f} | {ratio(all_t, ours):.1f}x | {ratio(all_t, one):.1f}x |"
        )


if __name__ == "__main__":
    main()
