"""Writes notebooks/quickstart.ipynb and notebooks/aws.ipynb from one list of cells, so that the
AWS notebook is the quickstart with only its setup cells (tagged ``setup``) changed, and
notebooks/smoke.ipynb. With ``--execute`` it runs the quickstart and the smoke notebook and keeps
their outputs (the AWS notebook is written without outputs: it needs an account).

    python scripts/make_notebooks.py --execute
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"

INTRO = """# bedrock-batch quickstart: a corpus of articles through Bedrock batch inference

The journey this library is for: a pile of technical blog posts (English and Japanese), an LLM
summary of each as JSON, at batch prices, with every record accounted for. This notebook runs
against the **local emulator** (S3 and the Bedrock batch API on loopback, started below), so it
needs no AWS account; `aws.ipynb` is the same notebook with a real client.
"""

SETUP_LOCAL = '''import bedrock_batch as bb

# The local emulator: S3 and Bedrock's batch control plane and runtime on one loopback port.
# Its jobs take a fraction of a second per step; 3% of records fail (throttling, 500s) and 2%
# of answers are not the JSON the prompt asks for, as real runs have.
emu = bb.emulator.start(time_scale=0.05, error_rate=0.03, invalid_json_rate=0.02, seed=7)
emu.create_bucket("my-bucket")
client = emu.client()
ROLE = emu.role_arn()
S3 = "s3://my-bucket/bedrock-batch/"
POLL = 0.2  # seconds between polls (60 on AWS)
NAME = "quickstart"'''

SETUP_AWS = """import bedrock_batch as bb

REGION = "us-east-1"
BUCKET = "my-bucket"  # an existing bucket in REGION
ROLE = "arn:aws:iam::123456789012:role/BedrockBatchRole"  # the role Bedrock assumes
S3 = f"s3://{BUCKET}/bedrock-batch/"
POLL = 60
NAME = "quickstart-aws"
client = bb.Client(region=REGION)  # the standard chain: environment, profile, SSO, role"""

PREFLIGHT_AWS = """# Before anything is uploaded: can we write, read, list and delete under the
# prefixes, and what the role and the caller need (attach these policies if a check fails).
import json

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
for check in client.preflight(role_arn=ROLE, input_uri=S3, output_uri=S3, model=MODEL):
    print(check)
account = ROLE.split(":")[4]
print(json.dumps(bb.iam.trust_policy(account_id=account, region=REGION), indent=1))
print(json.dumps(bb.iam.role_policy(input_uri=S3, output_uri=S3, model=MODEL, regions=[REGION],
                                    account_id=account), indent=1))
print(json.dumps(bb.iam.caller_policy(role_arn=ROLE), indent=1))"""

LOAD = """import pandas as pd

# The bundled sample: 40 real articles (licences in bedrock_batch/data/NOTICE.md), repeated to
# 2,400 rows with unique ids, as a CMS export would give them.
sample = pd.DataFrame(bb.sample_articles())
df = pd.concat(
    [sample.assign(id=sample["id"] + f"-{k:02d}") for k in range(60)], ignore_index=True
)
df[["id", "title", "lang", "format"]].head()"""

LOOK = """df["chars"] = df["content"].str.len()
df.groupby(["lang", "format"])["chars"].describe()[["count", "mean", "max"]]"""

CLEAN = """# What the model will read: HTML, WordPress shortcodes and Markdown cleaned to text.
one = df[df["format"] == "html"].iloc[0]
print("BEFORE:", one["content"][:400].replace("\\n", " "), "...\\n")
print("AFTER: ", bb.clean_html(one["content"])[:400])"""

PLAN = """MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
prompt = bb.Prompt(
    system="You summarise technical blog posts. Answer in JSON: "
    '{{"title_en": ..., "summary_ja": ..., "summary_en": ...}}',
    user="Title: {title}\\n\\nArticle:\\n{content}",
    max_tokens=600,
    prefill="{",
)
run = bb.Run(
    NAME,
    source=df,
    prompt=prompt,
    model=MODEL,
    s3=S3,
    role_arn=ROLE,
    id_column="id",
    clean={"content": {"max_chars": 20_000}},
    schema=["title_en", "summary_ja", "summary_en"],
    quotas=bb.Quotas(max_records_per_job=500, max_concurrent_jobs=3),
    pilot=200,  # one job first; the rest waits until 90% of its records succeed
    pilot_min_success=0.9,
    output_tokens=300,  # expected per record, for the estimate
    client=client,
    poll_interval=POLL,
)
plan = run.plan()  # the dry run: nothing is uploaded
plan"""

TOKENS = "plan.plot_tokens()"

RUN = """run.start()  # uploads the inputs and submits the pilot
run.wait()  # to the end: the rest as the cap frees, retries, the remainder on demand"""

STATUS = "run.status()"

RESULTS = """res = run.results()  # every input row exactly once
table = res.to_pandas()
table[["recordId", "status", "attempts", "job", "title_en", "summary_en"]].head()"""

PLOT_STATUS = "res.plot_status()"

BAD = """# Records that needed another try, and how each attempt went.
retried = table[table["attempts"] > 1]
print(f"{len(retried)} records needed more than one answer")
history = run.status(records=True).to_pandas()
history[history["recordId"].isin(retried["recordId"].head(3))]"""

JOIN = """# The results beside the source's columns.
joined = res.join(df, on="id")
joined[["id", "lang", "title", "status", "summary_en"]].head()"""

COST = """report = run.cost_report(on_demand_rate=11)  # 11 records/min: the on-demand rate measured
report"""

PLOT_COST = "report.plot_cost()"

TIMELINE = "run.plot_timeline()"

TEARDOWN = "emu.stop()"


def cells(aws: bool) -> list[nbformat.NotebookNode]:
    def setup(source: str) -> nbformat.NotebookNode:
        return new_code_cell(source, metadata={"tags": ["setup"]})

    out = [
        new_markdown_cell(
            INTRO
            if not aws
            else INTRO.replace(
                "This notebook runs\nagainst the **local emulator**",
                "This notebook runs\nagainst **your AWS account**",
            )
        )
    ]
    out.append(setup(SETUP_AWS if aws else SETUP_LOCAL))
    if aws:
        out.append(setup(PREFLIGHT_AWS))
    out += [
        new_markdown_cell("## Load the articles and look at them"),
        new_code_cell(LOAD),
        new_code_cell(LOOK),
        new_markdown_cell("## Clean"),
        new_code_cell(CLEAN),
        new_markdown_cell(
            "## Plan: shards, tokens, cost\n\nEstimated input tokens per record, and the cost at "
            "batch and on-demand prices. Nothing is uploaded yet."
        ),
        new_code_cell(PLAN),
        new_code_cell(TOKENS),
        new_markdown_cell(
            "## Run: a pilot job, then the rest\n\nThe pilot (200 records) goes first; the rest "
            "is submitted once it succeeds on 95% of its records, at most three jobs at a time. "
            "Records that failed go again in a round of retry jobs; what is left below the batch "
            "minimum goes on demand."
        ),
        new_code_cell(RUN),
        new_code_cell(STATUS),
        new_markdown_cell("## Results: one row per input record"),
        new_code_cell(RESULTS),
        new_code_cell(PLOT_STATUS),
        new_code_cell(BAD),
        new_code_cell(JOIN),
        new_markdown_cell("## Cost and time"),
        new_code_cell(COST),
        new_code_cell(PLOT_COST),
        new_code_cell(TIMELINE),
    ]
    if not aws:
        out.append(setup(TEARDOWN))
    return out


SMOKE = [
    new_markdown_cell("# Smoke test: sync calls and progress bars inside Jupyter's running loop"),
    new_code_cell(
        "import asyncio\n\nimport bedrock_batch as bb\n\nasyncio.get_running_loop()  # the kernel's"
    ),
    new_code_cell('bb.clean_html("<p>WordPress &amp; <b>Bedrock</b></p>")'),
    new_code_cell(
        "emu = bb.emulator.start(time_scale=0.02)\n"
        'emu.create_bucket("smoke")\n'
        'rows = [{"id": f"r{i}", "title": "t", "content": f"<p>本文 {i}</p>"}\n'
        "        for i in range(150)]\n"
        'run = bb.Run("smoke", source=rows, prompt=bb.Prompt(user="{title} {content}"),\n'
        '             model="us.anthropic.claude-haiku-4-5-20251001-v1:0", s3="s3://smoke/runs/",\n'
        "             role_arn=emu.role_arn(), client=emu.client(), poll_interval=0.1)\n"
        "run.start()\n"
        "run.wait()  # a sync call inside the running loop, with a tqdm.auto bar"
    ),
    new_code_cell("await run.wait_async(progress=False)\nrun.results()"),
    new_code_cell("emu.stop()"),
]


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NB)}}
    ).execute()
    return nb


def save_figures(nb: nbformat.NotebookNode, folder: Path) -> None:
    """The executed notebook's figures as PNG files (the README shows one)."""
    import base64

    folder.mkdir(exist_ok=True)
    names = iter(["tokens", "status", "cost", "timeline"])
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                (folder / f"{next(names)}.png").write_bytes(base64.b64decode(png))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--execute", action="store_true", help="run quickstart and smoke, keep outputs")
    a = ap.parse_args()
    NB.mkdir(exist_ok=True)
    quick = notebook(cells(aws=False))
    smoke = notebook(SMOKE)
    if a.execute:
        execute(quick)
        execute(smoke)
        save_figures(quick, NB / "figures")
    nbformat.write(quick, NB / "quickstart.ipynb")
    nbformat.write(smoke, NB / "smoke.ipynb")
    nbformat.write(notebook(cells(aws=True)), NB / "aws.ipynb")


if __name__ == "__main__":
    main()
