from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    """The shared corpus: $BEDROCK_BATCH_CORPUS, else ../shared/corpus beside the repository."""
    env = os.environ.get("BEDROCK_BATCH_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "articles.jsonl").exists():
        pytest.fail(f"the shared corpus is missing at {path}; set BEDROCK_BATCH_CORPUS")
    return path


@pytest.fixture(scope="session")
def articles(corpus: Path) -> list[dict[str, Any]]:
    with open(corpus / "articles.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
