"""Figures for the ``[plot]`` extra (matplotlib, imported only when a figure is drawn):

- :func:`plot_tokens`: a plan's estimated input tokens per record, as a histogram;
- :func:`plot_status`: results by status;
- :func:`plot_cost`: a run's cost in batch against the same tokens on demand;
- :func:`plot_timeline`: a run's jobs, one bar each, from submission to the end.

Each returns the matplotlib ``Figure`` (a notebook shows it as the cell's output); the same
figures are methods: ``plan.plot_tokens()``, ``results.plot_status()``,
``report.plot_cost()``, ``run.plot_timeline()``.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from .exceptions import InputError

__all__ = ["plot_cost", "plot_status", "plot_timeline", "plot_tokens"]

STATUS_COLOURS = {
    "succeeded": "#2a9d8f",
    "invalid_output": "#e9c46a",
    "failed": "#e76f51",
    "missing": "#8d99ae",
}


def _pyplot() -> Any:
    """matplotlib's ``Figure`` class (no pyplot: no global figure state, no GUI backend), with
    IPython told to show a returned figure as a PNG when running in a notebook."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("figures need matplotlib: pip install 'bedrock-batch[plot]'") from None
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        from IPython.core.pylabtools import select_figure_formats

        select_figure_formats(shell, {"png"})  # type: ignore[no-untyped-call]
    return Figure


def _text(s: str) -> str:
    """Text with its dollar signs shown as dollar signs (not matplotlib's maths mode)."""
    return s.replace("$", r"\$")


def plot_tokens(plan: Any, *, bins: int = 40) -> Any:
    """A histogram of the plan's estimated input tokens per record, with the median and the
    largest marked, and the cost estimate in the title."""
    counts = list(getattr(plan, "token_counts", []) or [])
    if not counts:
        raise InputError("the plan has no per-record token estimates (an opened run's plan)")
    fig = _pyplot()(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.hist(counts, bins=bins, color="#457b9d")
    ordered = sorted(counts)
    median = ordered[len(ordered) // 2]
    ax.axvline(median, color="#1d3557", linestyle="--", label=f"median {median:,}")
    ax.axvline(ordered[-1], color="#e63946", linestyle=":", label=f"largest {ordered[-1]:,}")
    ax.set_xlabel("estimated input tokens per record")
    ax.set_ylabel("records")
    e = plan.estimate
    title = f"{len(counts):,} records, ~{sum(counts):,} input tokens"
    if e.get("batch_cost") is not None:
        title += f"; ${e['batch_cost']:,.2f} batch vs ${e['on_demand_cost']:,.2f} on demand"
    ax.set_title(_text(title), fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_status(results: Any) -> Any:
    """Records by status, as bars with their counts; for a run's results the records that
    succeeded are split into those answered at the first try and those that needed more."""
    summary = results.summary()
    names = ["succeeded", "invalid_output", "failed", "missing"]
    values = [int(summary.get(n, 0)) for n in names]
    retried = 0
    if hasattr(results, "_jobs"):  # a run's results have an attempts column
        cols = results.columns()
        retried = sum(
            1 for st, n in zip(cols["status"], cols["attempts"]) if st == "succeeded" and n > 1
        )
    fig = _pyplot()(figsize=(6, 3.2))
    ax = fig.subplots()
    colours = [STATUS_COLOURS[n] for n in names]
    first = [values[0] - retried, *values[1:]]
    ax.bar(names, first, color=colours, label="at the first try" if retried else None)
    if retried:
        ax.bar(names[:1], [retried], bottom=[first[0]], color="#94d2bd", label="after a retry")
        ax.legend(fontsize=8)
    for x, v in enumerate(values):
        ax.annotate(
            f"{v:,}", (x, v), ha="center", va="bottom", xytext=(0, 2), textcoords="offset points"
        )
    ax.set_ylabel("records")
    ax.set_title(f"{sum(values):,} records by status", fontsize=10)
    ax.margins(y=0.15)
    fig.tight_layout()
    return fig


def plot_cost(report: Any) -> Any:
    """What the run cost in batch (and on demand for its remainder) against what the same
    tokens would have cost on demand."""
    if report.on_demand_cost is None:
        raise InputError("no price is known for this model: pass prices= to cost_report")
    batch = report.batch_part if report.batch_part is not None else report.batch_cost
    on_demand = report.on_demand_part or 0.0
    fig = _pyplot()(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.barh(["this run"], [batch], color="#2a9d8f", label="batch jobs")
    if on_demand:
        ax.barh(["this run"], [on_demand], left=[batch], color="#f4a261", label="on demand")
    ax.barh(["all on demand"], [report.on_demand_cost], color="#8d99ae", label="on-demand price")
    total = batch + on_demand
    ax.set_xlabel("dollars")
    ax.set_title(
        _text(
            f"${total:,.2f} spent against ${report.on_demand_cost:,.2f} on demand "
            f"({1 - total / report.on_demand_cost:.0%} saved)"
            if report.on_demand_cost
            else f"${total:,.2f} spent"
        ),
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_timeline(status: Any) -> Any:
    """A run's jobs, one bar each from submission to the end (or now), coloured by state."""
    rows = [r for r in status.rows if r.get("submitted_at")]
    if not rows:
        raise InputError("no job of this run has been submitted yet")
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    start = min(float(r["submitted_at"]) for r in rows)
    colours = {
        "Completed": "#2a9d8f",
        "PartiallyCompleted": "#e9c46a",
        "Failed": "#e76f51",
        "Stopped": "#8d99ae",
        "Expired": "#6d597a",
    }
    fig = _pyplot()(figsize=(7, 0.6 + 0.32 * len(rows)))
    ax = fig.subplots()
    for i, r in enumerate(rows):
        begin = float(r["submitted_at"]) - start
        end = float(r.get("ended_at") or now) - start
        ax.barh(i, max(end - begin, 1e-3), left=begin, color=colours.get(r["state"], "#457b9d"))
    ax.set_yticks(range(len(rows)), [f"{r['shard']} a{r['attempt']}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first submission")
    states = sorted({r["state"] for r in rows})
    ax.set_title(f"{len(rows)} jobs: " + ", ".join(states), fontsize=10)
    fig.tight_layout()
    return fig
