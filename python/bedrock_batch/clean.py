"""The clean stage: HTML, WordPress and Markdown to the plain text a summariser should read."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, Callable, Literal

from . import _core
from .exceptions import InputTypeError

__all__ = ["Format", "clean", "clean_html", "clean_markdown", "detect_format"]

Format = Literal["auto", "html", "markdown", "text"]

clean_html = _core.clean_html
clean_markdown = _core.clean_markdown
detect_format = _core.detect_format

#: Below this many documents ``progress=True`` shows no bar: the call is over in a blink.
PROGRESS_MIN_DOCS = 1000


def _is_missing(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or (type(value).__name__ in ("NAType", "NaTType"))
    )


def _restore_missing(out: list[str | None], values: list[Any]) -> list[Any]:
    """Puts each input's own missing marker (None, NaN, pd.NA) back where the input had one."""
    return [v if o is None else o for o, v in zip(out, values)]


def _adapt(docs: object) -> tuple[list[Any], Callable[[list[str | None]], Any]]:
    """Turns any supported container into a list, and returns how to rebuild its kind."""
    if isinstance(docs, (str, bytes, bytearray)):
        raise InputTypeError(
            f"docs must be a collection of documents, not one {type(docs).__name__}; "
            "use clean_html() or clean_markdown() for a single document"
        )
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(docs, pd.Series):
        series = docs
        values = series.tolist()

        def to_series(out: list[str | None]) -> Any:
            dtype = series.dtype if isinstance(series.dtype, pd.StringDtype) else object
            return pd.Series(
                _restore_missing(out, values), index=series.index, name=series.name, dtype=dtype
            )

        return values, to_series
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(docs, (pa.Array, pa.ChunkedArray)):
        arrow = docs
        large = pa.types.is_large_string(arrow.type)
        typ = pa.large_string() if large else pa.string()

        def to_arrow(out: list[str | None]) -> Any:
            arr = pa.array(out, type=typ)
            return pa.chunked_array([arr], type=typ) if isinstance(arrow, pa.ChunkedArray) else arr

        return arrow.to_pylist(), to_arrow
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(docs, pl.Series):
        name = docs.name
        return docs.to_list(), lambda out: pl.Series(name, out, dtype=pl.String)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(docs, np.ndarray):
        if docs.ndim != 1:
            raise InputTypeError(f"docs must be a 1-D array, got {docs.ndim} dimensions")
        values = docs.tolist()

        def to_numpy(out: list[str | None]) -> Any:
            arr = np.empty(len(out), dtype=object)
            arr[:] = _restore_missing(out, values)
            return arr

        return values, to_numpy
    if isinstance(docs, Iterable):
        values = list(docs)
        return values, lambda out: _restore_missing(out, values)
    raise InputTypeError(
        f"docs must be a list, tuple, iterable, pandas/polars Series, pyarrow array or numpy "
        f"array of str, got {type(docs).__name__}"
    )


def clean(
    docs: Iterable[str | None] | Any,
    *,
    format: Format = "auto",
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> Any:
    """Cleans many documents in parallel, on every core, with the GIL released.

    Args:
        docs: a list, tuple or iterable of ``str | None``; a pandas Series (a Series with the same
            index and name comes back); a pyarrow Array/ChunkedArray (a pyarrow string array comes
            back); a polars Series; a 1-D numpy array (an object array comes back). Missing values
            (None, NaN, pd.NA) stay missing.
        format: ``"auto"`` decides per document; or ``"html"``, ``"markdown"``, ``"text"``.
        drop_code: drop code blocks (``<pre>``, WordPress code blocks, ``[code]``, fences).
        drop_images: drop images (no alt text, no URLs).
        keep_paragraphs: keep paragraph breaks as ``"\\n\\n"`` instead of one space.
        max_chars: truncate each result to this many code points, like ``s[:max_chars]``.
        threads: worker threads; ``None`` uses all cores, ``1`` runs on the calling thread.
        progress: show a tqdm progress bar for inputs of 1,000 documents or more.

    Raises:
        InputTypeError: an item that is not ``str`` or missing; the message names its position.
        InputError: a bad option value.
    """
    values, rebuild = _adapt(docs)
    bar = None
    if progress and len(values) >= PROGRESS_MIN_DOCS:
        try:
            from tqdm.auto import tqdm
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "progress=True needs tqdm: pip install 'bedrock-batch[progress]'"
            ) from e
        bar = tqdm(total=len(values), unit="doc", desc="clean")
    try:
        out = _core.clean_batch(
            values,
            format=format,
            drop_code=drop_code,
            drop_images=drop_images,
            keep_paragraphs=keep_paragraphs,
            max_chars=max_chars,
            threads=threads,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    return rebuild(out)
