"""The pack stage: a table to Bedrock batch records, sharded within the quotas."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from itertools import chain, repeat
from pathlib import Path
from typing import Any, Literal

from . import _core
from ._core import Prompt, Quotas, Records, Shard
from .exceptions import GeneratedIdsWarning, InputError, InputTypeError

__all__ = ["Prompt", "Quotas", "Records", "Shard", "model_info", "pack"]

model_info = _core.model_info

Invocation = Literal["auto", "invoke", "converse"]


class _Arrow:
    """An Arrow table (or stream) the core reads in place: ``source`` exports the PyCapsule
    interface; ``fields`` are the wanted columns it has."""

    __slots__ = ("fields", "source")

    def __init__(self, source: Any, fields: list[str]) -> None:
        self.source = source
        self.fields = fields


def _arrow_names(table: Any) -> list[str] | None:
    """The column names of an object with the Arrow PyCapsule interface, where it says them
    without being read (pyarrow, polars, pandas, DuckDB); None when it cannot."""
    for attr in ("column_names", "columns"):
        names: Any = getattr(table, attr, None)
        if names is not None and (
            isinstance(names, (list, tuple)) or type(names).__name__ == "Index"
        ):
            return [str(n) for n in names]
    schema = getattr(table, "schema", None)
    listed = getattr(schema, "names", None)
    return [str(n) for n in listed] if listed is not None else None


class _Rows:
    """A list of plain dicts, which the core reads in one pass; ``fields`` are the wanted keys
    some row has."""

    __slots__ = ("fields", "rows")

    def __init__(self, rows: list[dict[Any, Any]], fields: list[str]) -> None:
        self.rows = rows
        self.fields = fields


def _columns(
    table: Any, wanted: list[str]
) -> tuple[dict[str, list[Any]] | _Rows | _Arrow, int, list[str]]:
    """The wanted columns of any supported table (for a list of plain dicts, the rows and the
    wanted keys they have; for an Arrow table, the table and the wanted columns it has), its
    row count (0 when it is a stream read later) and all its column names."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(table, pd.DataFrame):
        names = [str(c) for c in table.columns]
        present = [c for c in dict.fromkeys(wanted) if c in names]
        if any(table[c].dtype != object for c in present):
            # Arrow-backed text (pandas 3's str, ArrowDtype): read in place.
            return _Arrow(table[present], present), len(table), names
        return {c: table[c].tolist() for c in present}, len(table), names
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(table, (pa.Table, pa.RecordBatch)):
        names = list(table.schema.names)
        present = [c for c in dict.fromkeys(wanted) if c in names]
        return _Arrow(table.select(present), present), table.num_rows, names
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(table, pl.DataFrame):
        names = list(table.columns)
        present = [c for c in dict.fromkeys(wanted) if c in names]
        return _Arrow(table.select(present), present), table.height, names
    if hasattr(table, "__arrow_c_stream__") or hasattr(table, "__arrow_c_array__"):
        # DuckDB, a pyarrow RecordBatchReader, nanoarrow: any Arrow stream.
        found = _arrow_names(table)
        if found is None:
            raise InputTypeError(
                f"cannot tell the columns of a {type(table).__name__} without reading it: pass "
                "a pyarrow Table, or read it with pyarrow.RecordBatchReader.from_stream() first"
            )
        present = [c for c in dict.fromkeys(wanted) if c in found]
        return _Arrow(table, present), 0, found
    if isinstance(table, (str, bytes)) or not isinstance(table, Iterable):
        raise InputTypeError(
            "table must be a pandas/polars DataFrame, a pyarrow Table, a list of dicts or an "
            f"iterable of rows (mappings), got {type(table).__name__}"
        )
    rows = list(table)
    plain = all(type(r) is dict for r in rows)
    if not plain:
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InputTypeError(
                    f"row {i}: expected a mapping (dict), got {type(row).__name__}"
                )
        names = _names(rows)
        return {c: [r.get(c) for r in rows] for c in wanted if c in names}, len(rows), names
    # Plain dicts: a wanted column is there when some row has the key (usually the first: one
    # C-level probe); every key of every row is gathered only when one is not (for the error).
    present = list(dict.fromkeys(c for c in wanted if any(map(dict.__contains__, rows, repeat(c)))))
    names = present if len(present) == len(set(wanted)) else _names(rows)
    return _Rows(rows, present), len(rows), names


def _names(rows: list[Any]) -> list[str]:
    """Every key of every row as text, in first-seen order (keys deduplicated before they are
    stringified, which keeps that order and hashes each distinct key once)."""
    return list(dict.fromkeys(map(str, dict.fromkeys(chain.from_iterable(rows)))))


def pack(
    table: Any,
    *,
    prompt: Prompt,
    model: str,
    id_column: str | None = "id",
    invocation: Invocation = "auto",
    clean: Mapping[str, str | Mapping[str, Any]] | None = None,
    family: str | None = None,
    missing: Literal["error", "empty"] = "error",
    extra: Mapping[str, Any] | None = None,
    stream: bool = False,
    total: int | None = None,
    batch_rows: int = 8192,
) -> Any:
    """Packs the rows of a table into Bedrock batch records (``{"recordId", "modelInput"}``).

    Args:
        table: a pandas or polars DataFrame, a pyarrow Table/RecordBatch/RecordBatchReader, any
            object with the Arrow PyCapsule interface (DuckDB), a list of dicts or an iterable
            of rows (mappings): packed now, a :class:`Records`. Or a file path (Parquet, JSONL,
            CSV, WordPress XML), or an Arrow stream with ``stream=True`` and ``total=``: a
            :class:`~bedrock_batch.stream.StreamedRecords` that reads and packs the source
            ``batch_rows`` rows at a time as it is written, in bounded memory.
        prompt: the :class:`Prompt`; its ``{column}`` placeholders are filled from each row.
        model: a model id, inference-profile id (``us.``, ``eu.``, ``apac.``, ``global.``) or
            ARN; it picks the request family (Claude, Nova, Titan embeddings, Llama).
        id_column: the column of recordIds (str or int; unique; 1-256 characters of
            ``A-Za-z0-9_-.:/``). ``None`` generates ``R0000000001``, ``R0000000002``, ... in
            row order; so does the default ``"id"`` when the table has no such column, with a
            :class:`~bedrock_batch.exceptions.GeneratedIdsWarning` (row-order ids do not join
            back after a rerun on a reordered or filtered table).
        invocation: ``"auto"``/``"invoke"`` writes the model's native body; ``"converse"`` the
            Converse API body (the job is then created with ``modelInvocationType="Converse"``).
        clean: columns to run through the clean stage first, in the same parallel pass:
            ``{"content": "html"}`` or ``{"content": {"format": "auto", "max_chars": 50000}}``.
        family: force the family (``"claude"``, ``"nova"``, ``"titan-embed"``, ``"llama3"``,
            ``"llama4"``), e.g. for an application inference profile.
        missing: a missing value (None/NaN) in a template column is an error naming its row
            (``"error"``), or an empty string (``"empty"``).
        extra: more ``modelInput`` members (``{"top_k": 50}``, ``{"dimensions": 512}``); under
            the Converse type they go to ``additionalModelRequestFields``.

    Raises:
        InputError: a missing column (named, with the table's columns), a missing value (row and
            column), duplicate or malformed ids (listed), an empty table, an unknown model (with
            the known families), settings the model rejects.
        InputTypeError: ids that are not str or int, rows that are not mappings.
    """
    if not isinstance(prompt, Prompt):
        raise InputTypeError(f"prompt must be a bedrock_batch.Prompt, got {type(prompt).__name__}")
    if isinstance(table, (str, os.PathLike)) and not Path(table).exists():
        suffix = Path(table).suffix.lower()
        if suffix in (".parquet", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".gz", ".bz2"):
            raise InputError(f"{table}: no such file")
        raise InputTypeError(
            "table must be a table (pandas, polars, pyarrow, a list of dicts) or the path of a "
            f"Parquet, JSONL, CSV or WordPress XML file, got the str {str(table)[:80]!r}"
        )
    if stream or isinstance(table, (str, os.PathLike)):
        from .stream import StreamedRecords

        options = {
            "prompt": prompt,
            "model": model,
            "id_column": id_column,
            "invocation": invocation,
            "clean": clean,
            "family": family,
            "missing": missing,
            "extra": extra,
        }
        return StreamedRecords(table, options=options, batch_rows=batch_rows, total=total)
    wanted = list(prompt.fields) + [c for c in (clean or {}) if c not in prompt.fields]
    probe = [*wanted, id_column] if id_column else wanted
    cols, rows, names = _columns(table, probe)
    have = cols.fields if isinstance(cols, (_Rows, _Arrow)) else list(cols)
    ids = None
    id_field = None
    if id_column is not None:
        if id_column not in have:
            if id_column != "id":
                raise InputError(
                    f"id_column {id_column!r} is not a column (columns: {', '.join(names)})"
                )
            warnings.warn(
                "the table has no 'id' column, so the records get ids from their row order "
                "(R0000000001, ...), which do not join back after a rerun on a reordered or "
                f"filtered table; pass id_column= one of its columns ({', '.join(names)}) "
                "that is unique per row, or id_column=None to accept row order",
                GeneratedIdsWarning,
                stacklevel=2,
            )
        elif isinstance(cols, (_Rows, _Arrow)):
            id_field = id_column
        else:
            ids = cols.pop(id_column) if id_column not in wanted else list(cols[id_column])
    missing_cols = [c for c in wanted if c not in have]
    if missing_cols:
        what = "the prompt uses" if missing_cols[0] in prompt.fields else "clean= names"
        raise InputError(
            f"{what} column {missing_cols[0]!r}, which the table does not have "
            f"(columns: {', '.join(names)})"
        )
    if isinstance(cols, _Rows):
        source: Any = cols.rows
        fields: list[str] | None = list(dict.fromkeys(wanted))
    elif isinstance(cols, _Arrow):
        source, fields = cols.source, list(dict.fromkeys(wanted))
    else:
        source, fields = cols, None
    return _core.pack_columns(
        source,
        rows,
        fields=fields,
        id_field=id_field,
        prompt=prompt,
        model=model,
        ids=ids,
        invocation=invocation,
        clean=dict(clean) if clean else None,
        family=family,
        missing=missing,
        extra=json.dumps(dict(extra), ensure_ascii=False) if extra else None,
    )
