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


def _arrow_kind(docs: object) -> Callable[[Any], Any] | None:
    """How to give an Arrow-backed column back as its own kind (the cleaned text comes as an
    Arrow ``large_string`` array), or None when ``docs`` is not read as Arrow: pyarrow arrays,
    polars Series, pandas Series of Arrow-backed strings (pandas 3's ``str``, ``ArrowDtype``),
    and any other object with ``__arrow_c_array__``/``__arrow_c_stream__`` (DuckDB, nanoarrow).
    A pandas ``object`` Series holds Python strings: it takes the list path."""
    if isinstance(docs, (list, tuple)) or not (
        hasattr(docs, "__arrow_c_array__") or hasattr(docs, "__arrow_c_stream__")
    ):
        return None
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(docs, pd.Series):
        if docs.dtype == object:
            return None
        series = docs
        import pyarrow as pa

        def to_series(out: Any) -> Any:
            arr = pa.array(out)
            if isinstance(series.dtype, pd.StringDtype):
                return pd.Series(arr, index=series.index, name=series.name, dtype=series.dtype)
            return pd.Series(
                pd.arrays.ArrowExtensionArray(arr), index=series.index, name=series.name
            )

        return to_series
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(docs, (pa.Array, pa.ChunkedArray)):
        typ = docs.type
        chunked = isinstance(docs, pa.ChunkedArray)

        def to_arrow(out: Any) -> Any:
            arr = pa.array(out)
            if typ != arr.type and (pa.types.is_string(typ) or pa.types.is_string_view(typ)):
                arr = arr.cast(typ)  # the same string type back
            return pa.chunked_array([arr], type=arr.type) if chunked else arr

        return to_arrow
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(docs, pl.Series):
        name = docs.name
        return lambda out: pl.Series(out).alias(name)
    if pa is not None:
        return lambda out: pa.array(out)
    return lambda out: out  # an object with __arrow_c_array__: any Arrow library reads it


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


def _bar(progress: bool, size: int) -> Any:
    if not progress or size < PROGRESS_MIN_DOCS:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install 'bedrock-batch[progress]'") from e
    return tqdm(total=size, unit="doc", desc="clean")


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
            index, name and dtype comes back); a pyarrow Array/ChunkedArray (the same string
            type back); a polars Series; any object with the Arrow PyCapsule interface (DuckDB,
            nanoarrow; an Arrow array back); a 1-D numpy array (an object array comes back).
            Arrow-backed columns (pyarrow, polars, pandas ``str``/``ArrowDtype``) are read in
            place, without a Python object per cell. Missing values (None, NaN, pd.NA, Arrow
            nulls) stay missing.
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
    if isinstance(docs, (str, bytes, bytearray)):
        raise InputTypeError(
            f"docs must be a collection of documents, not one {type(docs).__name__}; "
            "use clean_html() or clean_markdown() for a single document"
        )
    back = _arrow_kind(docs)
    if back is not None:
        # Arrow in, Arrow out: the text is read in place, no Python object per cell.
        size = len(docs) if hasattr(docs, "__len__") else 0  # type: ignore[arg-type]
        bar = _bar(progress, size)
        try:
            out = _core.clean_arrow(
                docs,
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
        return back(out)
    values, rebuild = _adapt(docs)
    bar = _bar(progress, len(values))
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
