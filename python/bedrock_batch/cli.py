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


DEMO_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DEMO_SYSTEM = (
    "あなたは技術ブログの要約専門家です。記事から日本語と英語の要約を生成し、"
    'JSON形式で出力してください: {{"title_en": ..., "summary_ja": ..., "summary_en": ...}}'
)


def _cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from .aws import FINAL_STATES
    from .collect import cost_report
    from .emulator import start
    from .pack import Prompt, pack
    from .validate import validate

    out = sys.stdout
    with start(time_scale=args.time_scale, error_rate=0.02) as emu:
        out.write(f"local emulator (S3 + Bedrock batch) on {emu.endpoint_url}\n")
        bucket = "bedrock-batch-demo"
        emu.create_bucket(bucket)
        client = emu.client()
        articles = sample_articles()
        # Bedrock needs at least 100 records per job: the 40 sample posts, three times over.
        rows = [
            {"id": f"{a['id']}-{k}", "title": a["title"], "content": a["content"]}
            for k in range(3)
            for a in articles
        ]
        prompt = Prompt(
            system=DEMO_SYSTEM,
            user="タイトル: {title}\n\n記事:\n{content}",
            max_tokens=1024,
            prefill="{",
        )
        recs = pack(rows, prompt=prompt, model=DEMO_MODEL, clean={"content": {"max_chars": 20000}})
        est = recs.estimate(output_tokens=300)
        out.write(
            f"packed {len(recs)} records (~{est['input_tokens']:,} input tokens); estimated "
            f"${est['batch_cost']:.4f} in batch vs ${est['on_demand_cost']:.4f} on demand\n"
        )
        work = Path(tempfile.mkdtemp(prefix="bb-demo-"))
        shards = recs.write(work / "batch")
        validate(work / "batch", model=DEMO_MODEL).raise_for_errors()
        out.write(f"wrote and validated {len(shards)} file(s) in {work / 'batch'}\n")
        job = client.submit(
            shards,
            model=DEMO_MODEL,
            role_arn=emu.role_arn(),
            input_uri=f"s3://{bucket}/input/demo/",
            output_uri=f"s3://{bucket}/output/",
            name="demo-summaries",
            records=recs,
        )
        out.write(f"submitted {job.arn}\n")
        job.wait(poll_interval=args.time_scale, timeout=120, progress=True)
        assert job.status in FINAL_STATES
        out.write(f"job {job.status}: {job.counts}\n\n")
        res = job.results(
            work / "out", schema=["title_en", "summary_ja", "summary_en"], prefill="{"
        )
        df = res.columns()
        out.write(f"{'recordId':<14} {'status':<10} {'title_en':<32} summary_ja\n")
        for i in range(min(args.head, len(df["recordId"]))):
            title = str(df["title_en"][i] or "")[:30]
            ja = str(df["summary_ja"][i] or df["error_message"][i] or "")[:30]
            out.write(f"{df['recordId'][i]:<14} {df['status'][i]:<10} {title:<32} {ja}\n")
        out.write(f"\n{res.summary()}\n\n")
        started, finished = job.info.get("submit_time"), job.info.get("end_time")
        report = cost_report(
            res, model=DEMO_MODEL, started=started, finished=finished, on_demand_rate=11
        )
        out.write(str(report) + "\n")
        out.write("(throughput here is the emulator's compressed time, not Bedrock's)\n")
    return 0


def _cmd_emulator(args: argparse.Namespace) -> int:
    import time

    from .emulator import start

    emu = start(port=args.port, time_scale=args.time_scale, error_rate=args.error_rate)
    print(f"bedrock-batch emulator (S3 + Bedrock batch control plane) on {emu.endpoint_url}")
    print("point any AWS SDK at it with:")
    for k, v in emu.env().items():
        print(f"  export {k}={v}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


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
        help="the whole pipeline on the bundled sample against the local emulator",
        description="Start the local emulator, then clean, pack, validate, upload, submit, "
        "wait, collect and report on the bundled sample of real articles. No AWS account needed.",
    )
    d.add_argument("--time-scale", type=float, default=0.05, help="seconds per job step")
    d.add_argument("--head", type=int, default=8, help="result rows to show")
    d.set_defaults(func=_cmd_demo)
    e = sub.add_parser("emulator", help="run the local S3 + Bedrock batch emulator")
    e.add_argument("--port", type=int, default=4566)
    e.add_argument("--time-scale", type=float, default=1.0, help="seconds per job step")
    e.add_argument("--error-rate", type=float, default=0.0, help="fraction of records that fail")
    e.set_defaults(func=_cmd_emulator)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (BedrockBatchError, OSError) as e:
        print(f"bedrock-batch: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
