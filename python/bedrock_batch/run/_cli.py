"""The run's commands: ``plan``, ``run``, ``status``, ``results``, ``stop`` and ``init``.

Exit codes: 0 when done, 1 when records ended failed, invalid or missing (or a pilot was
too weak), 2 for usage or input errors (raised as ``BedrockBatchError`` to ``cli.main``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from ..exceptions import InputError, PilotFailedError
from . import Run, RunResults
from ._config import EXAMPLE, load, run_kwargs


def _open(path: str, *, with_source: bool) -> Run:
    doc = load(path)
    kw = run_kwargs(doc, with_source=with_source)
    if not with_source:
        kw = {k: kw[k] for k in ("s3", "client", "poll_interval") if k in kw} | (
            {"cache_dir": kw["cache_dir"]} if "cache_dir" in kw else {}
        )
    return Run(doc["name"], **kw)


def _bad(summary: dict[str, int]) -> bool:
    return any(summary.get(k, 0) for k in ("failed", "invalid_output", "missing"))


def cmd_plan(args: argparse.Namespace) -> int:
    run = _open(args.config, with_source=True)
    plan = run.plan()
    print(repr(plan))
    if plan.validation is not None and not plan.validation.ok:
        print(str(plan.validation))
        return 2
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    run = _open(args.config, with_source=True)
    try:
        run.start()
        run.wait(progress=not args.no_progress, timeout=args.timeout)
    except PilotFailedError as e:
        print(f"bedrock-batch: the run is paused: {e}", file=sys.stderr)
        return 1
    res = run.results()
    s = res.summary()
    print(repr(run.status()))
    print(
        f"\n{s['records']:,} records: {s['succeeded']:,} succeeded, {s['failed']:,} failed, "
        f"{s['invalid_output']:,} invalid output, {s['missing']:,} missing"
    )
    print(str(run.cost_report()))
    return 1 if _bad(s) else 0


def cmd_status(args: argparse.Namespace) -> int:
    print(repr(_open(args.config, with_source=False).status()))
    return 0


def write_results(res: RunResults, out: Path) -> None:
    """``.parquet`` (pyarrow), ``.csv`` or ``.jsonl``: one row per input record."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{out}: writing Parquet needs pyarrow (pip install 'bedrock-batch[arrow]')"
            ) from None
        pq.write_table(res.to_arrow(), out)
        return
    cols = res.columns()
    names = [c for c in cols if c not in ("file", "line")]
    n = len(res)
    if suffix == ".csv":
        with open(out, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for i in range(n):
                w.writerow([_plain(cols[c][i]) for c in names])
        return
    if suffix in (".jsonl", ".ndjson"):
        with open(out, "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps({c: cols[c][i] for c in names}, ensure_ascii=False) + "\n")
        return
    raise InputError(f"-o {out}: use a .parquet, .csv or .jsonl file")


def _plain(v: Any) -> Any:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v


def cmd_results(args: argparse.Namespace) -> int:
    res = _open(args.config, with_source=False).results()
    out = Path(args.output)
    write_results(res, out)
    s = res.summary()
    print(f"wrote {len(res):,} rows to {out}: {s}")
    return 1 if _bad(s) else 0


def cmd_stop(args: argparse.Namespace) -> int:
    run = _open(args.config, with_source=False)
    run.stop()
    print(f"stopped the active jobs of run {run.name!r}; `bedrock-batch run` goes on later")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    out = Path(args.path)
    if out.exists() and not args.force:
        raise InputError(f"{out} exists (pass --force to overwrite)")
    out.write_text(EXAMPLE, encoding="utf-8")
    print(f"wrote {out}: edit it, then `bedrock-batch plan {out}`")
    return 0


def add_commands(sub: Any) -> None:
    """The run's subcommands on ``bedrock-batch``'s subparsers."""
    p = sub.add_parser("plan", help="a run's dry run: shards, tokens, validation, cost")
    p.add_argument("config", help="run.toml (bedrock-batch init writes one)")
    p.set_defaults(func=cmd_plan)
    r = sub.add_parser(
        "run",
        help="run a whole corpus to the end (again after a crash to resume)",
        description="Uploads the inputs, submits jobs within the cap, collects them as they "
        "finish. Run it again after a crash, kill or reboot: it resumes, never starts twice.",
    )
    r.add_argument("config")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    r.set_defaults(func=cmd_run)
    s = sub.add_parser("status", help="the run's jobs")
    s.add_argument("config")
    s.set_defaults(func=cmd_status)
    o = sub.add_parser("results", help="write every input row once (.parquet, .csv, .jsonl)")
    o.add_argument("config")
    o.add_argument("-o", "--output", required=True)
    o.set_defaults(func=cmd_results)
    t = sub.add_parser("stop", help="stop the run's active jobs")
    t.add_argument("config")
    t.set_defaults(func=cmd_stop)
    i = sub.add_parser("init", help="write a commented example run.toml")
    i.add_argument("path", nargs="?", default="run.toml")
    i.add_argument("--force", action="store_true")
    i.set_defaults(func=cmd_init)
