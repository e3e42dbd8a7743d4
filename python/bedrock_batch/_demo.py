"""``bedrock-batch demo``: a small run on the bundled sample against the local emulator (a pilot
job, then the rest within a cap of two jobs at a time), from plan to cost report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

DEMO_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DEMO_SYSTEM = (
    "あなたは技術ブログの要約専門家です。記事から日本語と英語の要約を生成し、"
    'JSON形式で出力してください: {{"title_en": ..., "summary_ja": ..., "summary_en": ...}}'
)
SCHEMA = ["title_en", "summary_ja", "summary_en"]


def demo(out: TextIO, *, time_scale: float = 0.05, head: int = 8, progress: bool = True) -> int:
    from .emulator import start
    from .pack import Prompt, Quotas
    from .run import Run
    from .sample import sample_articles

    with start(time_scale=time_scale, error_rate=0.02) as emu:
        out.write(f"local emulator (S3 + Bedrock batch) on {emu.endpoint_url}\n")
        bucket = "bedrock-batch-demo"
        emu.create_bucket(bucket)
        articles = sample_articles()
        # Bedrock needs at least 100 records a job: the 40 sample posts, eight times over.
        rows = [
            {"id": f"{a['id']}-{k}", "title": a["title"], "content": a["content"]}
            for k in range(8)
            for a in articles
        ]
        run = Run(
            "demo-summaries",
            source=rows,
            prompt=Prompt(
                system=DEMO_SYSTEM,
                user="タイトル: {title}\n\n記事:\n{content}",
                max_tokens=1024,
                prefill="{",
            ),
            model=DEMO_MODEL,
            s3=f"s3://{bucket}/runs/",
            role_arn=emu.role_arn(),
            clean={"content": {"max_chars": 20_000}},
            schema=SCHEMA,
            quotas=Quotas(max_records_per_job=110, max_concurrent_jobs=2),
            pilot=100,
            pilot_min_success=0.9,  # 2% of the emulator's records fail at the first try
            output_tokens=300,
            client=emu.client(),
            poll_interval=time_scale,
            cache_dir=Path(tempfile.mkdtemp(prefix="bb-demo-")),
        )
        out.write(repr(run.plan()) + "\n\n")
        run.start()
        out.write("started: the pilot job first; the rest follows once it succeeds\n")
        run.wait(progress=progress, timeout=300)
        out.write(repr(run.status()) + "\n\n")
        res = run.results()
        cols = res.columns()
        out.write(f"{'recordId':<14} {'status':<10} {'title_en':<32} summary_ja\n")
        for i in range(min(head, len(res))):
            title = str(cols["title_en"][i] or "")[:30]
            ja = str(cols["summary_ja"][i] or cols["error_message"][i] or "")[:30]
            out.write(f"{cols['recordId'][i]:<14} {cols['status'][i]:<10} {title:<32} {ja}\n")
        s = res.summary()
        out.write(
            f"\n{s['records']} records: {s['succeeded']} succeeded, {s['failed']} failed, "
            f"{s['invalid_output']} invalid output, {s['missing']} missing\n\n"
        )
        out.write(str(run.cost_report(on_demand_rate=11)) + "\n")
        out.write("(throughput here is the emulator's compressed time, not Bedrock's)\n")
    return 0
