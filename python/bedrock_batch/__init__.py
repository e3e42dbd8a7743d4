"""bedrock-batch: Amazon Bedrock batch inference from a table of articles and back.

The stages: :func:`clean` (HTML, WordPress, Markdown to text, in parallel Rust), then pack,
validate, submit, monitor, collect and report as they land.
"""

from __future__ import annotations

from . import exceptions
from ._core import __version__
from .clean import clean, clean_html, clean_markdown, detect_format
from .exceptions import BedrockBatchError, InputError, InputTypeError, NotFoundError
from .sample import sample_articles

__all__ = [
    "BedrockBatchError",
    "InputError",
    "InputTypeError",
    "NotFoundError",
    "__version__",
    "clean",
    "clean_html",
    "clean_markdown",
    "detect_format",
    "exceptions",
    "sample_articles",
]
