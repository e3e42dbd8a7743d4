"""The compiled core of bedrock-batch (Rust). Use the functions re-exported by ``bedrock_batch``."""

from collections.abc import Callable, Iterable
from typing import Literal

__all__ = ["__version__", "clean_batch", "clean_html", "clean_markdown", "detect_format"]

__version__: str

def clean_html(
    html: str | bytes,
    /,
    *,
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
) -> str:
    """Cleans one HTML document (WordPress ``post_content`` or a whole page) to plain text.

    ``bytes`` are decoded from a BOM or the ``<meta charset>`` the page declares, else as UTF-8
    with replacement characters. Never raises on document content.
    """

def clean_markdown(
    md: str,
    /,
    *,
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
) -> str:
    """Cleans one Markdown document (CommonMark, GFM, Jekyll/Hugo front matter, Zenn, MDX)."""

def detect_format(doc: str) -> Literal["html", "markdown", "text"]:
    """Guesses a document's format: "html", "markdown" or "text"."""

def clean_batch(
    docs: Iterable[object],
    /,
    *,
    format: str = "auto",
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[str | None]:
    """Cleans a batch of documents in parallel with the GIL released. Missing values stay ``None``.

    ``progress``, when given, is called with the number of documents finished after each chunk.
    """
