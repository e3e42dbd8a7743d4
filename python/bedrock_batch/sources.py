"""Articles in: :func:`read_articles` reads Parquet, JSON Lines, CSV and WordPress exports (WXR)
as a stream of Arrow record batches that pyarrow, polars, DuckDB and :func:`bedrock_batch.pack`
read without copying.

WordPress exports are parsed in Rust (``bedrock_batch._core.read_wxr``) and need no pyarrow;
Parquet, JSON Lines and CSV are read by pyarrow (``pip install 'bedrock-batch[arrow]'``).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, Literal, Protocol, Union

from . import _core
from ._core import ArticleStream
from .exceptions import InputError, InputTypeError, NotFoundError

__all__ = ["ArrowStream", "ArticleStream", "Filter", "SourceFormat", "read_articles"]

SourceFormat = Literal["parquet", "jsonl", "csv", "tsv", "wxr"]

#: ``{column: value or values}``: rows whose column holds one of the values; "published" (a
#: WordPress export's published posts and pages; other formats are not filtered); "all" or None.
Filter = Union[Mapping[str, Union[str, Iterable[str]]], Literal["published", "all"], None]

#: Rows per record batch unless ``batch_size=`` says otherwise.
DEFAULT_BATCH_SIZE = 1024

_SUFFIXES: dict[str, SourceFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".xml": "wxr",
    ".wxr": "wxr",
}
_COMPRESSED = (".gz", ".bz2")


class ArrowStream(Protocol):
    """Any object with the Arrow PyCapsule stream interface."""

    def __arrow_c_stream__(self, requested_schema: object = None) -> object: ...


def read_articles(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filter: Filter = "published",
    batch_size: int = DEFAULT_BATCH_SIZE,
    format: SourceFormat | None = None,
) -> ArrowStream:
    """Reads articles from a file as a stream of Arrow record batches of at most
    ``batch_size`` rows, for ``pa.table()``, ``pa.RecordBatchReader.from_stream()``,
    ``pl.DataFrame()``/``pl.from_arrow()``, DuckDB or :func:`bedrock_batch.pack`. Memory holds
    one batch at a time, whatever the size of the file.

    The format comes from the name (``.parquet``/``.pq``, ``.jsonl``/``.ndjson``, ``.csv``,
    ``.tsv``, the last three optionally ``.gz``/``.bz2``; ``.xml``/``.wxr`` for a WordPress
    export) or ``format=``.

    - **WordPress export (WXR 1.0-1.2)**, read in Rust (no pyarrow needed), an
      :class:`ArticleStream`: one row per ``<item>`` with the columns ``id`` (``wp:post_id``),
      ``title``, ``content`` (``content:encoded``), ``excerpt`` (``excerpt:encoded``), ``date``
      (``wp:post_date_gmt``), ``status`` (``wp:status``), ``post_type`` (``wp:post_type``),
      ``link`` as ``large_string`` (null where the item lacks the field), and ``categories``,
      ``tags`` as ``list<large_string>`` (the texts of the item's ``<category
      domain="category"|"post_tag" nicename=...>``; empty lists when it has none). CDATA
      sections are joined, entities resolved. A malformed file raises :class:`InputError`
      naming the file, line and column.
    - **Parquet, JSON Lines, CSV/TSV**, read by pyarrow, a ``pyarrow.RecordBatchReader``. JSON
      keeps its types (the first ``batch_size`` lines set the columns and their types; a column
      null in all of them is read as text); CSV cells are all read as text (``007`` keeps its
      zeros; an empty cell is ``""``), quoted newlines included. A bad line raises
      :class:`InputError` naming the file and line.

    Args:
        columns: the columns to read, in this order (default: all). A column the file does not
            have raises :class:`InputError` naming the file's columns.
        filter: which rows to keep. ``"published"`` (the default): in a WordPress export,
            published posts and pages (``status == "publish"`` and ``post_type`` in ``post``,
            ``page``); other formats are not filtered. ``"all"`` or None: every row (in an
            export also attachments, menu items, drafts, revisions...). A dict
            ``{"status": ["publish", "private"], "post_type": "post"}`` keeps the rows whose
            column holds one of the values (compared as text; every entry must match).
        batch_size: the most rows in one record batch.
        format: ``"parquet"``, ``"jsonl"``, ``"csv"``, ``"tsv"`` or ``"wxr"``, when the name
            does not say it.

    The first batch is read before this returns, so a file that is bad near its start raises
    here. A problem found later surfaces where the stream is read: as :class:`InputError`
    from ``RecordBatchReader.read_all()``, iteration or ``pl.from_arrow()``, and as
    ``pyarrow.ArrowInvalid`` (also a ``ValueError``) from ``pa.table()``, with the same message.

    A stream can be read once; call ``read_articles`` again (or keep ``pa.table(stream)``) to
    read the file twice. In polars, ``pl.DataFrame(stream)`` gives the table; ``pl.from_arrow``
    gives a stream that is not pyarrow's as one struct Series (``.struct.unnest()``).
    """
    p = Path(os.fspath(path))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive number of rows, got {batch_size!r}")
    wanted = _column_list(columns)
    rules = _filter_rules(filter)
    fmt = _format_of(p, format)
    if fmt == "wxr":
        return _core.read_wxr(p, columns=wanted, filter=rules, batch_size=batch_size)
    if not p.exists():
        raise NotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a folder: read_articles reads one file")
    table_rules = rules if isinstance(rules, dict) else {}
    pa = _pyarrow(fmt)
    if fmt == "parquet":
        schema, batches = _parquet(pa, p, wanted, table_rules, batch_size)
    elif fmt == "jsonl":
        schema, batches = _jsonl(pa, p, wanted, table_rules, batch_size)
    else:
        schema, batches = _csv(
            pa, p, wanted, table_rules, batch_size, "\t" if fmt == "tsv" else ","
        )
    # Read the first batch now, so a file that is bad near its start raises here.
    first = next(batches, None)
    return pa.RecordBatchReader.from_batches(  # type: ignore[no-any-return]
        schema, batches if first is None else chain([first], batches)
    )


def _column_list(columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
        raise InputTypeError(f"columns must be a list of column names, got {columns!r}")
    out = list(columns)
    for c in out:
        if not isinstance(c, str):
            raise InputTypeError(f"columns must be names (str), got {c!r}")
    twice = [c for i, c in enumerate(out) if c in out[:i]]
    if twice:
        raise InputError(f"column {twice[0]!r} is named twice in columns")
    return out


def _filter_rules(filter: Filter) -> dict[str, list[str]] | str | None:
    """The filter as "published", "all", None or ``{column: [values]}``."""
    if filter is None:
        return None
    if isinstance(filter, str):
        if filter in ("published", "all"):
            return filter
        raise InputError(
            f'filter must be "published", "all", None or a dict of column to values, got {filter!r}'
        )
    if not isinstance(filter, Mapping):
        raise InputTypeError(
            'filter must be "published", "all", None or a dict of column to values, got '
            f"{type(filter).__name__}"
        )
    rules: dict[str, list[str]] = {}
    for column, values in filter.items():
        if not isinstance(column, str):
            raise InputTypeError(f"filter: column names must be str, got {column!r}")
        listed = [values] if isinstance(values, str) else values
        if not isinstance(listed, Iterable) or isinstance(listed, bytes):
            raise InputTypeError(f"filter[{column!r}] must be a str or a list of str")
        listed = list(listed)
        if not all(isinstance(v, str) for v in listed):
            raise InputTypeError(f"filter[{column!r}]: values must be str, got {listed!r}")
        rules[column] = listed
    return rules


def _format_of(p: Path, format: str | None) -> SourceFormat:
    if format is not None:
        if format not in ("parquet", "jsonl", "csv", "tsv", "wxr"):
            raise InputError(
                f'format must be "parquet", "jsonl", "csv", "tsv" or "wxr", got {format!r}'
            )
        return format  # type: ignore[return-value]
    name = p.name.lower()
    compressed = next((s for s in _COMPRESSED if name.endswith(s)), "")
    suffix = Path(name[: len(name) - len(compressed)]).suffix
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {p} from its name: pass format="
            '"parquet", "jsonl", "csv", "tsv" or "wxr"'
        )
    if compressed and fmt in ("parquet", "wxr"):
        raise InputError(
            f"{p}: a compressed {'WordPress export' if fmt == 'wxr' else 'Parquet file'} is not "
            f"read: decompress it first ({'gunzip' if compressed == '.gz' else 'bunzip2'} {p})"
        )
    return fmt


def _pyarrow(fmt: str) -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(
            f"reading {fmt} files needs pyarrow: pip install 'bedrock-batch[arrow]' "
            "(WordPress exports are read without it)"
        ) from None
    return pa


def _missing(p: Path, wanted: Iterable[str], names: list[str], what: str = "columns") -> None:
    for c in wanted:
        if c not in names:
            listed = ", ".join(names) if names else "(none: the file has no rows)"
            raise InputError(f"column {c!r} is not in {p}: its {what} are {listed}")


def _keep(pa: Any, batch: Any, rules: dict[str, list[str]], p: Path) -> Any:
    """The rows of ``batch`` that pass every rule (values compared as text)."""
    if not rules:
        return batch
    import pyarrow.compute as pc

    mask = None
    for column, values in rules.items():
        try:
            text = pc.cast(batch.column(column), pa.string())
        except pa.ArrowException as e:
            raise InputError(f"{p}: cannot filter on column {column!r}: {e}") from None
        m = pc.is_in(text, value_set=pa.array(values, pa.string()))
        mask = m if mask is None else pc.and_(mask, m)
    return batch.filter(mask)


def _slices(batch: Any, size: int) -> Iterator[Any]:
    for start in range(0, batch.num_rows, size):
        yield batch.slice(start, size)


# ---------------------------------------------------------------- Parquet


def _parquet(
    pa: Any, p: Path, wanted: list[str] | None, rules: dict[str, list[str]], batch_size: int
) -> tuple[Any, Iterator[Any]]:
    import pyarrow.parquet as pq

    try:
        # Without pre-buffering, which keeps every column chunk read so far in memory.
        pf = pq.ParquetFile(p, pre_buffer=False)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{p}: not a readable Parquet file ({e})") from None
    names = list(pf.schema_arrow.names)
    out = names if wanted is None else wanted
    try:
        _missing(p, out, names)
        _missing(p, rules, names)
    except InputError:
        pf.close()
        raise
    read = out + [c for c in rules if c not in out]
    schema = pa.schema([pf.schema_arrow.field(c) for c in out])

    def batches() -> Iterator[Any]:
        try:
            for b in pf.iter_batches(batch_size=batch_size, columns=read):
                yield _keep(pa, b, rules, p).select(out)
        except pa.ArrowException as e:
            raise InputError(f"{p}: {e}") from None
        finally:
            pf.close()

    return schema, batches()


# ---------------------------------------------------------------- JSON Lines


def _open_binary(p: Path) -> io.BufferedIOBase:
    name = p.name.lower()
    if name.endswith(".gz"):
        return gzip.open(p, "rb")
    if name.endswith(".bz2"):
        return bz2.open(p, "rb")
    return open(p, "rb")


def _not_utf8(p: Path, line_no: int, raw: bytes, e: UnicodeDecodeError) -> str:
    column = len(raw[: e.start].decode("utf-8", "replace")) + 1
    shown = raw[e.start : e.end].hex()
    return (
        f"{p}: line {line_no}, column {column}: bytes that are not UTF-8 (0x{shown}); "
        "convert the file to UTF-8"
    )


def _jsonl(
    pa: Any, p: Path, wanted: list[str] | None, rules: dict[str, list[str]], batch_size: int
) -> tuple[Any, Iterator[Any]]:
    """JSON Lines, ``batch_size`` lines at a time (each chunk one pyarrow parse, so a line is
    never cut by a block boundary and each chunk's first line number is known)."""
    import pyarrow.json as pj

    f = _open_binary(p)
    line_no = 0

    def chunk() -> list[tuple[int, bytes]]:
        nonlocal line_no
        lines: list[tuple[int, bytes]] = []
        for raw in f:
            line_no += 1
            if raw.strip():
                lines.append((line_no, raw if raw.endswith(b"\n") else raw + b"\n"))
                if len(lines) == batch_size:
                    break
        return lines

    def parse(lines: list[tuple[int, bytes]], options: Any) -> Any:
        data = b"".join(raw for _, raw in lines)
        read = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16))
        try:
            # pyarrow's JSON reader lets bytes that are not UTF-8 into its strings.
            data.decode("utf-8")
            table = pj.read_json(io.BytesIO(data), read_options=read, parse_options=options)
        except (UnicodeDecodeError, pa.ArrowInvalid) as e:
            raise InputError(_jsonl_problem(pa, p, lines, options) or f"{p}: {e}") from None
        return table.combine_chunks().to_batches(max_chunksize=batch_size)

    try:
        first = chunk()
        inferred = parse(first, pj.ParseOptions()) if first else []
        names = list(inferred[0].schema.names) if inferred else []
        out = names if wanted is None else wanted
        _missing(p, out, names, "columns (in its first lines)")
        _missing(p, rules, names, "columns (in its first lines)")
    except BaseException:
        f.close()
        raise
    read = out + [c for c in rules if c not in out]
    fields = {f.name: f for f in inferred[0].schema} if inferred else {}
    # A column null in every first line may hold text later.
    explicit = pa.schema(
        [
            fields[c].with_type(pa.string()) if pa.types.is_null(fields[c].type) else fields[c]
            for c in read
        ]
    )
    # Keys beyond the selected columns are left out when columns= is given; without it a key
    # the first lines lacked is an error naming its line, never silently dropped.
    options = pj.ParseOptions(
        explicit_schema=explicit,
        unexpected_field_behavior="ignore" if wanted is not None else "error",
    )
    schema = pa.schema([explicit.field(c) for c in out])

    def batches() -> Iterator[Any]:
        try:
            lines = first
            while lines:
                for b in parse(lines, options):
                    yield _keep(pa, b, rules, p).select(out)
                lines = chunk()
        finally:
            f.close()

    return schema, batches()


def _jsonl_problem(pa: Any, p: Path, lines: list[tuple[int, bytes]], options: Any) -> str | None:
    """The first bad line of a chunk pyarrow refused, with what is wrong with it."""
    import pyarrow.json as pj

    for no, raw in lines:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return _not_utf8(p, no, raw, e)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            return f"{p}: line {no}, column {e.colno}: not valid JSON: {e.msg}"
        if not isinstance(value, dict):
            return f"{p}: line {no}: a JSON object is expected, got {type(value).__name__}"
        try:
            pj.read_json(io.BytesIO(raw), parse_options=options)
        except pa.ArrowInvalid as e:
            hint = ""
            if "unexpected field" in str(e).lower():
                hint = " (the first lines set the columns: pass columns= to read some of them)"
            return f"{p}: line {no}: {e}{hint}"
    return None


# ---------------------------------------------------------------- CSV


def _csv(
    pa: Any,
    p: Path,
    wanted: list[str] | None,
    rules: dict[str, list[str]],
    batch_size: int,
    delimiter: str,
) -> tuple[Any, Iterator[Any]]:
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    read = pcsv.ReadOptions(block_size=1 << 22)

    def failed(e: Exception) -> InputError:
        return InputError(_csv_problem(p, delimiter) or f"{p}: {e}")

    try:
        header = pcsv.open_csv(p, read_options=read, parse_options=parse)
    except pa.ArrowInvalid as e:
        raise failed(e) from None
    names = list(header.schema.names)
    header.close()
    out = names if wanted is None else wanted
    _missing(p, out, names)
    _missing(p, rules, names)
    cols = out + [c for c in rules if c not in out]
    convert = pcsv.ConvertOptions(
        column_types={c: pa.string() for c in names},
        include_columns=cols,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pcsv.open_csv(p, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as e:
        raise failed(e) from None
    schema = pa.schema([reader.schema.field(c) for c in out])

    def batches() -> Iterator[Any]:
        try:
            while True:
                try:
                    b = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as e:
                    raise failed(e) from None
                yield from _slices(_keep(pa, b, rules, p).select(out), batch_size)
        finally:
            reader.close()

    return schema, batches()


class _BadBytes(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _csv_problem(p: Path, delimiter: str) -> str | None:
    """The first bad line of a CSV file pyarrow refused: bytes that are not UTF-8, or a row
    whose cells do not match the header's count (named by the line it starts on)."""
    with _open_binary(p) as f:
        line_no = 0

        def lines() -> Iterator[str]:
            nonlocal line_no
            for raw in f:
                line_no += 1
                try:
                    yield raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise _BadBytes(_not_utf8(p, line_no, raw, e)) from None

        width = None
        start = 1
        try:
            for record in csv.reader(lines(), delimiter=delimiter, strict=True):
                if record:
                    if width is None:
                        width = len(record)
                    elif len(record) != width:
                        return (
                            f"{p}: line {start}: {len(record)} cells where the header has "
                            f"{width}: {delimiter.join(record)[:80]!r}"
                        )
                start = line_no + 1
        except _BadBytes as e:
            return e.message
        except csv.Error as e:
            return f"{p}: line {start}: {e}"
    return None
