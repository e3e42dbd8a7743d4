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
import secrets
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .. import _core
from ..aws import FINAL_STATES, Client
from ..collect import CostReport, Results, cost_report
from ..exceptions import InputError, LeaseHeldError, NotFoundError, RunMismatchError
from ..pack import Prompt, Quotas
from ._display import html_table
from ._drive import Driver, default_cache, new_state
from ._plan import Plan, build, differences
from ._store import FORMAT, Lease, Store

__all__ = ["Plan", "Run", "RunResults", "RunStatus"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end from sync code, also inside a running event loop (Jupyter),
    where it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bb-run") as pool:
        return pool.submit(asyncio.run, coro).result()


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
    """:class:`~bedrock_batch.Results` of a whole run, with a ``job`` column: the job each
    record was sent in (empty for records never sent)."""

    def __init__(self, core: Any, job_of: dict[str, str]) -> None:
        super().__init__(core)
        self._job_of = job_of

    def columns(self) -> dict[str, list[Any]]:
        cols = super().columns()
        cols["job"] = [self._job_of.get(r) for r in cols["recordId"]]
        return cols

    def to_pandas(self) -> Any:
        df = super().to_pandas()
        df.insert(2, "job", df["recordId"].map(self._job_of))
        return df

    def to_arrow(self) -> Any:
        import pyarrow as pa

        t = super().to_arrow()
        jobs = pa.array([self._job_of.get(r) for r in t.column("recordId").to_pylist()])
        return t.add_column(2, "job", jobs)


class Run:
    """One corpus through as many Bedrock batch jobs as it takes, resumable after any crash.

    Args:
        name: 1-40 letters, digits and hyphens; the run lives under ``<s3>/<name>/``.
        source: the table to pack (anything :func:`~bedrock_batch.pack` takes). Without it the
            run must exist already (as with :meth:`open`).
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
    ) -> None:
        self.name = _check_name(name)
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
        self._plan = build(self.name, **a)
        return self._plan

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
        return Driver(
            core=self._core,
            client=self.client,
            store=self._store,
            meta=self._meta,
            plan=plan,
            state=state,
            etag=etag,
            cache=self.cache / str(self._meta["run_id"]),
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
    ) -> Driver:
        """Holds the lease (renewed in the background) while passes run: one pass, or passes
        every ``poll_interval`` until the run is done."""
        lease = Lease(self._store, self.name)
        await lease.acquire()
        beat = asyncio.ensure_future(lease.keep())
        bar = None
        try:
            driver = await self._open_driver(lease)
            if before is not None:
                before(driver)
                driver.dirty = True
            cap = int(driver.plan.spec["quotas"]["max_concurrent_jobs"])
            deadline = None if timeout is None else time.monotonic() + timeout
            if progress:
                bar = _bar(driver)
            while True:
                lease.check()
                done = await driver.step(cap)
                if bar is not None:
                    _tick(bar, driver)
                if done or not until_done:
                    return driver
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"run {self.name!r} is not done after {timeout} s")
                wait = self.poll_interval
                if driver.hold_until:
                    wait = min(wait, max(0.05, driver.hold_until - time.monotonic()))
                await asyncio.sleep(wait)
        finally:
            beat.cancel()
            if bar is not None:
                bar.close()
            await lease.release()

    async def start_async(self) -> None:
        """Uploads the inputs and submits what the cap allows (a pilot first), then returns.
        A run that exists is resumed, never started twice."""

        def resume(d: Driver) -> None:
            d.state["stopped"] = False

        await self._store.delete("stop.json")
        await self._drive(until_done=False, before=resume)

    def start(self) -> None:
        run_sync(self.start_async())

    async def wait_async(self, *, progress: bool = True, timeout: float | None = None) -> Run:
        """Drives the run to its end: submits as the cap frees, collects jobs as they finish.
        Raises ``PilotFailedError`` when the pilot's success rate is too low."""
        await self._drive(until_done=True, progress=progress, timeout=timeout)
        return self

    def wait(self, *, progress: bool = True, timeout: float | None = None) -> Run:
        return run_sync(self.wait_async(progress=progress, timeout=timeout))

    async def stop_async(self) -> None:
        """Stops every active job of the run; finished records are kept. No more jobs are
        submitted until ``start()`` is called again. Works while another process drives the
        run: that process sees ``stop.json`` on its next pass and stops submitting."""
        await self._store.put("stop.json", {"requested": time.time()})
        state = await self._read_state()
        d = self._reader(state)
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

    def _reader(self, state: dict[str, Any]) -> Driver:
        assert self._meta is not None
        return Driver(
            core=self._core,
            client=self.client,
            store=self._store,
            meta=self._meta,
            plan=Plan.from_json(self._meta["plan"]),
            state=state,
            etag="",
            cache=self.cache / str(self._meta["run_id"]),
        )

    async def status_async(self) -> RunStatus:
        """One row per shard: its job, state, record counts, tokens and cost."""
        state = await self._read_state()
        d = self._reader(state)
        await d.refresh()  # live counters, without writing the state
        rows = []
        model = d.plan.model
        for s in d.plan.shards:
            att = d.current(s.shard) or {}
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
                }
            )
        processed, states = d.progress()
        totals = {"records": d.plan.records, "processed": processed, "states": states}
        return RunStatus(self.name, rows, totals)

    def status(self) -> RunStatus:
        return run_sync(self.status_async())

    async def results_async(self) -> RunResults:
        """Every input row exactly once: ``succeeded``, ``failed``, ``invalid_output`` or
        ``missing`` (not sent, or not finished), the schema's fields and the job."""
        state = await self._read_state()
        d = self._reader(state)
        job_of: dict[str, str] = {}
        folders = []
        for s in d.plan.shards:
            att = d.current(s.shard)
            if att is None:
                continue
            for i in s.ids:
                job_of[i] = att["job_name"]
            if att.get("job_arn") and att.get("status") in FINAL_STATES:
                folders.append(await d.download(att))
        # Every folder under the run's cache is one of its jobs (the cache is per run id).
        root = d.cache / "outputs"
        root.mkdir(parents=True, exist_ok=True)
        if not folders:
            (root / "none.jsonl.out").write_bytes(b"")
        res = d.read(root, d.plan.ids)
        return RunResults(res._core, job_of)

    def results(self) -> RunResults:
        return run_sync(self.results_async())

    async def cost_report_async(self, *, on_demand_rate: float | None = None) -> CostReport:
        """Tokens and cost at batch and on-demand prices across all jobs, and throughput."""
        state = await self._read_state()
        d = self._reader(state)
        tin = tout = ok = 0
        starts, ends = [], []
        for s in d.plan.shards:
            att = d.current(s.shard)
            if not att or not att.get("summary"):
                continue
            summ = att["summary"]
            tin += int(summ["input_tokens"])
            tout += int(summ["output_tokens"])
            ok += int(summ["succeeded"]) + int(summ["invalid_output"])
            if att.get("submitted_at"):
                starts.append(float(att["submitted_at"]))
            if att.get("ended_at"):
                ends.append(float(att["ended_at"]))
        manifest = {"inputTokenCount": tin, "outputTokenCount": tout, "successRecordCount": ok}
        return cost_report(
            manifest,
            model=d.plan.model,
            started=min(starts) if starts else None,
            finished=max(ends) if ends else None,
            on_demand_rate=on_demand_rate,
        )

    def cost_report(self, *, on_demand_rate: float | None = None) -> CostReport:
        return run_sync(self.cost_report_async(on_demand_rate=on_demand_rate))

    def _repr_html_(self) -> str:
        try:
            return self.status()._repr_html_()
        except Exception as e:  # a notebook cell should show something, not a traceback
            return f"<p>{self!r}: {e}</p>"


def _bar(d: Driver) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=d.plan.records, unit="rec", desc=d.plan.name)


def _tick(bar: Any, d: Driver) -> None:
    done, states = d.progress()
    bar.n = done
    bar.set_postfix_str(", ".join(f"{n} {s}" for s, n in sorted(states.items())), refresh=False)
    bar.refresh()
