"""The pack stage: a table to Bedrock batch records, sharded within the quotas."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from itertools import chain, repeat
from typing import Any, Literal

from . import _core
from ._core import Prompt, Quotas, Records, Shard
from .exceptions import InputError, InputTypeError

__all__ = ["Prompt", "Quotas", "Records", "Shard", "model_info", "pack"]

model_info = _core.model_info

Invocation = Literal["auto", "invoke", "converse"]


def _columns(table: Any, wanted: list[str]) -> tuple[dict[str, list[Any]], int, list[str]]:
    """The wanted columns of any supported table, its row count and all its column names."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(table, pd.DataFrame):
        names = [str(c) for c in table.columns]
        return {c: table[c].tolist() for c in wanted if c in names}, len(table), names
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(table, (pa.Table, pa.RecordBatch)):
        names = list(table.schema.names)
        cols = {c: table.column(c).to_pylist() for c in wanted if c in names}
        return cols, table.num_rows, names
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(table, pl.DataFrame):
        names = list(table.columns)
        return {c: table[c].to_list() for c in wanted if c in names}, table.height, names
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
    # Plain dicts, all in C: a wanted column is there when some row has the key (usually the
    # first); every key of every row is gathered only when one is not (for the error).
    present = [c for c in wanted if any(map(dict.__contains__, rows, repeat(c)))]
    cols = {c: list(map(dict.get, rows, repeat(c))) for c in present}
    names = present if len(present) == len(wanted) else _names(rows)
    return cols, len(rows), names


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
) -> Records:
    """Packs the rows of a table into Bedrock batch records (``{"recordId", "modelInput"}``).

    Args:
        table: a pandas or polars DataFrame, a pyarrow Table, a list of dicts or an iterable of
            rows (mappings).
        prompt: the :class:`Prompt`; its ``{column}`` placeholders are filled from each row.
        model: a model id, inference-profile id (``us.``, ``eu.``, ``apac.``, ``global.``) or
            ARN; it picks the request family (Claude, Nova, Titan embeddings, Llama).
        id_column: the column of recordIds (str or int; unique; 1-256 characters of
            ``A-Za-z0-9_-.:/``). ``None``, or the default ``"id"`` when the table has no such
            column, generates ``R0000000001``, ``R0000000002``, ... in row order.
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
    wanted = list(prompt.fields) + [c for c in (clean or {}) if c not in prompt.fields]
    probe = [*wanted, id_column] if id_column else wanted
    cols, rows, names = _columns(table, probe)
    ids = None
    if id_column is not None:
        if id_column in cols:
            ids = cols.pop(id_column) if id_column not in wanted else list(cols[id_column])
        elif id_column != "id":
            raise InputError(
                f"id_column {id_column!r} is not a column (columns: {', '.join(names)})"
            )
    missing_cols = [c for c in wanted if c not in cols]
    if missing_cols:
        what = "the prompt uses" if missing_cols[0] in prompt.fields else "clean= names"
        raise InputError(
            f"{what} column {missing_cols[0]!r}, which the table does not have "
            f"(columns: {', '.join(names)})"
        )
    return _core.pack_columns(
        cols,
        rows,
        prompt=prompt,
        model=model,
        ids=ids,
        invocation=invocation,
        clean=dict(clean) if clean else None,
        family=family,
        missing=missing,
        extra=json.dumps(dict(extra), ensure_ascii=False) if extra else None,
    )
