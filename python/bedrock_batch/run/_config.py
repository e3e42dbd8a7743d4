"""``run.toml``: a run's settings for the command line, whose keys mirror ``bb.Run``'s, and the
source files it reads (JSONL, CSV, Parquet). Every error names the file, and the key or line."""

from __future__ import annotations

import csv
import difflib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # the tomli backport on 3.9 and 3.10
    import tomli as tomllib

EXAMPLE = """\
# bedrock-batch run settings: `bedrock-batch plan run.toml` (dry run), then
# `bedrock-batch run run.toml` (runs to the end; run it again after a crash to resume).

name = "wp-summaries-2026-12"            # 1-40 letters, digits, hyphens
s3 = "s3://my-bucket/bedrock-batch/"     # the run lives under <s3>/<name>/
model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# the role Bedrock assumes (bb.iam.role_policy says what it needs)
role_arn = "arn:aws:iam::123456789012:role/BedrockBatchRole"
# region = "us-east-1"                  # else the standard AWS chain
# profile = "data-team"
# endpoint_url = "http://127.0.0.1:4566" # the local emulator (bedrock-batch emulator)
schema = ["title_en", "summary_ja", "summary_en"]   # JSON keys read from each answer
pilot = 1000                             # the first 1000 records as a job of their own first
pilot_min_success = 0.95
# output_tokens = 400                    # expected per record, for the cost estimate
# poll_interval = 60
# timeout_hours = 72

[source]
path = "posts.jsonl"                     # .jsonl, .csv or .parquet, relative to this file
id_column = "id"

[prompt]
system = '''You summarise technical blog posts.
Answer in JSON: {{"title_en": ..., "summary_ja": ..., "summary_en": ...}}'''
user = "Title: {title}\\n\\nArticle:\\n{content}"
max_tokens = 1024
temperature = 0.1
prefill = "{"

[clean.content]                          # columns cleaned before they fill the prompt
format = "html"
max_chars = 50000

[quotas]
max_records_per_job = 50000
max_concurrent_jobs = 20

# [tags]
# team = "data"
"""

TOP = {
    "name": str,
    "s3": str,
    "model": str,
    "role_arn": str,
    "region": str,
    "profile": str,
    "endpoint_url": str,
    "schema": list,
    "json": bool,
    "pilot": int,
    "pilot_min_success": (int, float),
    "output_tokens": int,
    "poll_interval": (int, float),
    "timeout_hours": int,
    "invocation": str,
    "family": str,
    "kms_key": str,
    "cache_dir": str,
    "source": dict,
    "prompt": dict,
    "clean": dict,
    "quotas": dict,
    "tags": dict,
    "extra": dict,
}
SOURCE = {"path": str, "id_column": str}
PROMPT = {
    "system": str,
    "user": str,
    "max_tokens": int,
    "temperature": (int, float),
    "top_p": (int, float),
    "stop_sequences": list,
    "prefill": str,
}
QUOTAS = {
    "min_records_per_job": int,
    "max_records_per_job": int,
    "max_records_per_file": int,
    "max_bytes_per_file": int,
    "max_bytes_per_job": int,
    "max_concurrent_jobs": int,
}


def _check(where: str, table: Mapping[str, Any], allowed: Mapping[str, Any]) -> None:
    for key, value in table.items():
        if key not in allowed:
            near = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(allowed)})"
            raise InputError(f"{where}: unknown key {key!r}{hint}")
        want = allowed[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            raise InputError(f"{where}: {key} must be {names}, got {type(value).__name__}")


def load(path: str | Path) -> dict[str, Any]:
    """The TOML file, checked: unknown keys and wrong types name the file and key."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise InputError(f"{p}: no such file (bedrock-batch init writes an example)") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML: {e}") from None
    _check(str(p), doc, TOP)
    for key in ("name", "s3", "model"):
        if key not in doc:
            raise InputError(f"{p}: {key} is missing")
    _check(f"{p} [source]", doc.get("source", {}), SOURCE)
    _check(f"{p} [prompt]", doc.get("prompt", {}), PROMPT)
    _check(f"{p} [quotas]", doc.get("quotas", {}), QUOTAS)
    if "user" not in doc.get("prompt", {}):
        raise InputError(f"{p} [prompt]: user is missing (the template of each record's prompt)")
    doc["_path"] = p
    return doc


def read_source(path: Path) -> Any:
    """A source file as a table ``pack`` takes: JSONL and CSV as lists of dicts, Parquet as a
    pyarrow Table."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"source {path}: no such file")
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        with open(path, "rb") as fb:
            for n, raw in enumerate(fb, 1):
                try:
                    line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise InputError(
                        f"{path}:{n}: not UTF-8 (byte {e.start} is 0x{raw[e.start]:02x}); save "
                        "the file as UTF-8"
                    ) from None
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{n}: not JSON: {e.msg}") from None
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{n}: not a JSON object")
                rows.append(row)
        return rows
    if suffix == ".csv":
        csv.field_size_limit(1 << 30)
        try:
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.DictReader(f, strict=True)
                return list(reader)
        except UnicodeDecodeError as e:
            raise InputError(
                f"{path}: not UTF-8 (byte {e.start} of the text read is 0x{e.object[e.start]:02x}"
                "); save the file as UTF-8"
            ) from None
        except csv.Error as e:
            raise InputError(f"{path}:{reader.line_num}: not valid CSV: {e}") from None
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{path}: reading Parquet needs pyarrow (pip install 'bedrock-batch[arrow]')"
            ) from None
        return pq.read_table(path)
    raise InputError(f"source {path}: use a .jsonl, .csv or .parquet file")


def columns_of(source: Any) -> list[str]:
    if isinstance(source, list):
        return list(dict.fromkeys(k for r in source[:1000] for k in r))
    return list(source.schema.names)


def run_kwargs(doc: Mapping[str, Any], *, with_source: bool = True) -> dict[str, Any]:
    """``bb.Run`` arguments from a loaded file (the source read when ``with_source``)."""
    from ..aws import Client
    from ..pack import Prompt, Quotas

    p: Path = doc["_path"]
    src = doc.get("source", {})
    kw: dict[str, Any] = {
        "s3": doc["s3"],
        "model": doc["model"],
        "role_arn": doc.get("role_arn"),
        "id_column": src.get("id_column", "id"),
        "schema": doc.get("schema"),
        "json": doc.get("json", False),
        "pilot": doc.get("pilot"),
        "pilot_min_success": float(doc.get("pilot_min_success", 0.95)),
        "output_tokens": doc.get("output_tokens"),
        "poll_interval": float(doc.get("poll_interval", 60)),
        "timeout_hours": doc.get("timeout_hours"),
        "invocation": doc.get("invocation", "auto"),
        "family": doc.get("family"),
        "kms_key": doc.get("kms_key"),
        "tags": doc.get("tags"),
        "extra": doc.get("extra"),
        "clean": doc.get("clean"),
        "prompt": Prompt(**doc["prompt"]),
        "quotas": Quotas(**doc.get("quotas", {})),
        "client": Client(
            region=doc.get("region"),
            profile=doc.get("profile"),
            endpoint_url=doc.get("endpoint_url"),
        ),
    }
    if doc.get("cache_dir"):
        kw["cache_dir"] = (p.parent / doc["cache_dir"]).resolve()
    if with_source:
        if "path" not in src:
            raise InputError(f"{p} [source]: path is missing (the table of articles)")
        kw["source"] = read_source((p.parent / src["path"]).resolve())
    return kw
