"""bedrock-batch: Amazon Bedrock batch inference from a table of articles and back.

The stages: :func:`read_articles` (Parquet, JSON Lines, CSV and WordPress exports as Arrow
record batches), :func:`clean` (HTML, WordPress, Markdown to text, in parallel Rust), :func:`pack`
(rows to batch records) with :meth:`Records.write` (shards within the quotas), :func:`validate`;
:class:`Client` and :class:`Job` (submit, monitor, stop, download), :func:`read_results` and
:func:`cost_report`; :class:`Run` takes a whole corpus through as many jobs as it needs,
resumable after a crash; :mod:`bedrock_batch.emulator` runs all of it offline.
"""

from __future__ import annotations

from . import distributed, emulator, exceptions, iam
from ._core import __version__
from .aws import Check, Client, Job
from .clean import clean, clean_html, clean_markdown, detect_format
from .collect import CostReport, Results, cost_report, read_results
from .exceptions import (
    BedrockBatchError,
    InputError,
    InputTypeError,
    NotFoundError,
    ValidationError,
)
from .pack import Prompt, Quotas, Records, Shard, model_info, pack
from .run import Plan, Run, RunResults, RunStatus
from .sample import sample_articles
from .sources import ArticleStream, read_articles
from .validate import Problem, ValidationReport, validate

__all__ = [
    "ArticleStream",
    "BedrockBatchError",
    "Check",
    "Client",
    "CostReport",
    "InputError",
    "InputTypeError",
    "Job",
    "NotFoundError",
    "Plan",
    "Problem",
    "Prompt",
    "Quotas",
    "Records",
    "Results",
    "Run",
    "RunResults",
    "RunStatus",
    "Shard",
    "ValidationError",
    "ValidationReport",
    "__version__",
    "clean",
    "clean_html",
    "clean_markdown",
    "cost_report",
    "detect_format",
    "distributed",
    "emulator",
    "exceptions",
    "iam",
    "model_info",
    "pack",
    "read_articles",
    "read_results",
    "sample_articles",
    "validate",
]
