"""A run's plan: the records packed once, cut into shards (one job each) within the quotas,
validated and priced; what ``run.json`` records and what a resumed run is compared with."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _core
from ..distributed import job_sizes
from ..exceptions import InputError
from ..pack import Prompt, Quotas, Records, pack
from ..stream import StreamedRecords
from ..validate import ValidationReport, validate

PILOT = "pilot"


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def prompt_spec(prompt: Prompt) -> dict[str, Any]:
    return {
        "system": prompt.system,
        "user": prompt.user,
        "max_tokens": prompt.max_tokens,
        "temperature": prompt.temperature,
        "top_p": prompt.top_p,
        "stop_sequences": list(prompt.stop_sequences),
        "prefill": prompt.prefill,
    }


def quotas_spec(q: Quotas) -> dict[str, int]:
    return {
        "min_records_per_job": q.min_records_per_job,
        "max_records_per_job": q.max_records_per_job,
        "max_records_per_file": q.max_records_per_file,
        "max_bytes_per_file": q.max_bytes_per_file,
        "max_bytes_per_job": q.max_bytes_per_job,
        "max_concurrent_jobs": q.max_concurrent_jobs,
    }


@dataclass
class ShardPlan:
    """One shard: the records of one job (``shard`` is ``"pilot"`` or ``"s0001"``, ...)."""

    shard: str
    ids: list[str]
    files: list[dict[str, Any]]  # name, records, bytes, input_tokens, md5
    folder: Path | None = None  # the written job folder (plan time only)

    @property
    def records(self) -> int:
        return len(self.ids)

    @property
    def bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files)

    @property
    def input_tokens(self) -> int:
        return sum(int(f["input_tokens"]) for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {"shard": self.shard, "ids": self.ids, "files": self.files}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ShardPlan:
        return cls(str(d["shard"]), [str(i) for i in d["ids"]], [dict(f) for f in d["files"]])


@dataclass
class Plan:
    """What a run will send: shards, per-record token estimates, the validation report and the
    cost estimate. Built by ``Run.plan()``; nothing is uploaded."""

    name: str
    model: str
    invocation: str
    shards: list[ShardPlan]
    spec: dict[str, Any]  # prompt, clean, quotas, schema, pilot... (what must match on resume)
    estimate: dict[str, Any]
    validation: ValidationReport | None = None
    token_counts: list[int] = field(default_factory=list)
    _work: Path | None = None  # the folder holding the written shards

    @property
    def records(self) -> int:
        return sum(s.records for s in self.shards)

    @property
    def ids(self) -> list[str]:
        return [i for s in self.shards for i in s.ids]

    def digests(self) -> dict[str, str]:
        """What a resumed run must match, by what it means."""
        return {
            "ids": digest(self.ids),
            "prompt": digest(self.spec["prompt"], self.spec.get("clean"), self.spec.get("extra")),
            "model": digest(self.model, self.invocation),
            # The cap of concurrent jobs may change on resume: it does not change the shards.
            "quotas": digest(
                {k: v for k, v in self.spec["quotas"].items() if k != "max_concurrent_jobs"},
                self.spec.get("pilot"),
            ),
            "content": digest([[f["md5"] for f in s.files] for s in self.shards]),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "invocation": self.invocation,
            "spec": self.spec,
            "estimate": self.estimate,
            "digests": self.digests(),
            "records": self.records,
            "shards": [s.to_json() for s in self.shards],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Plan:
        return cls(
            name=str(d["name"]),
            model=str(d["model"]),
            invocation=str(d["invocation"]),
            shards=[ShardPlan.from_json(s) for s in d["shards"]],
            spec=dict(d["spec"]),
            estimate=dict(d.get("estimate") or {}),
        )

    def estimated_cost(self, on_demand: bool = True) -> float:
        """Dollars: every record in batch, plus (with ``on_demand``) the worst remainder on
        demand, one record short of the batch minimum. Input tokens are scaled by the
        calibration when ``plan()`` calibrated."""
        e = self.estimate
        factor = float(e.get("calibration", {}).get("factor", 1.0))
        pin, pout = e.get("price_input_per_mtok"), e.get("price_output_per_mtok")
        if pin is None or pout is None:
            return 0.0  # no price known: nothing to hold the budget to
        tin = float(e.get("input_tokens") or 0) * factor
        tout = float(e.get("output_tokens") or 0)
        on_demand_all = (tin * float(pin) + tout * float(pout)) / 1e6
        rest = 0.0
        if on_demand and self.records:
            low = int(self.spec["quotas"]["min_records_per_job"]) - 1
            rest = on_demand_all / self.records * min(low, self.records)
        return on_demand_all / 2 + rest

    def cost_words(self) -> str:
        e = self.estimate
        parts = [f"${float(e.get('batch_cost') or 0):,.2f} in batch at the heuristic's tokens"]
        cal = e.get("calibration")
        if cal:
            parts.append(f"input tokens x{cal['factor']:.3f} from CountTokens")
        parts.append("plus the worst remainder below the batch minimum on demand")
        return ", ".join(parts)

    def rows(self) -> list[dict[str, Any]]:
        """One row per shard: shard, records, bytes, input_tokens, files."""
        return [
            {
                "shard": s.shard,
                "records": s.records,
                "bytes": s.bytes,
                "input_tokens": s.input_tokens,
                "files": len(s.files),
            }
            for s in self.shards
        ]

    def plot_tokens(self, *, bins: int = 40) -> Any:
        """A histogram of the estimated input tokens per record (``[plot]``)."""
        from ..plot import plot_tokens

        return plot_tokens(self, bins=bins)

    def to_pandas(self) -> Any:
        """The shards as a pandas DataFrame (one row per job)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def _summary(self) -> list[str]:
        e = self.estimate
        lines = [
            f"Plan {self.name!r}: {self.records:,} records on {self.model} ({self.invocation}) "
            f"in {len(self.shards)} job(s)"
            + (" (the first a pilot)" if self.shards and self.shards[0].shard == PILOT else ""),
            f"~{e.get('input_tokens', 0):,} input tokens, "
            f"up to {e.get('output_tokens', 0):,} output",
        ]
        cal = e.get("calibration")
        if cal:
            lines.append(
                f"calibrated with CountTokens on {cal['sample']} records: "
                f"~{cal['input_tokens']:,} input tokens (the heuristic was off by "
                f"{cal['heuristic_error']:.1%} on the sample; a total's measured error "
                f"{cal['error']:.1%})"
            )
        if e.get("batch_cost") is not None:
            lines.append(
                f"estimated ${e['batch_cost']:,.2f} in batch "
                f"(${e['on_demand_cost']:,.2f} on demand)"
            )
        if self.validation is not None:
            v = self.validation
            lines.append(
                "validation: ok"
                if v.ok
                else f"validation: {v.error_count} error(s): see .validation"
            )
        return lines

    def __repr__(self) -> str:
        head = "\n".join(self._summary())
        body = "\n".join(
            f"  {r['shard']:<7} {r['records']:>7,} records {r['bytes'] / 1e6:>9.1f} MB "
            f"~{r['input_tokens']:>12,} tokens"
            for r in self.rows()
        )
        return f"{head}\n{body}"

    def _repr_html_(self) -> str:
        from ._display import html_table

        return html_table("<br>".join(self._summary()), self.rows())


def build(
    name: str,
    *,
    source: Any,
    prompt: Prompt,
    model: str,
    id_column: str | None,
    clean: Mapping[str, Any] | None,
    schema: Sequence[str] | Mapping[str, Any] | None,
    json_answers: bool,
    quotas: Quotas,
    pilot: int | None,
    pilot_min_success: float,
    invocation: str,
    family: str | None,
    extra: Mapping[str, Any] | None,
    output_tokens: int | None,
) -> Plan:
    """Packs the source, cuts the shards (pilot first), writes them to a temporary folder,
    validates them and prices them. A file or an Arrow stream is packed as it is written (one
    batch in memory at a time); a folder of job folders (``bb.distributed``'s, or
    ``Records.write``'s) is taken as it is, one shard a job, no pilot."""
    low = quotas.min_records_per_job
    folder = _shard_folder(source)
    root: Path | None = None
    if folder is not None:
        if pilot:
            raise InputError(
                f"{folder} holds shards already: a folder runs as its jobs, so pilot= does not "
                "apply (run the pilot's folder as a run of its own first)"
            )
        shards, report = _read_shards(folder, quotas, model, family)
        records = sum(s.records for s in shards)
        tokens = sum(int(f["input_tokens"]) for s in shards for f in s.files)
        est = _estimate(model, records, tokens, output_tokens or prompt.max_tokens)
        counts: list[int] = []
        kind = _invocation(prompt, model, invocation, family, extra)
    else:
        recs = pack(
            source,
            prompt=prompt,
            model=model,
            id_column=id_column,
            invocation=invocation,  # type: ignore[arg-type]
            clean=clean,
            family=family,
            extra=extra,
        )
        n = len(recs)
        if n < low:
            raise InputError(
                f"the source has {n} records; a batch job needs at least {low} (Quotas."
                "min_records_per_job): run so few records on demand instead"
            )
        root = Path(tempfile.mkdtemp(prefix="bb-run-"))
        try:
            if isinstance(recs, StreamedRecords):
                shards, counts = _write_streamed(root, recs, n, pilot, quotas)
                est = _estimate(model, n, sum(counts), output_tokens or prompt.max_tokens)
                kind = _invocation(prompt, model, invocation, family, extra)
            else:
                shards = _write(root, recs, recs.ids, n, low, pilot, quotas)
                est = dict(recs.estimate(output_tokens=output_tokens))
                counts = list(recs.token_counts())
                kind = recs.invocation
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)  # a failed plan leaves no copy of the corpus
            raise
        report = validate(root, model=model, quotas=quotas, family=family)
    spec = {
        "prompt": prompt_spec(prompt),
        "clean": json.loads(json.dumps(clean, default=str)) if clean else None,
        "extra": json.loads(json.dumps(extra, default=str)) if extra else None,
        "quotas": quotas_spec(quotas),
        "pilot": int(pilot) if pilot else None,
        "pilot_min_success": pilot_min_success,
        "schema": list(schema) if schema is not None and not isinstance(schema, Mapping) else None,
        "schema_types": {k: str(v) for k, v in schema.items()}
        if isinstance(schema, Mapping)
        else None,
        "json": json_answers,
        "id_column": id_column,
        "family": family,
    }
    plan = Plan(
        name=name,
        model=model,
        invocation=kind,
        shards=shards,
        spec=spec,
        estimate=est,
        validation=report,
        token_counts=counts,
        _work=root if root is not None else folder,
    )
    if root is not None:
        # The written shards go with the plan (they are uploaded from there by start()).
        weakref.finalize(plan, shutil.rmtree, root, ignore_errors=True)
    return plan


def _invocation(prompt: Prompt, model: str, invocation: str, family: str | None, extra: Any) -> str:
    """The API the records use, as ``pack`` resolves it (``auto`` by the model)."""
    one = pack(
        [{f: "" for f in prompt.fields} | {"id": "x"}],
        prompt=prompt,
        model=model,
        id_column="id",
        invocation=invocation,  # type: ignore[arg-type]
        family=family,
        extra=extra,
    )
    return str(one.invocation)


def _estimate(model: str, records: int, tokens: int, per_answer: int) -> dict[str, Any]:
    """What ``Records.estimate`` gives, from counts."""
    est = dict(_core.cost_estimate(model, records, tokens, records * per_answer))
    est.update({"records": records, "input_tokens": tokens, "output_tokens": records * per_answer})
    return est


def _shard_folder(source: Any) -> Path | None:
    """The folder when ``source`` is a folder of job folders; an error for a folder without."""
    if not isinstance(source, (str, os.PathLike)) or not Path(source).is_dir():
        return None
    folder = Path(source)
    if not any(p.is_dir() for p in folder.glob("job-*")):
        raise InputError(
            f"{folder} is a folder with no job folders (job-0001/, ...): give a file, a "
            "table or a folder of shards"
        )
    return folder


def _read_shards(
    folder: Path, quotas: Quotas, model: str, family: str | None
) -> tuple[list[ShardPlan], ValidationReport]:
    """One shard per job folder, as written: every line must be valid and carry a recordId."""
    report = validate(folder, model=model, quotas=quotas, family=family)
    report.raise_for_errors()
    shards: list[ShardPlan] = []
    jobs = sorted(p for p in folder.glob("job-*") if p.is_dir())
    for k, job in enumerate(jobs, 1):
        ids: list[str] = []
        files: list[dict[str, Any]] = []
        for f in sorted(job.glob("*.jsonl")):
            data = f.read_bytes()
            first = len(ids)
            for n, line in enumerate(data.splitlines(), 1):
                if not line.strip():
                    continue
                rid = json.loads(line).get("recordId")
                if not isinstance(rid, str) or not rid:
                    raise InputError(f"{f}:{n}: the record has no recordId, which a run needs")
                ids.append(rid)
            files.append(
                {
                    "name": f.name,
                    "records": len(ids) - first,
                    "bytes": len(data),
                    "input_tokens": validate(f, model=model, family=family).input_tokens,
                    "md5": hashlib.md5(data).hexdigest(),
                }
            )
        if ids:
            shards.append(ShardPlan(shard=f"s{k:04d}", ids=ids, files=files, folder=job))
    seen: set[str] = set()
    for s in shards:
        for i in s.ids:
            if i in seen:
                raise InputError(f"recordId {i!r} is in more than one shard file of {folder}")
            seen.add(i)
    return shards, report


def _write_streamed(
    root: Path, recs: StreamedRecords, n: int, pilot: int | None, quotas: Quotas
) -> tuple[list[ShardPlan], list[int]]:
    """Writes a streamed source in one pass: the pilot's jobs first, then the rest's."""
    low = quotas.min_records_per_job
    head = 0
    if pilot:
        head = max(int(pilot), low)
        if n - head < low:
            head = n  # what would be left is below the batch minimum: one job is the pilot
    sizes = (job_sizes(head, quotas) if head else []) + (
        job_sizes(n - head, quotas) if head < n else []
    )
    written, ids, counts = recs.write_jobs(root / "all", sizes, quotas)
    pilot_jobs = len(job_sizes(head, quotas)) if head else 0
    first = [s for s in written if s.job <= pilot_jobs]
    rest = [s for s in written if s.job > pilot_jobs]
    # The rest's shards count from s0001, as when the parts are written apart.
    shards = _shard_plans(PILOT, first, ids[:head]) + _shard_plans(
        "s", rest, ids[head:], first_job=pilot_jobs + 1
    )
    return shards, counts


def differences(stored: Mapping[str, str], fresh: Mapping[str, str]) -> list[str]:
    """What differs between a stored plan's digests and a fresh one's, in words."""
    words = {
        "ids": "the record ids (rows added, removed or reordered)",
        "prompt": "the prompt (templates, settings, clean or extra options)",
        "model": "the model or invocation type",
        "quotas": "the quotas or the pilot",
        "content": "the records' content (the source's text changed)",
    }
    return [words[k] for k in words if stored.get(k) != fresh.get(k)]


def _shard_plans(
    kind: str, written: Sequence[Any], ids: Sequence[str], first_job: int = 1
) -> list[ShardPlan]:
    """The shards of written job folders, ``ids`` being their records in order and
    ``first_job`` the number of their first job; a pilot too big for one job is several:
    pilot, pilot-2, ..."""
    shards: list[ShardPlan] = []
    at = 0
    by_job: dict[int, list[Any]] = {}
    for s in written:
        by_job.setdefault(s.job, []).append(s)
    for job, files in sorted(by_job.items()):
        count = sum(f.records for f in files)
        k = job - first_job + 1
        shard = f"s{k:04d}"
        if kind == PILOT:
            shard = PILOT if k == 1 else f"{PILOT}-{k}"
        shards.append(
            ShardPlan(
                shard=shard,
                ids=list(ids[at : at + count]),
                files=[
                    {
                        "name": f.path.name,
                        "records": f.records,
                        "bytes": f.bytes,
                        "input_tokens": f.input_tokens,
                        "md5": hashlib.md5(f.path.read_bytes()).hexdigest(),
                    }
                    for f in files
                ],
                folder=files[0].job_dir,
            )
        )
        at += count
    return shards


def _write(
    root: Path,
    recs: Records,
    ids: list[str],
    n: int,
    low: int,
    pilot: int | None,
    quotas: Quotas,
) -> list[ShardPlan]:
    """Writes the shards under ``root`` (the pilot's first)."""
    parts: list[tuple[str, Records, Path]] = []
    if pilot:
        size = max(int(pilot), low)
        if n - size < low:
            size = n  # what would be left is below the batch minimum: one job is the pilot
        head = recs.exclude(ids[size:])
        parts.append((PILOT, head, root / PILOT))
        rest = recs.exclude(ids[:size]) if size < n else None
    else:
        rest = recs
    if rest is not None:
        parts.append(("s", rest, root / "rest"))
    shards: list[ShardPlan] = []
    for kind, part, folder in parts:
        written = part.write(folder, quotas=quotas)
        shards.extend(_shard_plans(kind, written, part.ids))
    return shards
