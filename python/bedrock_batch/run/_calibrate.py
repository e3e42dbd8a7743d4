"""Estimates that can be trusted before paying: Bedrock's CountTokens gives the exact input tokens
of a sample of records, spread over their lengths, and a line fitted through (heuristic estimate,
counted) scales the estimate of every record. Half the sample fits the line and the other half
measures the error of a total, which the plan reports."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ._plan import Plan


def spread(values: list[int], n: int) -> list[int]:
    """Indices of ``n`` values evenly spaced over their sorted order (short to long)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    if len(order) <= n:
        return order
    step = (len(order) - 1) / (n - 1)
    return sorted({order[round(k * step)] for k in range(n)})


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares ``y = a x + b`` (``b`` the per-record overhead), ``a`` alone when the
    sample cannot tell them apart."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return (my / mx if mx else 1.0), 0.0
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return a, my - a * mx


async def calibrate(plan: Plan, core: Any, *, sample: int = 200, concurrency: int = 8) -> None:
    """Counts the sample's input tokens with CountTokens and records the calibration in
    ``plan.estimate["calibration"]``: the factor on the heuristic's input tokens, the line, the
    sample size and the measured error of a total."""
    counts = plan.token_counts
    picked = spread(counts, max(4, sample))
    wanted = set(picked)
    bodies: dict[int, bytes] = {}
    index = 0
    for s in plan.shards:
        assert s.folder is not None, "calibration reads the plan's written records"
        for f in s.files:
            with open(s.folder / f["name"], encoding="utf-8") as fh:
                for line in fh:
                    if index in wanted:
                        mi = json.loads(line)["modelInput"]
                        bodies[index] = json.dumps(mi, ensure_ascii=False).encode()
                    index += 1
    converse = plan.invocation == "Converse"
    sem = asyncio.Semaphore(concurrency)

    async def count(i: int) -> tuple[int, int]:
        async with sem:
            got = await core.count_tokens_async(plan.model, bodies[i], converse=converse)
            return i, int(got)

    measured = dict(await asyncio.gather(*(count(i) for i in sorted(bodies))))
    order = sorted(measured)
    fit_half, test_half = order[::2], order[1::2]
    a, b = fit([counts[i] for i in fit_half], [measured[i] for i in fit_half])
    predicted = sum(a * counts[i] + b for i in test_half)
    actual = sum(measured[i] for i in test_half)
    error = abs(predicted - actual) / actual if actual else 0.0
    a, b = fit([counts[i] for i in order], [measured[i] for i in order])  # all of it, now
    heuristic = sum(counts)
    total = a * heuristic + b * len(counts)
    raw_error = abs(sum(counts[i] for i in order) - sum(measured.values())) / max(
        sum(measured.values()), 1
    )
    plan.estimate["calibration"] = {
        "factor": total / heuristic if heuristic else 1.0,
        "slope": a,
        "per_record": b,
        "sample": len(measured),
        "input_tokens": round(total),
        "error": error,
        "heuristic_error": raw_error,
    }
