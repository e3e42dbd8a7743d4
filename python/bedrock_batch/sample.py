"""The bundled sample of real, permissively licensed articles (see ``data/NOTICE.md``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["sample_articles"]


def sample_articles() -> list[dict[str, Any]]:
    """Returns the bundled sample: 40 real posts (Japanese and English Markdown, WordPress HTML).

    Each record has ``id``, ``title``, ``content``, ``format`` (``"html"`` or ``"markdown"``),
    ``lang`` and ``source`` (``repository@commit:path``). Sources and licences are in
    ``bedrock_batch/data/NOTICE.md``.
    """
    data = resources.files("bedrock_batch").joinpath("data/sample.jsonl")
    with data.open("r", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
