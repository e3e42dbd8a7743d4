"""A run: one corpus, one prompt, one model, as many batch jobs as it takes, and one table.

    run = bb.Run("wp-summaries-2026-12", source=df, prompt=prompt, model=MODEL,
                 s3="s3://bucket/bedrock-batch/", role_arn=ROLE, schema=[...], pilot=1000)
    run.plan()     # dry run: shards, tokens, validation, cost; nothing uploaded
    run.start()    # upload the inputs, submit what the cap allows; returns at once
    run.wait()     # drive to the end: submit as the cap frees, collect as jobs finish
    run.results()  # every input row once

The run lives under ``<s3>/<name>/`` (``run.json``, ``state.json``, ``lease.json``, ``inputs/``,
``outputs/``): any process can open it with :meth:`Run.open`, and one drives it at a time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import secrets
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .. import _core
from ..aws import FINAL_STATES, Client
from ..collect import CostReport, Results, cost_report
from ..exceptions import (
    BudgetExceededError,
    InputError,
    LeaseHeldError,
    NotFoundError,
    RunMismatchError,
)
from ..pack import Prompt, Quotas
from ._display import html_table
from ._drive import Driver, Options, default_cache, new_state
from ._plan import Plan, build, differences
from ._store import FORMAT, Lease, Store

__all__ = ["Plan", "Run", "RunResults", "RunStatus"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end from sync code, also inside a running event loop (Jupyter),
    where it runs on a daemon thread with a loop of its own. Interrupting the caller (Ctrl-C,
    a notebook's interrupt) cancels the coroutine there and waits for its cleanup (a run
    releases its lease) before the ``KeyboardInterrupt`` goes on."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    loop = asyncio.new_event_loop()
    task: concurrent.futures.Future[T] = concurrent.futures.Future()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            work = loop.create_task(coro)
            task.set_running_or_notify_cancel()
            setattr(task, "_bb_task", work)  # noqa: B010 - read by the interrupt below
            try:
                task.set_result(loop.run_until_complete(work))
            except BaseException as e:  # the caller re-raises it
                task.set_exception(e)
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="bb-run", daemon=True)
    thread.start()
    try:
        while True:  # woken often, so that an interrupt is seen at once
            with contextlib.suppress(concurrent.futures.TimeoutError):
                return task.result(timeout=0.1)
    except KeyboardInterrupt:
        work = getattr(task, "_bb_task", None)
        if work is not None:
            loop.call_soon_threadsafe(work.cancel)
        thread.join(timeout=30)
        raise


def _split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/base/name/`` to (``s3://bucket/base/``, ``name``)."""
    if not uri.startswith("s3://"):
        raise InputError(f"{uri!r} is not an S3 URI (s3://bucket/prefix/name/)")
    body = uri[5:].rstrip("/")
    base, _, name = body.rpartition("/")
    if not base or not name:
        raise InputError(f"{uri!r} names no run (s3://bucket/prefix/name/)")
    return f"s3://{base}/", name


def _check_name(name: str) -> str:
    ok = (
        0 < len(name) <= 40
        and name[0].isalnum()
        and all(c.isascii() and (c.isalnum() or c == "-") for c in name)
    )
    if not ok:
        raise InputError(
            f"run name {name!r}: use 1-40 ASCII letters, digits and hyphens, starting with a "
            "letter or digit (it names the S3 folder and every job)"
        )
    return name


class RunStatus:
    """The jobs of a run: one row per shard (job name, ARN, state, record counts, tokens,
    cost), with the run's totals; ``to_pandas()`` for a DataFrame."""

    def __init__(self, name: str, rows: list[dict[str, Any]], totals: dict[str, Any]) -> None:
        self.name = name
        self.rows = rows
        self.totals = totals

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows)

    def _head(self) -> str:
        t = self.totals
        states = ", ".join(f"{n} {s}" for s, n in sorted(t["states"].items()))
        return (
            f"Run {self.name!r}: {t['processed']:,} of {t['records']:,} records processed; "
            f"jobs: {states}"
        )

    def __repr__(self) -> str:
        lines = [self._head()]
        for r in self.rows:
            lines.append(
                f"  {r['shard']:<7} {r['state']!s:<19} {r['processed'] or 0:>7,}/"
                f"{r['records']:<7,} ok {r['succeeded'] if r['succeeded'] is not None else '-'}"
                f"  {r['job_name'] or ''}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return html_table(self._head(), self.rows)


class RunResults(Results):
    """:class:`~bedrock_batch.Results` of a whole run: each record's best outcome over its
    attempts, with ``attempts`` and ``job`` (the job of that outcome, ``on-demand``, or empty
    for a record never answered) columns; a record that will not be sent again says why in
    ``error_message``."""

    def __init__(self, core: Any, jobs: dict[str, str], reasons: dict[str, str]) -> None:
        super().__init__(core)
        self._jobs = jobs  # output folder name -> job name
        self._reasons = reasons

    def _job(self, file: str | None) -> str | None:
        if not file:
            return None
        return self._jobs.get(Path(file).parent.name)

    def columns(self) -> dict[str, list[Any]]:
        cols = super().columns()
        out: dict[str, list[Any]] = {}
        for k, v in cols.items():
            out[k] = v
            if k == "attempts":
                out["job"] = [self._job(f) for f in cols["file"]]
        for i, (rid, st) in enumerate(zip(cols["recordId"], cols["status"])):
            if st != "succeeded" and rid in self._reasons:
                out["error_message"][i] = self._reasons[rid]
        return out

    def _table(self) -> Any:
        import pyarrow as pa

        t = super()._table()
        jobs = pa.array([self._job(f) for f in t.column("file").to_pylist()], pa.large_string())
        t = t.add_column(t.schema.get_field_index("attempts") + 1, "job", jobs)
        if self._reasons:
            ids = t.column("recordId").to_pylist()
            status = t.column("status").to_pylist()
            messages = t.column("error_message").to_pylist()
            for i, (rid, st) in enumerate(zip(ids, status)):
                if st != "succeeded" and rid in self._reasons:
                    messages[i] = self._reasons[rid]
            at = t.schema.get_field_index("error_message")
            t = t.set_column(at, "error_message", pa.array(messages, pa.large_string()))
        return t


class Run:
    """One corpus through as many Bedrock batch jobs as it takes, resumable after any crash.

    Args:
        name: 1-40 letters, digits and hyphens; the run lives under ``<s3>/<name>/``.
        source: the table to pack (anything :func:`~bedrock_batch.pack` takes); a file
            (Parquet, JSONL, CSV, WordPress XML) or an Arrow stream, packed as it is written,
            one batch in memory at a time (needs ``id_column``); or a folder of job folders
            (``bb.distributed``'s shards), run as they are, one job a folder, no pilot. Without
            it the run must exist already (as with :meth:`open`).
        prompt, model, id_column, clean, invocation, family, extra: as for ``pack``.
        s3: the S3 prefix that holds runs (``s3://bucket/bedrock-batch/``).
        role_arn: the job role Bedrock assumes (``bb.iam.role_policy`` says what it needs).
        schema, json: what ``results()`` reads from each answer (as ``read_results``).
        quotas: job sizes and the cap of submitted + in-progress jobs of the model.
        pilot: send the first ``pilot`` records (at least the batch minimum) as a job of their
            own first; the rest waits until it completes with at least ``pilot_min_success``
            of its records succeeded.
        client: a :class:`~bedrock_batch.Client` (default: ``Client()``, the standard chain).
        output_tokens: expected output tokens per record for the cost estimate (default: the
            prompt's ``max_tokens``, an upper bound).
        timeout_hours, tags, kms_key: for each job.
        poll_interval: seconds between passes while waiting.
        cache_dir: where outputs are downloaded (default: the user's cache folder).
        retries: rounds of new jobs for the records that ended ``failed``, ``missing`` or
            ``invalid_output`` with an error a retry can change (throttling, 5xx, a missing
            answer, JSON that did not parse); validation errors are not sent again.
        retry_max_tokens: answers cut at ``max_tokens`` are sent again with this limit (else
            they are reported, not retried).
        on_demand: what is left below the batch minimum (100 records) goes through the runtime
            API (Converse or InvokeModel with the record's own body), ``on_demand_concurrency``
            calls at a time; ``False``: those records end ``missing`` with the reason.
        max_cost: dollars. ``plan()``/``start()`` raise ``BudgetExceededError`` when the
            estimate is above it; during the run no job or on-demand call starts once spent +
            committed + its estimate would pass it (the run pauses; resume with a higher one).
        deadline: a datetime, or seconds from now: when the time left is less than what the
            rest would take on demand (at ``on_demand_rate`` records per minute), running jobs
            are stopped and the remainder goes on demand.
        stall_timeout: seconds a job may go without processing a record before it is stopped
            and its remainder sent again (default 6 hours).
        calibrate: count the exact input tokens of a sample of ``calibration_sample`` records
            with Bedrock's CountTokens at ``plan()`` and scale the estimate to them.
    """

    def __init__(
        self,
        name: str,
        *,
        s3: str,
        source: Any = None,
        prompt: Prompt | None = None,
        model: str | None = None,
        role_arn: str | None = None,
        id_column: str | None = "id",
        clean: Mapping[str, Any] | None = None,
        schema: Sequence[str] | Mapping[str, Any] | None = None,
        json: bool = False,
        quotas: Quotas | None = None,
        pilot: int | None = None,
        pilot_min_success: float = 0.95,
        client: Client | None = None,
        invocation: str = "auto",
        family: str | None = None,
        extra: Mapping[str, Any] | None = None,
        output_tokens: int | None = None,
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key: str | None = None,
        poll_interval: float = 60.0,
        cache_dir: str | Path | None = None,
        retries: int = 2,
        retry_max_tokens: int | None = None,
        on_demand: bool = True,
        on_demand_concurrency: int = 4,
        on_demand_rate: float | None = None,
        max_cost: float | None = None,
        deadline: Any = None,
        stall_timeout: float = 6 * 3600.0,
        calibrate: bool = False,
        calibration_sample: int = 200,
    ) -> None:
        self.name = _check_name(name)
        self.options = Options(
            retries=int(retries),
            retry_max_tokens=retry_max_tokens,
            on_demand=bool(on_demand),
            on_demand_concurrency=int(on_demand_concurrency),
            on_demand_rate=on_demand_rate,
            max_cost=max_cost,
            deadline=_deadline(deadline),
            stall_timeout=float(stall_timeout),
        )
        self._calibrate = (calibrate, int(calibration_sample))
        if not s3.startswith("s3://"):
            raise InputError(f"s3={s3!r} is not an S3 URI (s3://bucket/prefix/)")
        self.prefix = s3.rstrip("/") + "/" + name + "/"
        self.client = client if client is not None else Client()
        self._core = self.client._core
        self._store = Store(self._core, self.prefix)
        self.poll_interval = poll_interval
        self.cache = Path(cache_dir) if cache_dir is not None else default_cache(self.prefix)
        self._args = {
            "source": source,
            "prompt": prompt,
            "model": model,
            "id_column": id_column,
            "clean": clean,
            "schema": schema,
            "json_answers": json,
            "quotas": quotas or Quotas(),
            "pilot": pilot,
            "pilot_min_success": pilot_min_success,
            "invocation": invocation,
            "family": family,
            "extra": extra,
            "output_tokens": output_tokens,
        }
        self._job = {
            "role_arn": role_arn,
            "timeout_hours": timeout_hours,
            "tags": dict(tags or {}),
            "kms_key": kms_key,
        }
        self._plan: Plan | None = None
        self._meta: dict[str, Any] | None = None
        if source is not None and (prompt is None or model is None):
            raise InputError("a Run with a source needs prompt= and model=")
        existing = run_sync(self._store.get("run.json"))
        if existing is not None:
            self._meta = existing[0]
            if self._meta.get("format") != FORMAT:
                raise InputError(
                    f"{self.prefix}run.json is format {self._meta.get('format')!r}; this "
                    f"version reads {FORMAT!r}"
                )
            if source is not None:
                self._check_matches(self.plan())
        elif source is None:
            raise NotFoundError(
                f"no run named {name!r} under {s3} (no {self.prefix}run.json), and no source= "
                "to plan one"
            )

    @classmethod
    def open(
        cls,
        uri: str,
        *,
        client: Client | None = None,
        cache_dir: str | Path | None = None,
        poll_interval: float = 60.0,
    ) -> Run:
        """The run at ``s3://bucket/prefix/<name>/``, from anywhere: status, results, stop,
        and driving it on (its inputs are in S3 already)."""
        base, name = _split_uri(uri)
        return cls(name, s3=base, client=client, cache_dir=cache_dir, poll_interval=poll_interval)

    def __repr__(self) -> str:
        return f"Run({self.name!r}, s3={self.prefix!r})"

    # --- plan ------------------------------------------------------------------------------

    def plan(self) -> Plan:
        """The dry run: packs, shards, validates and prices the source. Writes nothing to S3."""
        if self._plan is not None:
            return self._plan
        a = self._args
        if a["source"] is None:
            assert self._meta is not None
            self._plan = Plan.from_json(self._meta["plan"])
            return self._plan
        plan = build(self.name, **a)
        if self._calibrate[0] and not plan.token_counts:
            raise InputError("calibrate=True needs the records' token counts: a source to pack")
        if self._calibrate[0]:
            from ._calibrate import calibrate

            run_sync(calibrate(plan, self._core, sample=self._calibrate[1]))
        self._plan = plan
        self._check_budget(plan)
        return plan

    def _check_budget(self, plan: Plan) -> None:
        """``BudgetExceededError`` when the estimate is over ``max_cost`` (nothing uploaded)."""
        cap = self.options.max_cost
        if cap is None:
            return
        total = plan.estimated_cost(self.options.on_demand)
        if total > cap:
            raise BudgetExceededError(
                f"run {self.name!r} is estimated at ${total:,.2f} ({plan.cost_words()}), above "
                f"max_cost=${cap:,.2f}: nothing was uploaded or submitted"
            )

    def _check_matches(self, plan: Plan) -> None:
        assert self._meta is not None
        diff = differences(self._meta["plan"].get("digests", {}), plan.digests())
        if diff:
            raise RunMismatchError(
                f"a run named {self.name!r} already exists under {self.prefix} with another "
                f"plan: {'; '.join(diff)} differ. Use a new name to start a new run, or the "
                "same source, prompt, model and quotas to go on with this one"
            )

    # --- driving ---------------------------------------------------------------------------

    async def _open_driver(self, lease: Lease) -> Driver:
        """Creates the run's objects on first use (uploading the inputs), else reads them."""
        if self._meta is None:
            # Another process may have started the run since this object was made: look again
            # under the lease, before anything is uploaded over its inputs.
            got = await self._store.get("run.json")
            if got is not None:
                self._meta = got[0]
                self._check_matches(self.plan())
        if self._meta is None:
            plan = self.plan()
            if plan.validation is not None and not plan.validation.ok:
                plan.validation.raise_for_errors()
            if not self._job["role_arn"]:
                raise InputError("starting a run needs role_arn= (the role Bedrock assumes)")
            meta: dict[str, Any] = {
                "format": FORMAT,
                "name": self.name,
                "run_id": secrets.token_hex(3),
                "created": time.time(),
                "prefix": self.prefix,
                "input_prefix": self.prefix + "inputs/",
                "output_prefix": self.prefix + "outputs/",
                **self._job,
                "plan": plan.to_json(),
            }
            await self._upload_inputs(plan, meta["input_prefix"])
            if await self._store.create("run.json", meta) is None:
                got = await self._store.get("run.json")
                assert got is not None
                meta = got[0]
                self._meta = meta
                self._check_matches(plan)
            self._meta = meta
        plan = self.plan()
        got = await self._store.get("state.json")
        if got is None:
            state = new_state(plan)
            etag = await self._store.create("state.json", state)
            if etag is None:
                got = await self._store.get("state.json")
                assert got is not None
                state, etag = got
        else:
            state, etag = got
        return self._driver(state, etag)

    def _driver(self, state: dict[str, Any], etag: str) -> Driver:
        assert self._meta is not None
        return Driver(
            core=self._core,
            client=self.client,
            store=self._store,
            meta=self._meta,
            plan=self.plan(),
            state=state,
            etag=etag,
            cache=self.cache / str(self._meta["run_id"]),
            options=self.options,
        )

    async def _upload_inputs(self, plan: Plan, input_prefix: str) -> None:
        """Each shard's files under ``inputs/<shard>/``; stale objects there are removed first
        (Bedrock reads every file under a job's prefix)."""
        for s in plan.shards:
            assert s.folder is not None
            uri = f"{input_prefix}{s.shard}/"
            names = {f["name"] for f in s.files}
            for key, _ in await self._core.list_async(uri):
                if key.rsplit("/", 1)[-1] not in names:
                    bucket = uri[5:].split("/", 1)[0]
                    await self._core.delete_object_async(f"s3://{bucket}/{key}")
            await self._core.upload_async(str(s.folder), uri)

    async def _drive(
        self,
        *,
        until_done: bool,
        progress: bool = False,
        timeout: float | None = None,
        before: Any = None,
        clear_stop: bool = False,
    ) -> Driver:
        """Holds the lease (renewed in the background) while passes run: one pass, or passes
        every ``poll_interval`` until the run is done."""
        lease = Lease(self._store, self.name)
        await lease.acquire()
        beat = asyncio.ensure_future(lease.keep())
        bar = None
        try:
            if clear_stop:
                await self._store.delete("stop.json")  # start() goes on after a stop()
            driver = await self._open_driver(lease)
            if driver.state.get("paused"):
                driver.state["paused"] = None  # resumed: the budget is checked again
                driver.dirty = True
            if before is not None:
                before(driver)
                driver.dirty = True
            cap = int(driver.plan.spec["quotas"]["max_concurrent_jobs"])
            deadline = None if timeout is None else time.monotonic() + timeout
            if progress:
                bar = _bar(driver)
            while True:
                lease.check(beat)
                done = await driver.step(cap)
                if bar is not None:
                    _tick(bar, driver)
                if done or not until_done:
                    return driver
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"run {self.name!r} is not done after {timeout} s")
                wait = self.poll_interval
                if driver.hold_until > time.monotonic():
                    wait = min(wait, max(0.05, driver.hold_until - time.monotonic()))
                await asyncio.sleep(wait)
        finally:
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat  # a renewal in flight ends before the lease is released
            if bar is not None:
                bar.close()
            await lease.release()

    async def start_async(self) -> None:
        """Uploads the inputs and submits what the cap allows (a pilot first), then returns.
        A run that exists is resumed, never started twice (a stopped one goes on)."""

        def resume(d: Driver) -> None:
            d.state["stopped"] = False

        if self._meta is None:
            self._check_budget(self.plan())  # before anything is uploaded
        await self._drive(until_done=False, before=resume, clear_stop=True)

    def start(self) -> None:
        run_sync(self.start_async())

    async def wait_async(self, *, progress: bool = True, timeout: float | None = None) -> Run:
        """Drives the run to its end: submits as the cap frees, collects jobs as they finish,
        sends what failed again and the remainder on demand. Raises ``PilotFailedError`` when
        the pilot's success rate is too low, ``BudgetExceededError`` when the run pauses at
        ``max_cost``."""
        await self._drive(until_done=True, progress=progress, timeout=timeout)
        return self

    def wait(self, *, progress: bool = True, timeout: float | None = None) -> Run:
        return run_sync(self.wait_async(progress=progress, timeout=timeout))

    async def stop_async(self) -> None:
        """Stops every active job of the run; finished records are kept. No more jobs are
        submitted until ``start()`` is called again. Works while another process drives the
        run: that process sees ``stop.json`` on its next pass and stops submitting."""
        await self._store.put("stop.json", {"requested": time.time()})
        d = self._driver(await self._read_state(), "")
        await d.refresh()
        await d.stop_active()
        with contextlib.suppress(LeaseHeldError):
            await self._drive(until_done=False)

    def stop(self) -> None:
        run_sync(self.stop_async())

    async def approve_pilot_async(self) -> None:
        """Lets the rest of the run go on after a pilot below ``pilot_min_success``."""

        def approve(d: Driver) -> None:
            d.state["pilot"]["approved"] = True

        await self._drive(until_done=False, before=approve)

    def approve_pilot(self) -> None:
        run_sync(self.approve_pilot_async())

    # --- reading (no lease needed) --------------------------------------------------------

    async def _read_state(self) -> dict[str, Any]:
        if self._meta is None:
            got = await self._store.get("run.json")
            if got is None:
                raise NotFoundError(f"run {self.name!r} has not started (no {self.prefix}run.json)")
            self._meta = got[0]
        state = await self._store.get("state.json")
        return state[0] if state else new_state(self.plan())

    async def status_async(self, *, records: bool = False) -> RunStatus:
        """One row per job attempt: shard, attempt, job, state, record counts, tokens, cost.
        With ``records=True``, one row per record and attempt instead: its history (job,
        round, status, error)."""
        d = self._driver(await self._read_state(), "")
        await d.refresh()  # live counters, without writing the state
        if records:
            return await self._record_history(d)
        rows = []
        model = d.plan.model
        for s in d.shards():
            for att in d.attempts(s.shard) or [{}]:
                summ = att.get("summary") or {}
                counts = att.get("counts") or {}
                tin, tout = summ.get("input_tokens"), summ.get("output_tokens")
                cost = None
                if tin is not None:
                    est = _core.cost_estimate(model, summ["succeeded"], int(tin), int(tout or 0))
                    cost = est["batch_cost"]
                rows.append(
                    {
                        "shard": s.shard,
                        "round": d.round_of(s.shard),
                        "attempt": att.get("attempt"),
                        "job_name": att.get("job_name"),
                        "job_arn": att.get("job_arn"),
                        "state": att.get("status") or ("creating" if att else "pending"),
                        "records": s.records,
                        "processed": counts.get("processed"),
                        "succeeded": summ.get("succeeded", counts.get("success")),
                        "failed": summ.get("failed", counts.get("error")),
                        "invalid_output": summ.get("invalid_output"),
                        "missing": summ.get("missing"),
                        "input_tokens": tin,
                        "output_tokens": tout,
                        "batch_cost": cost,
                        "message": att.get("message"),
                        "submitted_at": att.get("submitted_at"),
                        "ended_at": att.get("ended_at"),
                    }
                )
        od = d.state["on_demand"]
        if od.get("round") is not None:
            answered = await d.answered_on_demand()
            tin, tout = d.on_demand_tokens()
            rows.append(
                {
                    "shard": "on-demand",
                    "round": od["round"],
                    "attempt": None,
                    "job_name": None,
                    "job_arn": None,
                    "state": "Completed" if od.get("done") else "InProgress",
                    "records": len(od["ids"]),
                    "processed": len(answered),
                    "succeeded": None,
                    "failed": None,
                    "invalid_output": None,
                    "missing": None,
                    "input_tokens": tin,
                    "output_tokens": tout,
                    "batch_cost": None,
                    "message": None,
                    "submitted_at": None,
                    "ended_at": None,
                }
            )
        processed, states = d.progress()
        totals = {
            "records": d.plan.records,
            "processed": processed,
            "states": states,
            "round": d.state["round"],
            "paused": (d.state.get("paused") or {}).get("message"),
            "deadline_hit": d.state["deadline_hit"],
        }
        return RunStatus(self.name, rows, totals)

    async def _record_history(self, d: Driver) -> RunStatus:
        rows: list[dict[str, Any]] = []
        for s in d.shards():
            for att in d.attempts(s.shard):
                if not (att.get("job_arn") and att.get("status") in FINAL_STATES):
                    continue
                res = d.read(await d.download(s.shard, att), s.ids).columns()
                for rid, st, code, msg in zip(
                    res["recordId"], res["status"], res["error_code"], res["error_message"]
                ):
                    rows.append(
                        {
                            "recordId": rid,
                            "round": d.round_of(s.shard),
                            "job": att["job_name"],
                            "status": st,
                            "error_code": code,
                            "error_message": msg,
                        }
                    )
        od = d.state["on_demand"]
        if od.get("round") is not None:
            await d.download_on_demand()
            folder = d.cache / "outputs" / "zz-on-demand"
            if folder.exists() and any(folder.glob("*.jsonl.out")):
                res = d.read(folder, list(od["ids"])).columns()
                for rid, st, code, msg in zip(
                    res["recordId"], res["status"], res["error_code"], res["error_message"]
                ):
                    rows.append(
                        {
                            "recordId": rid,
                            "round": od["round"],
                            "job": "on-demand",
                            "status": st,
                            "error_code": code,
                            "error_message": msg,
                        }
                    )
        totals = {"records": d.plan.records, "processed": len(rows), "states": {}}
        return RunStatus(self.name, rows, totals)

    def status(self, *, records: bool = False) -> RunStatus:
        return run_sync(self.status_async(records=records))

    async def results_async(self) -> RunResults:
        """Every input row exactly once, with its best outcome over every attempt
        (``succeeded``, ``invalid_output``, ``failed``, ``missing``), ``attempts`` (how many
        answers it had), the job of that outcome and the schema's fields. Records that will
        not be sent again say why in ``error_message``."""
        d = self._driver(await self._read_state(), "")
        res = await d.outcomes()
        jobs: dict[str, str] = {}
        for s in d.shards():
            for att in d.attempts(s.shard):
                if att.get("job_arn"):
                    jobs[d.job_folder(s.shard, att).name] = att["job_name"]
        jobs["zz-on-demand"] = "on-demand"
        return RunResults(res._core, jobs, dict(d.state["final"]))

    def results(self) -> RunResults:
        return run_sync(self.results_async())

    async def cost_report_async(self, *, on_demand_rate: float | None = None) -> CostReport:
        """Tokens and cost at batch and on-demand prices across all jobs and on-demand calls
        (``batch_part`` and ``on_demand_part`` say what each cost), and throughput."""
        d = self._driver(await self._read_state(), "")
        await d.download_on_demand()
        tin = tout = ok = 0
        starts, ends = [], []
        for s in d.shards():
            for att in d.attempts(s.shard):
                summ = att.get("summary")
                if not summ:
                    continue
                tin += int(summ["input_tokens"])
                tout += int(summ["output_tokens"])
                ok += int(summ["succeeded"]) + int(summ["invalid_output"])
                if att.get("submitted_at"):
                    starts.append(float(att["submitted_at"]))
                if att.get("ended_at"):
                    ends.append(float(att["ended_at"]))
        od_in, od_out = d.on_demand_tokens()
        # Records answered, each once however many times it was sent (tokens count them all).
        summary = (await d.outcomes()).summary()
        ok = int(summary["succeeded"]) + int(summary["invalid_output"])
        manifest = {"inputTokenCount": tin, "outputTokenCount": tout, "successRecordCount": ok}
        report = cost_report(
            manifest,
            model=d.plan.model,
            started=min(starts) if starts else None,
            finished=max(ends) if ends else None,
            on_demand_rate=on_demand_rate,
        )
        spent = d.spent()
        return dataclasses.replace(
            report,
            input_tokens=tin + od_in,
            output_tokens=tout + od_out,
            batch_part=spent["batch"],
            on_demand_part=spent["on_demand"],
            on_demand_tokens=(od_in, od_out),
        )

    def cost_report(self, *, on_demand_rate: float | None = None) -> CostReport:
        return run_sync(self.cost_report_async(on_demand_rate=on_demand_rate))

    def plot_timeline(self) -> Any:
        """A figure of the run's jobs, one bar each from submission to the end (``[plot]``)."""
        from ..plot import plot_timeline

        return plot_timeline(self.status())

    def _repr_html_(self) -> str:
        try:
            return self.status()._repr_html_()
        except Exception as e:  # a notebook cell should show something, not a traceback
            return f"<p>{self!r}: {e}</p>"


def _deadline(value: Any) -> float | None:
    """Epoch seconds of a deadline given as a datetime, a timedelta or seconds from now."""
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return float(value.timestamp())
    if isinstance(value, dt.timedelta):
        return time.time() + value.total_seconds()
    if isinstance(value, (int, float)):
        return time.time() + float(value)
    raise InputError(f"deadline must be a datetime, a timedelta or seconds, got {value!r}")


def _bar(d: Driver) -> Any:
    """One bar over the run's records (tqdm's, in a notebook or a terminal), or none when
    tqdm is not installed (the ``progress`` extra)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=d.plan.records, unit="rec", desc=d.plan.name)


def _tick(bar: Any, d: Driver) -> None:
    done, states = d.progress()
    bar.n = done
    bar.set_postfix_str(", ".join(f"{n} {s}" for s, n in sorted(states.items())), refresh=False)
    bar.refresh()
