"""The ``bedrock-batch`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .clean import clean
from .exceptions import BedrockBatchError, InputError
from .sample import sample_articles


def _read_jsonl(path: Path, column: str) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{n}: not JSON: {e.msg}") from None
            if not isinstance(row, dict) or column not in row:
                raise InputError(f"{path}:{n}: no {column!r} field")
            rows.append(row)
    return rows


def _cmd_clean(args: argparse.Namespace) -> int:
    if args.input is None:
        rows = sample_articles()
        origin = "the bundled sample (bedrock_batch/data/NOTICE.md)"
    else:
        rows = _read_jsonl(Path(args.input), args.column)
        origin = args.input
    docs = [r.get(args.column) for r in rows]
    start = time.perf_counter()
    texts = clean(
        docs,
        format=args.format,
        drop_code=not args.keep_code,
        drop_images=not args.keep_images,
        keep_paragraphs=args.keep_paragraphs,
        max_chars=args.max_chars,
        progress=args.progress,
    )
    secs = time.perf_counter() - start
    size_in = sum(len(d.encode()) for d in docs if isinstance(d, str))
    size_out = sum(len(t.encode()) for t in texts if isinstance(t, str))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for row, text in zip(rows, texts):
                rec = {"id": row.get("id"), "title": row.get("title"), "text": text}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    out = sys.stdout
    out.write(f"cleaned {len(rows)} documents from {origin}\n")
    out.write(
        f"{size_in / 1e6:.2f} MB in -> {size_out / 1e6:.2f} MB of text in {secs * 1e3:.0f} ms "
        f"({size_in / 1e6 / max(secs, 1e-9):.0f} MB/s)\n\n"
    )
    out.write(f"{'id':<10} {'format':<8} {'lang':<4} {'chars':>7}  text\n")
    for row, text in list(zip(rows, texts))[: args.head]:
        fmt = str(row.get("format", ""))
        preview = (text or "").replace("\n", " ")[:60]
        ident = str(row.get("id"))[:10]
        chars = len(text or "")
        out.write(f"{ident:<10} {fmt:<8} {row.get('lang', '')!s:<4} {chars:>7}  {preview}\n")
    if args.out:
        out.write(f"\nwrote {args.out}\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    return demo(sys.stdout, time_scale=args.time_scale, head=args.head)


def _cmd_emulator(args: argparse.Namespace) -> int:
    from .emulator._cli import main as emulator_main

    return emulator_main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bedrock-batch",
        description="Articles to Amazon Bedrock batch inference jobs and back into a table.",
    )
    p.add_argument("--version", action="version", version=f"bedrock-batch {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser(
        "clean",
        help="HTML/WordPress/Markdown to plain text",
        description="Clean the documents of a JSONL file (default: the bundled sample).",
    )
    c.add_argument("input", nargs="?", help="JSONL file, one document per line (default: sample)")
    c.add_argument("--column", default="content", help="field holding the document")
    c.add_argument("--format", default="auto", choices=["auto", "html", "markdown", "text"])
    c.add_argument("--max-chars", type=int, default=None)
    c.add_argument("--keep-code", action="store_true", help="keep code blocks")
    c.add_argument("--keep-images", action="store_true", help="keep image alt text")
    c.add_argument("--keep-paragraphs", action="store_true", help="paragraph breaks as blank lines")
    c.add_argument("--out", help="write {id, title, text} JSONL here")
    c.add_argument("--head", type=int, default=10, help="rows to show")
    c.add_argument("--progress", action="store_true")
    c.set_defaults(func=_cmd_clean)
    d = sub.add_parser(
        "demo",
        help="a small run on the bundled sample against the local emulator",
        description="Start the local emulator, then plan, clean, pack, validate, upload and "
        "run the bundled sample of real articles as a pilot job and the rest (three jobs, two "
        "at a time), collect and report. No AWS account needed.",
    )
    d.add_argument("--time-scale", type=float, default=0.05, help="seconds per job step")
    d.add_argument("--head", type=int, default=8, help="result rows to show")
    d.set_defaults(func=_cmd_demo)
    e = sub.add_parser(
        "emulator",
        help="run the local S3 + Bedrock batch emulator",
        description="Run the local emulator (S3 + the Bedrock batch control plane) on one "
        "loopback port until SIGINT or SIGTERM. The first line printed is "
        "'bedrock-batch emulator listening on http://127.0.0.1:PORT'.",
    )
    from .emulator._cli import add_arguments as emulator_arguments

    emulator_arguments(e)
    e.set_defaults(func=_cmd_emulator)
    from .run._cli import add_commands

    add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: 0 done, 1 records ended failed or missing (run commands), 2 usage or input
    errors (argparse's own usage errors are 2 too)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("bedrock-batch: interrupted", file=sys.stderr)
        return 130
    except (BedrockBatchError, OSError, TimeoutError) as e:
        print(f"bedrock-batch: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
