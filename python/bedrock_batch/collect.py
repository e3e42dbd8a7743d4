"""The collect stage: batch outputs into a table, every input record accounted for; and the cost
and throughput report."""

from __future__ import annotations

import datetime as _dt
import json as _json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from ._core import Records
from .exceptions import InputError, InputTypeError

__all__ = ["CostReport", "Results", "cost_report", "read_results"]

STATUSES = ("succeeded", "failed", "invalid_output", "missing")


def _input_ids(inputs: Any, id_column: str | None) -> Any:
    """The input ids: a list of str, or an Arrow column the core reads in place."""
    if isinstance(inputs, Records):
        return inputs.ids
    if isinstance(inputs, (str, os.PathLike)):
        path = Path(inputs)
        files = [path] if path.is_file() else sorted(path.rglob("*.jsonl"))
        if not files:
            raise InputError(f"inputs: no .jsonl files at {path}")
        ids: list[str] = []
        for f in files:
            with open(f, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        rid = _json.loads(line).get("recordId")
                    except (ValueError, AttributeError):
                        raise InputError(f"inputs: {f}:{n} is not a JSON object") from None
                    if rid is None:
                        raise InputError(f"inputs: {f}:{n} has no recordId to join on")
                    ids.append(str(rid))
        return ids
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(inputs, pd.DataFrame):
        col = id_column or next((c for c in ("recordId", "id") if c in inputs.columns), None)
        if col is None or col not in inputs.columns:
            raise InputError(f"inputs: no id column (looked for {id_column or 'recordId, id'})")
        if inputs[col].dtype != object:
            return inputs[col]  # Arrow-backed: the core reads the column in place
        return [str(x) for x in inputs[col].tolist()]
    table = _arrow_table(inputs)
    if table is not None:
        names = list(table.columns if hasattr(table, "height") else table.column_names)
        col = id_column or next((c for c in ("recordId", "id") if c in names), None)
        if col is None or col not in names:
            raise InputError(
                f"inputs: no id column (looked for {id_column or 'recordId, id'}; columns: "
                f"{', '.join(names)})"
            )
        return table[col]
    if hasattr(inputs, "__arrow_c_array__") or hasattr(inputs, "__arrow_c_stream__"):
        return inputs  # an Arrow column of ids
    if isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes)):
        return [str(x) for x in inputs]
    raise InputTypeError(
        "inputs must be Records, a path to input JSONL, a DataFrame with ids or a list of ids, "
        f"got {type(inputs).__name__}"
    )


def _arrow_table(obj: Any) -> Any:
    """A polars DataFrame or a pyarrow Table/RecordBatch (a RecordBatchReader read whole) as a
    table whose columns can be picked by name; None for anything else."""
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(obj, pl.DataFrame):
        return obj
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(obj, (pa.Table, pa.RecordBatch)):
        return obj
    if pa is not None and isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    return None


class Results:
    """Batch results: one row per record with ``status`` ``succeeded``, ``failed``,
    ``invalid_output`` or ``missing``; problems that are not rows are in ``problems``."""

    def __init__(self, core: Any) -> None:
        self._core = core

    def __len__(self) -> int:
        return len(self._core)

    def __repr__(self) -> str:
        s = self.summary()
        parts = ", ".join(f"{k}={s[k]}" for k in STATUSES)
        return f"Results({s['records']} records: {parts}; {s['problems']} problems)"

    def columns(self) -> dict[str, list[Any]]:
        """The table as a dict of lists."""
        return dict(self._core.columns())

    def to_pandas(self) -> Any:
        """A pandas DataFrame: recordId, status, text, schema fields, stop_reason, input_tokens,
        output_tokens (nullable integers), error_code, error_message, file, line.

        With pyarrow installed the columns are built as Arrow arrays in Rust and handed to
        pandas without a Python object per cell (text as pandas' ``str``)."""
        import pandas as pd

        try:
            import pyarrow as pa
        except ImportError:
            cols = self.columns()
            df = pd.DataFrame(cols)
            for c in ("input_tokens", "output_tokens"):
                df[c] = pd.array(cols[c], dtype="Int64")
            for c, values in cols.items():  # the types the Arrow path gives schema fields
                if c in ("line", "attempts", "input_tokens", "output_tokens"):
                    continue
                present = [v for v in values if v is not None]
                if present and all(type(v) is int for v in present):
                    df[c] = pd.array(values, dtype="Int64")
                elif present and all(type(v) is bool for v in present):
                    df[c] = pd.array(values, dtype="boolean")
            return df
        table = self._table()
        df = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        df["line"] = df["line"].astype("int64")
        if "attempts" in df:
            df["attempts"] = df["attempts"].astype("int64")
        if "embedding" in df:
            df["embedding"] = [None if v is None else v.tolist() for v in df["embedding"]]
        for field in table.schema:
            if field.metadata and b"bedrock_batch.json" in field.metadata:
                # Values of mixed or nested JSON types: Python objects, as columns() gives.
                df[field.name] = [
                    None if v is None or v != v else _json.loads(v) for v in df[field.name]
                ]
        return df

    def to_arrow(self) -> Any:
        """A pyarrow Table of the same columns (text as ``large_string``); schema fields of
        mixed or nested JSON values are JSON text (their field metadata says
        ``bedrock_batch.json``)."""
        return self._table()

    def _table(self) -> Any:
        import pyarrow as pa

        return pa.table(self._core.arrow_table())

    def to_polars(self) -> Any:
        """A polars DataFrame of the same columns, through the Arrow PyCapsule interface."""
        import polars as pl

        return pl.DataFrame(self)

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The table as an Arrow C stream (the PyCapsule interface): ``pl.DataFrame(res)``,
        ``pa.table(res)`` and ``duckdb.sql("select ... from res")`` read it directly."""
        return self._table().__arrow_c_stream__(requested_schema)

    def summary(self) -> dict[str, int]:
        """Counts by status, token totals and the number of problems."""
        return dict(self._core.summary())

    def plot_status(self) -> Any:
        """A figure of the records by status (``[plot]``)."""
        from .plot import plot_status

        return plot_status(self)

    def _repr_html_(self) -> str:
        import html

        s = self.summary()
        cells = "".join(
            f"<td>{s[k]:,}</td>" for k in ("records", *STATUSES, "input_tokens", "output_tokens")
        )
        head = "".join(
            f"<th>{k}</th>" for k in ("records", *STATUSES, "input tokens", "output tokens")
        )
        note = f"<p>{s['problems']} problem(s): see .problems</p>" if s["problems"] else ""
        table = f"<table><tr>{head}</tr><tr>{cells}</tr></table>"
        return f"<div><p>{html.escape(repr(self))}</p>{table}{note}</div>"

    def retry_ids(
        self, *, statuses: Sequence[str] = ("failed", "missing", "invalid_output")
    ) -> list[str]:
        """The recordIds to run again (pass to ``Records.exclude`` the others, or pick these)."""
        return list(self._core.retry_ids(list(statuses)))

    @property
    def problems(self) -> list[tuple[str, int, str | None, str]]:
        """(file, line, recordId, message) of everything that is not a row: unreadable lines
        without an id, duplicates, ids never input, manifest mismatches, missing manifests."""
        return list(self._core.problems)

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The job's ``manifest.json.out`` (every field kept); several jobs: their counts
        summed; none found: ``None``."""
        ms = [m for _, m in self._core.manifests]
        if not ms:
            return None
        if len(ms) == 1:
            return dict(ms[0])
        total: dict[str, Any] = {}
        for m in ms:
            for k, v in m.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    total[k] = total.get(k, 0) + v
        return total

    def join(self, df: Any, *, on: str = "id") -> Any:
        """Left join onto ``df`` by its ``on`` column: every input row kept, in its order,
        with status and output columns; rows with no output get status ``missing``. ``df`` is
        a pandas or polars DataFrame or a pyarrow Table, and the same kind comes back; result
        columns the table already has get a ``_result`` suffix."""
        pl = sys.modules.get("polars")
        if pl is not None and isinstance(df, pl.DataFrame):
            res = self.to_polars().drop(["file", "line"])
            res = res.rename({c: f"{c}_result" for c in res.columns if c in df.columns})
            rid = "recordId_result" if "recordId" in df.columns else "recordId"
            status = "status_result" if "status" in df.columns else "status"
            keyed = df.with_columns(pl.col(on).cast(pl.String).alias("_bb_key"))
            res = res.with_columns(pl.col(rid).cast(pl.String))
            joined = keyed.join(
                res, left_on="_bb_key", right_on=rid, how="left", maintain_order="left"
            )
            return joined.with_columns(pl.col(status).fill_null("missing")).drop("_bb_key")
        pa = sys.modules.get("pyarrow")
        if pa is not None and isinstance(df, pa.Table):
            import pyarrow.compute as pc

            res = self.to_arrow().drop_columns(["file", "line"])
            names = df.column_names
            res = res.rename_columns([f"{c}_result" if c in names else c for c in res.column_names])
            rid = "recordId_result" if "recordId" in names else "recordId"
            status = "status_result" if "status" in names else "status"
            keyed = df.append_column("_bb_key", pc.cast(df[on], pa.large_string()))
            keyed = keyed.append_column("_bb_row", pa.array(range(df.num_rows), pa.int64()))
            joined = keyed.join(res, keys="_bb_key", right_keys=rid, join_type="left outer")
            joined = joined.sort_by("_bb_row").drop_columns(["_bb_key", "_bb_row"])
            at = joined.schema.get_field_index(status)
            return joined.set_column(at, status, pc.fill_null(joined[status], "missing"))
        out = self.to_pandas().drop(columns=["file", "line"])
        # Result columns that the table already has get a "_result" suffix; the table's own
        # columns are never renamed or touched.
        out = out.rename(columns={c: f"{c}_result" for c in out.columns if c in df.columns})
        rid = "recordId_result" if "recordId" in df.columns else "recordId"
        status = "status_result" if "status" in df.columns else "status"
        key = df[on].astype(str)
        merged = df.assign(_bb_key=key.values).merge(
            out, how="left", left_on="_bb_key", right_on=rid
        )
        merged[status] = merged[status].fillna("missing")
        return merged.drop(columns=["_bb_key", rid])


def read_results(
    source: str | os.PathLike[str] | bytes,
    *,
    inputs: Any = None,
    json: bool = False,
    schema: Sequence[str] | Mapping[str, Any] | None = None,
    prefill: str | None = None,
    id_column: str | None = None,
    attempts: bool = False,
) -> Results:
    """Reads Bedrock batch outputs into :class:`Results`.

    Args:
        source: a ``.jsonl.out`` file, a folder (any depth: ``<jobId>/`` folders, several jobs,
            with their ``manifest.json.out``), or bytes.
        inputs: ``Records``, input JSONL files or folder, a DataFrame with ids, or a list of ids:
            then every input id appears exactly once, ids with no output are ``missing``, output
            ids never input and ids seen twice are reported in ``problems``.
        json: parse each answer as JSON (plain, in ```json fences, or with prose around it).
        schema: expected keys (``["title_en", "summary_ja"]`` or ``{"title_en": str}``); each
            becomes a column; an answer that is not JSON or lacks a key is ``invalid_output``.
        prefill: the Prompt's assistant prefill (e.g. ``"{"``), put back in front of the answer.
        attempts: the records were sent more than once (retries): a repeated recordId keeps
            its best outcome (succeeded, then invalid_output, then failed; the later line on a
            tie) and an ``attempts`` column counts its output lines, instead of a problem.
    """
    reserved = {
        "recordId",
        "status",
        "text",
        "stop_reason",
        "input_tokens",
        "output_tokens",
        "error_code",
        "error_message",
        "embedding",
        "json",
        "file",
        "line",
        "attempts",
        "job",
    }
    clash = [k for k in (schema or []) if k in reserved]
    if clash:
        raise InputError(
            f"schema key {clash[0]!r} is also a result column; rename it in the prompt"
        )
    ids = None if inputs is None else _input_ids(inputs, id_column)
    src = source if isinstance(source, bytes) else os.fspath(source)
    core = _core.read_results_core(
        src, inputs=ids, json=json, schema=schema, prefill=prefill, attempts=attempts
    )
    return Results(core)


@dataclass(frozen=True)
class CostReport:
    """Tokens, cost at batch and on-demand prices, the saving and the throughput of a run."""

    model: str
    records: int
    input_tokens: int
    output_tokens: int
    price_input_per_mtok: float | None
    price_output_per_mtok: float | None
    price_source: str | None
    on_demand_input_cost: float | None
    on_demand_output_cost: float | None
    on_demand_cost: float | None
    batch_cost: float | None
    saving: float | None
    minutes: float | None
    records_per_minute: float | None
    on_demand_rate: float | None
    speedup: float | None
    # A run's spending, separated: its batch jobs at batch prices and the records it sent on
    # demand at on-demand prices (None outside a run).
    batch_part: float | None = None
    on_demand_part: float | None = None
    on_demand_tokens: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def plot_cost(self) -> Any:
        """A figure of the cost in batch against the same tokens on demand (``[plot]``)."""
        from .plot import plot_cost

        return plot_cost(self)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def __str__(self) -> str:
        lines = [
            f"{self.records:,} records on {self.model}: {self.input_tokens:,} input and "
            f"{self.output_tokens:,} output tokens"
        ]
        if self.on_demand_cost is not None:
            lines.append(
                f"on demand ${self.on_demand_cost:,.2f} (${self.on_demand_input_cost:,.2f} input + "
                f"${self.on_demand_output_cost:,.2f} output) at ${self.price_input_per_mtok:.2f} / "
                f"${self.price_output_per_mtok:.2f} per million tokens"
            )
            lines.append(f"batch     ${self.batch_cost:,.2f} (saving ${self.saving:,.2f})")
        else:
            lines.append("no price known for this model: pass prices={'input': .., 'output': ..}")
        if self.batch_part is not None and self.on_demand_part is not None:
            od_in, od_out = self.on_demand_tokens or (0, 0)
            lines.append(
                f"spent     ${self.batch_part + self.on_demand_part:,.2f}: "
                f"${self.batch_part:,.2f} in batch jobs, ${self.on_demand_part:,.2f} on demand "
                f"({od_in:,} input and {od_out:,} output tokens)"
            )
        if self.records_per_minute is not None:
            tail = ""
            if self.speedup is not None:
                rate = f"{self.on_demand_rate:g}"
                tail = f", {self.speedup:.0f}x an on-demand rate of {rate} records/min"
            rpm = f"{self.records_per_minute:,.0f}"
            lines.append(f"throughput {rpm} records/min over {self.minutes:,.1f} min{tail}")
        return "\n".join(lines)


def _minutes(started: Any, finished: Any) -> float | None:
    if started is None or finished is None:
        return None
    if isinstance(started, (int, float)) and isinstance(finished, (int, float)):
        return (float(finished) - float(started)) / 60.0
    if isinstance(started, str):
        started = _dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    if isinstance(finished, str):
        finished = _dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
    return float((finished - started).total_seconds()) / 60.0


def cost_report(
    res_or_manifest: Results | Mapping[str, Any],
    *,
    model: str,
    prices: Mapping[str, float] | None = None,
    started: Any = None,
    finished: Any = None,
    minutes: float | None = None,
    on_demand_rate: float | None = None,
) -> CostReport:
    """Cost and throughput of a run, from :class:`Results` or a ``manifest.json.out`` dict.

    Tokens come from the manifest (``inputTokenCount``, ``outputTokenCount``) when there is one,
    else from the rows. ``prices={"input": .., "output": ..}`` are on-demand dollars per million
    tokens (default: the shipped table); batch is half. ``started``/``finished`` (datetimes, ISO
    strings or epoch seconds) or ``minutes`` give records per minute, and with
    ``on_demand_rate`` (records per minute on demand) the speed-up.
    """
    if isinstance(res_or_manifest, Results):
        manifest = res_or_manifest.manifest
        s = res_or_manifest.summary()
        records = s["succeeded"] + s["invalid_output"]
        tin, tout = s["input_tokens"], s["output_tokens"]
        if manifest and "inputTokenCount" in manifest:
            tin = int(manifest["inputTokenCount"])
            tout = int(manifest.get("outputTokenCount", tout))
            records = int(manifest.get("successRecordCount", records))
    elif isinstance(res_or_manifest, Mapping):
        m = res_or_manifest
        try:
            tin, tout = int(m["inputTokenCount"]), int(m["outputTokenCount"])
        except KeyError as e:
            raise InputError(f"the manifest has no {e.args[0]}") from None
        records = int(m.get("successRecordCount", m.get("processedRecordCount", 0)))
    else:
        raise InputTypeError(
            f"cost_report takes Results or a manifest dict, got {type(res_or_manifest).__name__}"
        )
    est = dict(_core.cost_estimate(model, records, tin, tout, prices=prices))
    pin, pout = est["price_input_per_mtok"], est["price_output_per_mtok"]
    mins = minutes if minutes is not None else _minutes(started, finished)
    rpm = records / mins if mins else None
    return CostReport(
        model=model,
        records=records,
        input_tokens=tin,
        output_tokens=tout,
        price_input_per_mtok=pin,
        price_output_per_mtok=pout,
        price_source=est["price_source"],
        on_demand_input_cost=None if pin is None else tin / 1e6 * pin,
        on_demand_output_cost=None if pout is None else tout / 1e6 * pout,
        on_demand_cost=est["on_demand_cost"],
        batch_cost=est["batch_cost"],
        saving=est["saving"],
        minutes=mins,
        records_per_minute=rpm,
        on_demand_rate=on_demand_rate,
        speedup=rpm / on_demand_rate if rpm and on_demand_rate else None,
    )
