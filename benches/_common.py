"""Helpers shared by the benchmarks: the peers module and a median timer."""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def load_peers(path: Path) -> Any:
    """Imports ../shared/bench/peers.py (or another path) as a module."""
    spec = importlib.util.spec_from_file_location("peers", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(
    fn: Callable[..., Any], repeat: int, setup: Callable[[], Any] | None = None
) -> tuple[float, Any]:
    """The median wall time of ``repeat`` runs, and the last run's result. With ``setup``, each
    run gets ``fn(setup())`` and only ``fn`` is timed. When ``repeat`` > 1 an untimed warm-up
    run goes first, so no contender's one-time costs (imports, thread pools, first allocations)
    count against it."""
    times, out = [], None
    if repeat > 1:
        fn(*(() if setup is None else (setup(),)))
    for _ in range(repeat):
        args = () if setup is None else (setup(),)
        t = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def interleaved(
    contenders: list[Callable[..., Any]], repeat: int, setup: Callable[[], Any] | None = None
) -> list[list[float]]:
    """Wall times of ``repeat`` rounds in which every contender runs once, in an order that
    rotates each round, after one untimed run of each. Timing them side by side, round by
    round, lets a ratio be taken per round (see ``paired_ratio``), which holds when a shared
    machine's speed drifts between the contenders' runs; with ``setup``, each run gets
    ``fn(setup())`` and only ``fn`` is timed."""
    for fn in contenders:
        fn(*(() if setup is None else (setup(),)))
    times: list[list[float]] = [[] for _ in contenders]
    for r in range(repeat):
        for k in range(len(contenders)):
            j = (k + r) % len(contenders)
            args = () if setup is None else (setup(),)
            t = time.perf_counter()
            contenders[j](*args)
            times[j].append(time.perf_counter() - t)
    return times


def paired_ratio(slower: list[float], ours: list[float]) -> float:
    """The median over rounds of ``slower / ours`` (both from one ``interleaved`` call)."""
    return statistics.median(a / b for a, b in zip(slower, ours))


def fresh_strings(values: list[Any]) -> list[Any]:
    """Copies of the strings in ``values`` (or in its tuples) as new ``str`` objects.

    CPython caches a string's UTF-8 form once asked (orjson reads it; bedrock-batch and the
    lexbor/BeautifulSoup peers encode every time), so timing several runs on the same objects
    would flatter the readers of the cache; every run gets strings as a file or a DataFrame
    gives them the first time.
    """

    def copy(v: Any) -> Any:
        if isinstance(v, str):
            return v.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
        if isinstance(v, tuple):
            return tuple(copy(x) for x in v)
        return v

    return [copy(v) for v in values]


def corpus_args(description: str | None = None) -> argparse.ArgumentParser:
    """The arguments every corpus benchmark takes: --corpus, --peers, --records, --repeat."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "articles.jsonl")
    ap.add_argument("--peers", type=Path, default=SHARED / "bench" / "peers.py")
    ap.add_argument("--records", type=int, default=14108)
    ap.add_argument("--repeat", type=int, default=3)
    return ap


def cleaned_rows(peers: Any, corpus: Path, records: int) -> list[tuple[str, str, str]]:
    """(id, title, cleaned body) for the corpus repeated to ``records`` records, cleaned by
    bb.clean to 50,000 characters as the production pipeline did."""
    import bedrock_batch as bb

    docs = peers.load(str(corpus), records)
    bodies = bb.clean([d["content"] for d in docs], max_chars=50000)
    return [(d["id"], d["title"], b) for d, b in zip(docs, bodies)]
