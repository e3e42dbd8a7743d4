"""The driver: one pass over a run's jobs at a time. It adopts jobs Bedrock already has, submits
what the cap allows, collects what finished and writes the state; ``Run`` loops over it.

Bedrock is the source of truth: every attempt has a deterministic job name and idempotency
token, so a pass after a crash finds the jobs created before it (ListModelInvocationJobs by
name) and a repeated create is the same job, never a second bill.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..aws import ACTIVE_STATES, FINAL_STATES
from ..collect import Results, read_results
from ..exceptions import (
    AccessDeniedError,
    AwsValidationError,
    ConflictError,
    LeaseLostError,
    PilotFailedError,
    QuotaExceededError,
    ThrottlingError,
)
from ._plan import PILOT, Plan, ShardPlan
from ._store import FORMAT, Store


def job_name(run: str, run_id: str, shard: str, attempt: int) -> str:
    return f"{run}-{run_id}-{shard}-a{attempt}"


def job_token(run: str, run_id: str, shard: str, attempt: int, content: str) -> str:
    h = hashlib.sha256(f"{run}\0{run_id}\0{shard}\0{attempt}\0{content}".encode())
    return h.hexdigest()


def new_state(plan: Plan) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "shards": {s.shard: {"attempts": []} for s in plan.shards},
        "pilot": {"approved": False},
        "stopped": False,
        "updated": time.time(),
    }


class Driver:
    """One run's plan, state and clients while a process drives it (holding the lease)."""

    def __init__(
        self,
        *,
        core: Any,
        client: Any,
        store: Store,
        meta: dict[str, Any],
        plan: Plan,
        state: dict[str, Any],
        etag: str,
        cache: Path,
    ) -> None:
        self.core = core
        self.client = client
        self.store = store
        self.meta = meta
        self.plan = plan
        self.state = state
        self.etag = etag
        self.cache = cache
        self.run_id = str(meta["run_id"])
        self.hold_until = 0.0  # no create before this (quota or throttling backoff)
        self.backoff = 0.0
        self.dirty = False

    # --- state ---------------------------------------------------------------------------

    def shard_plan(self, shard: str) -> ShardPlan:
        return next(s for s in self.plan.shards if s.shard == shard)

    def attempts(self, shard: str) -> list[dict[str, Any]]:
        return list(self.state["shards"][shard]["attempts"])

    def current(self, shard: str) -> dict[str, Any] | None:
        a = self.state["shards"][shard]["attempts"]
        return a[-1] if a else None

    async def save(self) -> None:
        if not self.dirty:
            return
        self.state["updated"] = time.time()
        etag = await self.store.replace("state.json", self.state, self.etag)
        if etag is None:
            raise LeaseLostError(
                f"state.json of run {self.plan.name!r} was changed by another process; this "
                "one stops driving it"
            )
        self.etag = etag
        self.dirty = False

    # --- one pass ------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Adopts and updates this run's jobs from one listing (every page). A job created by a
        pass that died before recording it is adopted by its name."""
        listed = await self.core.list_jobs_async(name_contains=f"{self.plan.name}-{self.run_id}-")
        by_name = {str(j.get("job_name")): j for j in listed}
        for s in self.plan.shards:
            attempts = self.state["shards"][s.shard]["attempts"]
            name = job_name(self.plan.name, self.run_id, s.shard, len(attempts))
            if name in by_name:
                attempts.append(self.attempt_record(s, len(attempts)))
                self.dirty = True
            att = self.current(s.shard)
            if att is None:
                continue
            info = by_name.get(att["job_name"])
            if info is None and att.get("job_arn") and att.get("status") not in FINAL_STATES:
                info = await self.core.get_job_async(att["job_arn"])
            if info is None:
                continue
            self.update(att, info)

    def update(self, att: dict[str, Any], info: dict[str, Any]) -> None:
        new = {
            "job_arn": info.get("job_arn"),
            "status": info.get("status"),
            "message": info.get("message"),
            "submitted_at": info.get("submit_time"),
            "ended_at": info.get("end_time"),
            "counts": {
                "total": info.get("total_records"),
                "processed": info.get("processed_records"),
                "success": info.get("success_records"),
                "error": info.get("error_records"),
            },
        }
        if any(att.get(k) != v for k, v in new.items()):
            att.update(new)
            self.dirty = True

    async def collect_finished(self) -> None:
        for s in self.plan.shards:
            att = self.current(s.shard)
            if att and att.get("status") in FINAL_STATES and not att.get("collected"):
                att["summary"] = await self.collect(s, att)
                att["collected"] = True
                self.dirty = True
                await self.save()  # each job's collection is kept as soon as it is done

    def job_folder(self, att: dict[str, Any]) -> Path:
        return self.cache / "outputs" / str(att["job_arn"]).rsplit("/", 1)[-1]

    async def download(self, att: dict[str, Any]) -> Path:
        """The job's outputs in the local cache, downloaded once (a marker says complete)."""
        folder = self.job_folder(att)
        if not (folder / ".complete").exists():
            if folder.exists():
                shutil.rmtree(folder)
            job_id = folder.name
            await self.core.download_async(f"{self.meta['output_prefix']}{job_id}/", str(folder))
            folder.mkdir(parents=True, exist_ok=True)
            if not any(folder.rglob("*.jsonl.out")):
                (folder / "none.jsonl.out").write_bytes(b"")  # the job wrote nothing
            (folder / ".complete").write_bytes(b"")
        return folder

    def read(self, folder: Path, ids: list[str]) -> Results:
        spec = self.plan.spec
        schema = spec.get("schema")
        if spec.get("schema_types"):
            schema = list(spec["schema_types"])
        return read_results(
            folder,
            inputs=ids,
            json=bool(spec.get("json")),
            schema=schema,
            prefill=spec["prompt"].get("prefill"),
        )

    async def collect(self, shard: ShardPlan, att: dict[str, Any]) -> dict[str, Any]:
        folder = await self.download(att)
        res = self.read(folder, shard.ids)
        s = res.summary()
        m = res.manifest or {}
        return {
            "succeeded": s["succeeded"],
            "failed": s["failed"],
            "invalid_output": s["invalid_output"],
            "missing": s["missing"],
            "problems": s["problems"],
            "input_tokens": int(m.get("inputTokenCount", s["input_tokens"])),
            "output_tokens": int(m.get("outputTokenCount", s["output_tokens"])),
        }

    def pilot_gate(self) -> bool:
        """True when the shards after the pilot may be submitted; raises when the pilot's
        success rate is too low (and it was not approved)."""
        if self.plan.shards[0].shard != PILOT:
            return True
        att = self.current(PILOT)
        if att is None or not att.get("collected"):
            return False
        if self.state["pilot"].get("approved"):
            return True
        s = att["summary"]
        records = self.shard_plan(PILOT).records
        rate = s["succeeded"] / records if records else 0.0
        need = float(self.plan.spec.get("pilot_min_success") or 0.95)
        if rate >= need:
            return True
        folder = self.job_folder(att)
        res = self.read(folder, self.shard_plan(PILOT).ids)
        examples = _problems(res, att)
        raise PilotFailedError(
            f"the pilot job {att['job_name']} ({att.get('status')}) succeeded on "
            f"{s['succeeded']} of {records} records ({rate:.1%}), below pilot_min_success="
            f"{need:.0%}; the rest of the run waits. {examples} Fix the prompt or model (a new "
            "run), or call run.approve_pilot() to go on."
        )

    def pending(self) -> list[ShardPlan]:
        """Shards with no job yet, in order."""
        return [s for s in self.plan.shards if self.current(s.shard) is None]

    def active_arns(self) -> set[str]:
        return {
            str(a["job_arn"])
            for s in self.plan.shards
            if (a := self.current(s.shard)) and a.get("job_arn")
            if a.get("status") not in FINAL_STATES
        }

    async def submit_ready(self, cap: int) -> None:
        if self.state.get("stopped") or time.monotonic() < self.hold_until:
            return
        todo = self.pending()
        if not todo:
            return
        if not self.pilot_gate():
            todo = [s for s in todo if s.shard == PILOT]
        if not todo:
            return
        # The cap counts every job of this foundation model in the account, ours included
        # (ours also from the state: a job just created may not be listed yet).
        listed = await self.client.active_jobs_async(self.plan.model)
        active = {j.arn for j in listed} | self.active_arns()
        free = cap - len(active)
        for s in todo[: max(free, 0)]:
            if not await self.create(s):
                break

    def attempt_record(self, shard: ShardPlan, attempt: int) -> dict[str, Any]:
        """A new attempt of a shard: its job's deterministic name and idempotency token."""
        content = ",".join(str(f["md5"]) for f in shard.files)
        return {
            "attempt": attempt,
            "job_name": job_name(self.plan.name, self.run_id, shard.shard, attempt),
            "token": job_token(self.plan.name, self.run_id, shard.shard, attempt, content),
            "input_uri": f"{self.meta['input_prefix']}{shard.shard}/",
            "job_arn": None,
            "status": None,
            "collected": False,
        }

    async def create(self, shard: ShardPlan) -> bool:
        """Creates the shard's job (attempt 0): False when the quota or throttling says wait."""
        attempt = len(self.attempts(shard.shard))
        att = self.attempt_record(shard, attempt)
        name, token = att["job_name"], att["token"]
        meta = self.meta
        try:
            arn = await self.core.create_job_async(
                name=name,
                role_arn=meta["role_arn"],
                model_id=self.plan.model,
                input_uri=att["input_uri"],
                output_uri=meta["output_prefix"],
                client_request_token=token,
                timeout_hours=meta.get("timeout_hours"),
                kms_key=meta.get("kms_key"),
                tags=[
                    ("bedrock-batch:run", self.plan.name),
                    ("bedrock-batch:shard", shard.shard),
                    ("bedrock-batch:attempt", str(attempt)),
                    *sorted((meta.get("tags") or {}).items()),
                ],
                converse=self.plan.invocation == "Converse",
            )
        except (QuotaExceededError, ThrottlingError):
            # Waited out, never fatal: no more creates for a while, longer each time.
            self.backoff = min(max(self.backoff * 2, 1.0), 300.0)
            self.hold_until = time.monotonic() + self.backoff
            return False
        except ConflictError:
            # A job of this name is running already (created by a pass that died before it
            # recorded it): the next listing adopts it.
            arn = None
        except (AccessDeniedError, AwsValidationError) as e:
            raise type(e)(f"creating the job of shard {shard.shard}: {e}") from None
        self.backoff = 0.0
        att["job_arn"] = arn
        att["status"] = "Submitted" if arn else None
        self.state["shards"][shard.shard]["attempts"].append(att)
        self.dirty = True
        await self.save()
        return True

    async def stop_active(self) -> None:
        for s in self.plan.shards:
            att = self.current(s.shard)
            if (
                att
                and att.get("job_arn")
                and att.get("status") in ACTIVE_STATES
                and att.get("status") != "Stopping"
                and not att.get("stop_sent")
            ):
                with contextlib.suppress(ConflictError):  # it finished meanwhile
                    await self.core.stop_job_async(att["job_arn"])
                att["stop_sent"] = True
                self.dirty = True

    def done(self) -> bool:
        """Every shard's job is final and collected (or, once stopped, every job sent is)."""
        for s in self.plan.shards:
            att = self.current(s.shard)
            if att is None:
                if self.state.get("stopped"):
                    continue
                return False
            if not att.get("collected"):
                return False
        return True

    async def step(self, cap: int) -> bool:
        """One pass: refresh, collect, submit (or stop). True when the run is done."""
        if not self.state.get("stopped") and await self.store.get("stop.json") is not None:
            self.state["stopped"] = True  # `stop` asked from another process
            self.dirty = True
        await self.refresh()
        await self.collect_finished()
        if self.state.get("stopped"):
            await self.stop_active()
        else:
            await self.submit_ready(cap)
        await self.save()
        return self.done()

    # --- reading ---------------------------------------------------------------------------

    def progress(self) -> tuple[int, dict[str, int]]:
        """Records processed so far and the number of jobs in each state (or pending)."""
        done = 0
        states: dict[str, int] = {}
        for s in self.plan.shards:
            att = self.current(s.shard)
            state = (att or {}).get("status") or ("creating" if att else "pending")
            states[state] = states.get(state, 0) + 1
            if att is None:
                continue
            if att.get("collected"):
                done += s.records
            else:
                done += int((att.get("counts") or {}).get("processed") or 0)
        return done, states


def _problems(res: Results, att: dict[str, Any]) -> str:
    cols = res.columns()
    seen: dict[str, int] = {}
    for status, code, msg in zip(cols["status"], cols["error_code"], cols["error_message"]):
        if status != "succeeded":
            key = f"{status}: {code or ''} {msg or ''}".strip()[:160]
            seen[key] = seen.get(key, 0) + 1
    if att.get("message"):
        seen[f"job: {att['message']}"] = 1
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:3]
    return "Most common: " + "; ".join(f"{n} x {k}" for k, n in top) + "." if top else ""


def default_cache(prefix: str) -> Path:
    """``$BEDROCK_BATCH_CACHE`` or the user's cache folder, one folder per run prefix."""
    base = os.environ.get("BEDROCK_BATCH_CACHE")
    if base:
        root = Path(base)
    elif os.name == "nt":
        root = Path(os.environ.get("LOCALAPPDATA", Path.home())) / "bedrock-batch" / "cache"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "bedrock-batch"
    return root / "runs" / hashlib.sha256(prefix.encode()).hexdigest()[:16]
