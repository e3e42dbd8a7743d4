"""The driver: one pass over a run's jobs at a time. It adopts jobs Bedrock already has, submits
what the cap (and the budget) allows, collects what finished, recovers what did not (retries,
resubmits, the remainder on demand) and writes the state; ``Run`` loops over it.

Bedrock is the source of truth: every attempt has a deterministic job name and idempotency
token, so a pass after a crash finds the jobs created before it (ListModelInvocationJobs by
name) and a repeated create is the same job, never a second bill. Answers got on demand are
written to S3 in chunks before more are asked for, so none is asked for twice once written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _core
from ..aws import ACTIVE_STATES, FINAL_STATES
from ..collect import Results, read_results
from ..exceptions import (
    AccessDeniedError,
    AwsError,
    AwsValidationError,
    BudgetExceededError,
    ConflictError,
    LeaseLostError,
    PilotFailedError,
    QuotaExceededError,
    ThrottlingError,
)
from ._plan import PILOT, Plan, ShardPlan
from ._store import FORMAT, Store

# Why a record is not sent again: errors that would fail the same way.
TRUNCATED = {"max_tokens", "length", "LENGTH", "MAX_TOKENS"}
RETRYABLE_CODES = {"429", "500", "502", "503", "504", "unreadable_line"}
RETRYABLE_WORDS = ("throttl", "internal", "unavailable", "timeout", "timed out", "too many")


def job_name(run: str, run_id: str, shard: str, attempt: int) -> str:
    return f"{run}-{run_id}-{shard}-a{attempt}"


def job_token(run: str, run_id: str, shard: str, attempt: int, content: str) -> str:
    h = hashlib.sha256(f"{run}\0{run_id}\0{shard}\0{attempt}\0{content}".encode())
    return h.hexdigest()


def new_state(plan: Plan) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "shards": {s.shard: {"attempts": [], "round": 0} for s in plan.shards},
        "round": 0,
        "pilot": {"approved": False},
        "stopped": False,
        "paused": None,
        "final": {},  # recordId -> reason it will not be sent again
        "on_demand": {"ids": [], "round": None, "done": False},
        "deadline_hit": False,
        # Billed input tokens over the heuristic's estimate, refined as jobs end.
        "tokens_per_estimate": None,
        "updated": time.time(),
    }


def retryable(status: str, code: str | None, message: str | None, stop: str | None) -> bool:
    """Whether sending a record again can change its outcome."""
    if status == "missing":
        return True
    if status == "invalid_output":
        return stop not in TRUNCATED  # a cut answer is cut again at the same max_tokens
    text = f"{code or ''} {message or ''}".lower()
    return str(code or "") in RETRYABLE_CODES or any(w in text for w in RETRYABLE_WORDS)


def validation_failure(message: str | None) -> bool:
    """A failed job whose input was refused (not resubmitted), from the service's message."""
    m = (message or "").lower()
    return "validat" in m or "invalid" in m or "malformed" in m


@dataclass
class Options:
    """What recovers a run (``bb.Run``'s options; see its docs)."""

    retries: int = 2
    retry_max_tokens: int | None = None
    on_demand: bool = True
    on_demand_concurrency: int = 4
    on_demand_rate: float | None = None  # records per minute, for the deadline
    max_cost: float | None = None
    deadline: float | None = None  # epoch seconds
    stall_timeout: float = 6 * 3600.0
    resubmit_expired: int = 1


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
        options: Options | None = None,
    ) -> None:
        self.core = core
        self.client = client
        self.store = store
        self.meta = meta
        self.plan = plan
        self.state = state
        self.etag = etag
        self.cache = cache
        self.opt = options or Options()
        self.run_id = str(meta["run_id"])
        self.hold_until = 0.0  # no create before this (quota or throttling backoff)
        self.backoff = 0.0
        self.dirty = False
        for k, v in new_state(plan).items():  # state written by an earlier version of a run
            self.state.setdefault(k, v)

    # --- shards and state -----------------------------------------------------------------

    def shards(self) -> list[ShardPlan]:
        """The plan's shards, then the retry rounds' (kept in the state)."""
        out = list(self.plan.shards)
        for name, s in self.state["shards"].items():
            if s.get("round", 0) > 0:
                out.append(ShardPlan(name, list(s["ids"]), list(s["files"])))
        return out

    def shard_plan(self, shard: str) -> ShardPlan:
        return next(s for s in self.shards() if s.shard == shard)

    def attempts(self, shard: str) -> list[dict[str, Any]]:
        return list(self.state["shards"][shard]["attempts"])

    def current(self, shard: str) -> dict[str, Any] | None:
        a = self.state["shards"][shard]["attempts"]
        return a[-1] if a else None

    def round_of(self, shard: str) -> int:
        return int(self.state["shards"][shard].get("round", 0))

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

    # --- adopting and updating jobs --------------------------------------------------------

    async def refresh(self) -> None:
        """Adopts and updates this run's jobs from one listing (every page). A job created by a
        pass that died before recording it is adopted by its name."""
        listed = await self.core.list_jobs_async(name_contains=f"{self.plan.name}-{self.run_id}-")
        by_name = {str(j.get("job_name")): j for j in listed}
        for s in self.shards():
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
        processed = new["counts"]["processed"]  # type: ignore[index]
        if processed != (att.get("counts") or {}).get("processed"):
            att["progress_at"] = time.time()  # for the stall check
        if any(att.get(k) != v for k, v in new.items()):
            att.update(new)
            self.dirty = True

    # --- collecting -------------------------------------------------------------------------

    async def collect_finished(self) -> None:
        for s in self.shards():
            att = self.current(s.shard)
            if att and att.get("status") in FINAL_STATES and not att.get("collected"):
                att["summary"] = await self.collect(s, att)
                att["collected"] = True
                self.refine_rates(s, att)
                self.dirty = True
                await self.save()  # each job's collection is kept as soon as it is done

    def job_folder(self, shard: str, att: dict[str, Any]) -> Path:
        """The attempt's outputs in the local cache: ``outputs/<shard>/a<n>-<jobId>/`` (read in
        this order, so a later attempt is the later line)."""
        job_id = str(att["job_arn"]).rsplit("/", 1)[-1]
        return self.cache / "outputs" / shard / f"a{int(att['attempt']):02d}-{job_id}"

    async def download(self, shard: str, att: dict[str, Any]) -> Path:
        """The job's outputs in the local cache, downloaded once. They land in a temporary
        folder renamed into place when complete, so a folder under ``outputs/`` is always
        whole, whoever else (a reader, a crashed driver) uses the cache."""
        folder = self.job_folder(shard, att)
        if folder.exists():
            return folder
        tmp = self.cache / "tmp" / f"{folder.name}-{uuid.uuid4().hex[:8]}"
        job_id = str(att["job_arn"]).rsplit("/", 1)[-1]
        try:
            await self.core.download_async(f"{self.meta['output_prefix']}{job_id}/", str(tmp))
            tmp.mkdir(parents=True, exist_ok=True)
            if not any(tmp.rglob("*.jsonl.out")):
                (tmp / "none.jsonl.out").write_bytes(b"")  # the job wrote nothing
            folder.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # another process put it there first
                os.rename(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return folder

    def read(self, folder: Path, ids: list[str], *, attempts: bool = False) -> Results:
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
            attempts=attempts,
        )

    async def collect(self, shard: ShardPlan, att: dict[str, Any]) -> dict[str, Any]:
        folder = await self.download(shard.shard, att)
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

    def refine_rates(self, shard: ShardPlan, att: dict[str, Any]) -> None:
        """Billed input tokens over the heuristic's estimate, from the jobs that ended: the
        budget's estimates of what is left use it."""
        est = sum(int(f["input_tokens"]) for f in shard.files)
        billed = int(att["summary"]["input_tokens"])
        done = att["summary"]["succeeded"] + att["summary"]["invalid_output"]
        if est <= 0 or billed <= 0 or done < shard.records * 0.5:
            return
        r = self.state.get("token_ratio") or {"billed": 0, "estimated": 0}
        r["billed"] += billed
        r["estimated"] += int(est * done / max(shard.records, 1))
        self.state["token_ratio"] = r
        self.state["tokens_per_estimate"] = r["billed"] / max(r["estimated"], 1)

    # --- costs and the budget ---------------------------------------------------------------

    def ratio(self) -> float:
        got = self.state.get("tokens_per_estimate")
        if got:
            return float(got)
        return float(self.plan.estimate.get("calibration", {}).get("factor", 1.0))

    def cost(self, input_tokens: float, output_tokens: float, *, on_demand: bool) -> float:
        est = _core.cost_estimate(self.plan.model, 0, int(input_tokens), int(output_tokens))
        key = "on_demand_cost" if on_demand else "batch_cost"
        return float(est.get(key) or 0.0)

    def output_per_record(self) -> float:
        e = self.plan.estimate
        return float(e.get("output_tokens", 0)) / max(int(e.get("records", 1) or 1), 1)

    def estimate_shard(self, s: ShardPlan, *, on_demand: bool = False) -> float:
        tin = sum(int(f["input_tokens"]) for f in s.files) * self.ratio()
        return self.cost(tin, self.output_per_record() * s.records, on_demand=on_demand)

    def spent(self) -> dict[str, float]:
        """Dollars billed so far: batch (jobs collected) and on demand (answers written)."""
        batch = 0.0
        for s in self.shards():
            for att in self.attempts(s.shard):
                summ = att.get("summary")
                if summ:
                    batch += self.cost(summ["input_tokens"], summ["output_tokens"], on_demand=False)
        tin, tout = self.on_demand_tokens()
        return {"batch": batch, "on_demand": self.cost(tin, tout, on_demand=True)}

    def on_demand_tokens(self) -> tuple[int, int]:
        """Input and output tokens of the answers got on demand (from their written lines)."""
        tin = tout = 0
        folder = self.cache / "outputs" / "zz-on-demand"
        for f in sorted(folder.glob("*.jsonl.out")) if folder.exists() else []:
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    with contextlib.suppress(ValueError):
                        a, b = _usage(json.loads(line).get("modelOutput"))
                        tin, tout = tin + a, tout + b
        return tin, tout

    def committed(self) -> float:
        """Spent, plus the estimate of every job submitted and not yet collected."""
        total = sum(self.spent().values())
        for s in self.shards():
            att = self.current(s.shard)
            if att and att.get("job_arn") and not att.get("collected"):
                total += self.estimate_shard(s)
        return total

    def over_budget(self, extra: float, what: str) -> bool:
        """Pauses the run (and says why) when ``extra`` would take it past ``max_cost``."""
        if self.opt.max_cost is None:
            return False
        committed = self.committed()
        if committed + extra <= self.opt.max_cost:
            return False
        self.state["paused"] = {
            "reason": "budget",
            "message": (
                f"paused before {what}: ${committed:,.2f} spent or committed plus ~${extra:,.2f} "
                f"for it would pass max_cost=${self.opt.max_cost:,.2f}; raise max_cost and "
                "resume (run.wait() or bedrock-batch run) to go on"
            ),
        }
        self.dirty = True
        return True

    # --- submitting ---------------------------------------------------------------------------

    def pilot_gate(self) -> bool:
        """True when the shards after the pilot may be submitted; raises when the pilot's
        success rate is too low (and it was not approved)."""
        pilots = [s for s in self.plan.shards if is_pilot(s.shard)]
        if not pilots:
            return True
        atts = [self.current(s.shard) for s in pilots]
        if any(a is None or not a.get("collected") for a in atts):
            return False
        if self.state["pilot"].get("approved"):
            return True
        succeeded = sum(int(a["summary"]["succeeded"]) for a in atts if a)
        records = sum(s.records for s in pilots)
        rate = succeeded / records if records else 0.0
        got = self.plan.spec.get("pilot_min_success")
        need = 0.95 if got is None else float(got)
        if rate >= need:
            return True
        att = atts[0]
        assert att is not None
        res = self.read(self.job_folder(pilots[0].shard, att), pilots[0].ids)
        names = ", ".join(f"{a['job_name']} ({a.get('status')})" for a in atts if a)
        raise PilotFailedError(
            f"the pilot {names} succeeded on {succeeded} of {records} records ({rate:.1%}), "
            f"below pilot_min_success={need:.0%}; the rest of the run waits. "
            f"{_problems(res, att)} Fix the prompt or model (a new run), or call "
            "run.approve_pilot() to go on."
        )

    def pending(self) -> list[ShardPlan]:
        """Shards that need a job: none yet, or a resubmit due (Expired, a service failure)."""
        out = []
        for s in self.shards():
            att = self.current(s.shard)
            if att is None or self.resubmit_due(s.shard, att):
                out.append(s)
        return out

    def resubmit_due(self, shard: str, att: dict[str, Any]) -> bool:
        if not att.get("collected") or att.get("resubmit") is False:
            return False
        status, n = att.get("status"), len(self.attempts(shard))
        if status == "Expired":
            return n <= self.opt.resubmit_expired
        if status == "Failed" and not validation_failure(att.get("message")):
            return n <= self.opt.retries
        return False

    def active_arns(self) -> set[str]:
        return {
            str(a["job_arn"])
            for s in self.shards()
            if (a := self.current(s.shard)) and a.get("job_arn")
            if a.get("status") not in FINAL_STATES
        }

    async def submit_ready(self, cap: int) -> None:
        if self.state.get("stopped") or self.state.get("paused") or self.state["deadline_hit"]:
            return
        if time.monotonic() < self.hold_until:
            return
        todo = self.pending()
        if not todo:
            return
        if not self.pilot_gate():
            todo = [s for s in todo if is_pilot(s.shard)]
        if not todo:
            return
        # The cap counts every job of this foundation model in the account, ours included
        # (ours also from the state: a job just created may not be listed yet).
        listed = await self.client.active_jobs_async(self.plan.model)
        active = {j.arn for j in listed} | self.active_arns()
        free = cap - len(active)
        for s in todo[: max(free, 0)]:
            if self.over_budget(self.estimate_shard(s), f"submitting shard {s.shard}"):
                return
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
        """Creates the shard's next attempt: False when the quota or throttling says wait."""
        attempt = len(self.attempts(shard.shard))
        att = self.attempt_record(shard, attempt)
        meta = self.meta
        try:
            arn = await self.core.create_job_async(
                name=att["job_name"],
                role_arn=meta["role_arn"],
                model_id=self.plan.model,
                input_uri=att["input_uri"],
                output_uri=meta["output_prefix"],
                client_request_token=att["token"],
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
        except ConflictError as e:
            # A job of this name is running already (created by a pass that died before it
            # recorded it): adopt it now, or say why not.
            listed = await self.core.list_jobs_async(name_contains=att["job_name"])
            found = [j for j in listed if j.get("job_name") == att["job_name"]]
            if not found:
                raise ConflictError(
                    f"creating the job of shard {shard.shard} ({att['job_name']}): {e}; no job "
                    "of that name is listed, so it cannot be adopted"
                ) from None
            arn = found[0]["job_arn"]
        except (AccessDeniedError, AwsValidationError) as e:
            raise type(e)(f"creating the job of shard {shard.shard}: {e}") from None
        self.backoff = 0.0
        att["job_arn"] = arn
        att["status"] = "Submitted" if arn else None
        att["progress_at"] = time.time()
        self.state["shards"][shard.shard]["attempts"].append(att)
        self.dirty = True
        await self.save()
        return True

    async def stop_active(self, *, reason: str = "stopped") -> None:
        for s in self.shards():
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
                att["stop_sent"] = reason
                self.dirty = True

    async def stop_stalled(self) -> None:
        """Stops a job whose processed count has not moved for ``stall_timeout``: its finished
        records are kept and its remainder is sent again with the next round."""
        now = time.time()
        for s in self.shards():
            att = self.current(s.shard)
            if (
                att
                and att.get("status") == "InProgress"
                and not att.get("stop_sent")
                and now - float(att.get("progress_at") or now) > self.opt.stall_timeout
            ):
                with contextlib.suppress(ConflictError):
                    await self.core.stop_job_async(att["job_arn"])
                att["stop_sent"] = "stalled"
                att["message"] = (
                    f"stopped: no record processed for {self.opt.stall_timeout:,.0f} s (stalled)"
                )
                self.dirty = True

    # --- rounds: retries and the remainder on demand ------------------------------------------

    def round_done(self, r: int) -> bool:
        for s in self.shards():
            if self.round_of(s.shard) != r:
                continue
            att = self.current(s.shard)
            if att is None or not att.get("collected") or self.resubmit_due(s.shard, att):
                return False
        return True

    async def outcomes(self) -> Results:
        """Every record's best outcome so far (all attempts' outputs and on-demand answers)."""
        for s in self.shards():
            for att in self.attempts(s.shard):
                if att.get("job_arn") and att.get("status") in FINAL_STATES:
                    await self.download(s.shard, att)
        await self.download_on_demand()
        root = self.cache / "outputs"
        root.mkdir(parents=True, exist_ok=True)
        if not any(root.rglob("*.jsonl.out")):
            (root / "none.jsonl.out").write_bytes(b"")
        return self.read(root, self.plan.ids, attempts=True)

    async def next_round(self) -> None:
        """After a round: the records that can still change go to a new round of batch jobs
        (at least the batch minimum of them, while retries are left) or on demand."""
        r = int(self.state["round"])
        if self.state["on_demand"].get("round") is not None or not self.round_done(r):
            return
        if self.state.get("stopped") or self.state.get("paused"):
            return
        res = await self.outcomes()
        cols = res.columns()
        final: dict[str, str] = dict(self.state["final"])
        failed_jobs = self.validation_failed_ids()
        pool: list[str] = []
        bigger: list[str] = []  # cut at max_tokens: sent again only with retry_max_tokens
        for rid, st, code, msg, stop in zip(
            cols["recordId"],
            cols["status"],
            cols["error_code"],
            cols["error_message"],
            cols["stop_reason"],
        ):
            if st == "succeeded" or rid in final:
                continue
            if rid in failed_jobs and st == "missing":
                final[rid] = failed_jobs[rid]
            elif st == "invalid_output" and stop in TRUNCATED:
                if self.opt.retry_max_tokens and not self.state.get("bigger_sent"):
                    bigger.append(rid)
                else:
                    final[rid] = (
                        f"the answer was cut at max_tokens ({stop}); set retry_max_tokens= to "
                        "send it again with more room"
                    )
            elif retryable(st, code, msg, stop):
                pool.append(rid)
            else:
                final[rid] = f"{st}: {code or ''} {msg or ''}".strip()
        self.state["final"] = final
        self.dirty = True
        pool += bigger
        if not pool:
            return
        low = int(self.plan.spec["quotas"]["min_records_per_job"])
        if r < self.opt.retries and len(pool) >= low:
            await self.add_round(r + 1, pool, bigger=set(bigger))
        elif len(pool) < low or r >= self.opt.retries:
            if self.opt.on_demand and len(pool) < low:
                self.state["on_demand"] = {"ids": pool, "round": r + 1, "done": False}
                self.state["bigger"] = bigger
            else:
                why = (
                    f"retries={self.opt.retries} used up"
                    if r >= self.opt.retries
                    else "below the batch minimum and on_demand=False"
                )
                for rid in pool:
                    final[rid] = f"not sent again: {why}"
        await self.save()

    def validation_failed_ids(self) -> dict[str, str]:
        """Records of jobs that will not be sent again as they were: a failed validation, or
        an Expired/service-failed job whose resubmits are used up."""
        out: dict[str, str] = {}
        for s in self.shards():
            att = self.current(s.shard)
            if not att or not att.get("collected"):
                continue
            status, msg = att.get("status"), att.get("message")
            if status == "Failed" and validation_failure(msg):
                why = f"its job failed validation: {msg}"
            elif status in ("Failed", "Expired") and not self.resubmit_due(s.shard, att):
                why = f"its job ended {status} {len(self.attempts(s.shard))} time(s): {msg}"
            else:
                continue
            for rid in s.ids:
                out[rid] = why
        return out

    async def lines_of(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The batch records (``recordId``, ``modelInput``) of ``ids``, from the written plan's
        files when this process has them, else from the run's inputs in S3."""
        want = set(ids)
        out: dict[str, dict[str, Any]] = {}
        by_shard: dict[str, list[str]] = {}
        owner = {rid: s.shard for s in self.plan.shards for rid in s.ids}
        for rid in want:
            by_shard.setdefault(owner[rid], []).append(rid)
        for shard in sorted(by_shard):
            folder = self.plan_folder(shard)
            if folder is None:
                folder = self.cache / "inputs" / shard
                if not folder.exists():
                    tmp = self.cache / "tmp" / f"inputs-{shard}-{uuid.uuid4().hex[:8]}"
                    try:
                        await self.core.download_async(
                            f"{self.meta['input_prefix']}{shard}/", str(tmp)
                        )
                        folder.parent.mkdir(parents=True, exist_ok=True)
                        with contextlib.suppress(OSError):
                            os.rename(tmp, folder)
                    finally:
                        shutil.rmtree(tmp, ignore_errors=True)
            for f in sorted(folder.glob("*.jsonl")):
                with open(f, encoding="utf-8") as fh:
                    for line in fh:
                        rec = json.loads(line)
                        if rec.get("recordId") in want:
                            out[rec["recordId"]] = rec
        return out

    def plan_folder(self, shard: str) -> Path | None:
        s = next((s for s in self.plan.shards if s.shard == shard), None)
        if s is not None and s.folder is not None and s.folder.exists():
            return s.folder
        return None

    async def add_round(self, r: int, pool: list[str], *, bigger: set[str]) -> None:
        """Packs ``pool`` into round ``r``'s shards (balanced, within the quotas), uploads them
        and records them in the state; the next passes submit them."""
        q = self.plan.spec["quotas"]
        lines = await self.lines_of(pool)
        per_job = int(q["max_records_per_job"])
        k = -(-len(pool) // per_job)
        size, extra = divmod(len(pool), k)
        at = 0
        for j in range(k):
            n = size + (1 if j < extra else 0)
            ids = pool[at : at + n]
            at += n
            name = f"r{r}-{j + 1:04d}"
            folder = self.cache / "retry" / name
            folder.mkdir(parents=True, exist_ok=True)
            files = self.write_lines(folder, [lines[i] for i in ids], bigger, q)
            for old in await self.core.list_async(f"{self.meta['input_prefix']}{name}/"):
                if old[0].rsplit("/", 1)[-1] not in {f["name"] for f in files}:
                    bucket = self.meta["input_prefix"][5:].split("/", 1)[0]
                    await self.core.delete_object_async(f"s3://{bucket}/{old[0]}")
            await self.core.upload_async(str(folder), f"{self.meta['input_prefix']}{name}/")
            self.state["shards"][name] = {"attempts": [], "round": r, "ids": ids, "files": files}
        self.state["round"] = r
        self.dirty = True

    def write_lines(
        self, folder: Path, recs: list[dict[str, Any]], bigger: set[str], q: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Writes records as JSONL files within the per-file quotas: their descriptions."""
        for old in folder.glob("*.jsonl"):
            old.unlink()
        files: list[dict[str, Any]] = []
        chunk: list[bytes] = []
        size = 0

        def flush() -> None:
            nonlocal chunk, size
            if not chunk:
                return
            name = f"part-{len(files) + 1:05d}.jsonl"
            data = b"".join(chunk)
            (folder / name).write_bytes(data)
            files.append(
                {
                    "name": name,
                    "records": len(chunk),
                    "bytes": len(data),
                    "input_tokens": sum(_core.estimate_tokens(c.decode()) for c in chunk),
                    "md5": hashlib.md5(data).hexdigest(),
                }
            )
            chunk, size = [], 0

        for rec in recs:
            limit = self.opt.retry_max_tokens
            if rec["recordId"] in bigger and limit:
                rec = {**rec, "modelInput": with_max_tokens(rec["modelInput"], limit)}
            line = (json.dumps(rec, ensure_ascii=False) + "\n").encode()
            if chunk and (
                len(chunk) >= int(q["max_records_per_file"])
                or size + len(line) > int(q["max_bytes_per_file"])
            ):
                flush()
            chunk.append(line)
            size += len(line)
        flush()
        return files

    # --- on demand ----------------------------------------------------------------------------

    def od_prefix(self) -> str:
        return f"{self.meta['output_prefix']}on-demand/"

    async def download_on_demand(self) -> None:
        """The on-demand answers written so far, into ``cache/outputs/on-demand/``."""
        if self.state["on_demand"].get("round") is None:
            return
        folder = self.cache / "outputs" / "zz-on-demand"
        listed = await self.core.list_async(self.od_prefix())
        have = {p.name for p in folder.glob("*.jsonl.out")} if folder.exists() else set()
        bucket = self.meta["output_prefix"][5:].split("/", 1)[0]
        for key, _ in listed:
            name = key.rsplit("/", 1)[-1]
            if name not in have:
                folder.mkdir(parents=True, exist_ok=True)
                got = await self.core.get_object_async(f"s3://{bucket}/{key}")
                if got is not None:
                    (folder / (name + ".tmp")).write_bytes(bytes(got[0]))
                    os.replace(folder / (name + ".tmp"), folder / name)

    async def answered_on_demand(self) -> set[str]:
        await self.download_on_demand()
        folder = self.cache / "outputs" / "zz-on-demand"
        done: set[str] = set()
        for f in sorted(folder.glob("*.jsonl.out")) if folder.exists() else []:
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    with contextlib.suppress(ValueError):
                        done.add(json.loads(line)["recordId"])
        return done

    async def run_on_demand(self, ids: list[str]) -> None:
        """Sends ``ids`` through the runtime API (Converse or InvokeModel with the record's own
        body), ``on_demand_concurrency`` at a time with backoff on throttling, writing the
        answers to S3 in chunks as batch output lines. Answers already written are skipped."""
        od = self.state["on_demand"]
        done = await self.answered_on_demand()
        todo = [i for i in ids if i not in done]
        lines = await self.lines_of(todo)
        est = sum(
            self.cost(
                _core.estimate_tokens(json.dumps(rec["modelInput"], ensure_ascii=False))
                * self.ratio(),
                self.output_per_record(),
                on_demand=True,
            )
            for rec in lines.values()
        )
        if todo and self.over_budget(est, f"sending {len(todo)} records on demand"):
            return
        bigger = set(self.state.get("bigger") or [])
        sem = asyncio.Semaphore(max(1, self.opt.on_demand_concurrency))
        written: list[dict[str, Any]] = []
        lock = asyncio.Lock()
        converse = self.plan.invocation == "Converse"
        seq = int(od.get("chunks", 0))

        async def flush() -> None:
            nonlocal written, seq
            async with lock:
                if not written:
                    return
                batch, written = written, []
                seq += 1
                body = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in batch).encode()
                key = f"{self.od_prefix()}r{od['round']}-{os.getpid()}-{seq:05d}.jsonl.out"
                await self.core.put_object_async(key, body)
                od["chunks"] = seq

        # Small remainders are written answer by answer; large ones (a deadline's) in chunks.
        every = 1 if len(todo) <= 200 else 25

        async def one(rid: str) -> None:
            rec = lines[rid]
            mi = rec["modelInput"]
            if rid in bigger and self.opt.retry_max_tokens:
                mi = with_max_tokens(mi, self.opt.retry_max_tokens)
            body = json.dumps(mi, ensure_ascii=False).encode()
            out: dict[str, Any] = {"recordId": rid, "modelInput": mi}
            for _ in range(3):  # an answer that is not the JSON asked for is asked again
                out = await ask(rid, mi, body)
                if self.answer_ok(out):
                    break
            written.append(out)
            if len(written) >= every:
                await flush()

        async def ask(rid: str, mi: dict[str, Any], body: bytes) -> dict[str, Any]:
            out: dict[str, Any] = {"recordId": rid, "modelInput": mi}
            async with sem:
                delay = 1.0
                for attempt in range(8):
                    try:
                        if converse:
                            raw = await self.core.converse_async(self.plan.model, body)
                        else:
                            raw = await self.core.invoke_model_async(self.plan.model, body)
                        out["modelOutput"] = json.loads(bytes(raw))
                        break
                    except ThrottlingError:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 30.0)
                    except AwsError as e:
                        code = str(getattr(e, "code", "Unknown"))
                        if retryable("failed", code, str(e), None) and attempt < 7:
                            await asyncio.sleep(delay)
                            delay = min(delay * 2, 30.0)
                            continue
                        out["error"] = {"errorCode": code, "errorMessage": str(e)}
                        break
                else:
                    out["error"] = {"errorCode": "ThrottlingException", "errorMessage": "throttled"}
            return out

        tasks = [asyncio.ensure_future(one(i)) for i in todo if i in lines]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await flush()
        od["done"] = True
        self.dirty = True
        await self.save()

    def answer_ok(self, out: dict[str, Any]) -> bool:
        """Whether an on-demand answer is final: an error, or an answer collect reads as
        succeeded (or cut at max_tokens, which asking again would not change)."""
        if "modelOutput" not in out:
            return True
        line = (json.dumps(out, ensure_ascii=False) + "\n").encode()
        spec = self.plan.spec
        if not (spec.get("schema") or spec.get("json")):
            return True
        res = read_results(
            line,
            json=bool(spec.get("json")),
            schema=spec.get("schema"),
            prefill=spec["prompt"].get("prefill"),
        ).columns()
        return res["status"][0] != "invalid_output" or res["stop_reason"][0] in TRUNCATED

    # --- the deadline -------------------------------------------------------------------------

    def left_records(self) -> int:
        left = 0
        for s in self.shards():
            att = self.current(s.shard)
            if att is None:
                left += s.records
            elif not att.get("collected"):
                done = int((att.get("counts") or {}).get("processed") or 0)
                left += max(s.records - done, 0)
        return left

    async def check_deadline(self) -> None:
        """When the time left is less than the on-demand drain time of what is left, the active
        jobs are stopped (their finished records kept) and the remainder goes on demand."""
        if self.opt.deadline is None or self.state["deadline_hit"]:
            return
        rate = self.opt.on_demand_rate or 11.0 * self.opt.on_demand_concurrency
        drain = self.left_records() / max(rate, 1e-9) * 60.0
        if time.time() + drain < self.opt.deadline:
            return
        self.state["deadline_hit"] = True
        self.dirty = True
        await self.stop_active(reason="deadline")

    async def deadline_remainder(self) -> None:
        """Once every job is final after the deadline: what is left goes on demand (or ends
        missing with the reason)."""
        if not self.state["deadline_hit"] or self.state["on_demand"].get("round") is not None:
            return
        if any(
            (a := self.current(s.shard)) and not a.get("collected") and a.get("job_arn")
            for s in self.shards()
        ):
            return
        res = await self.outcomes()
        cols = res.columns()
        left = [
            rid
            for rid, st in zip(cols["recordId"], cols["status"])
            if st != "succeeded" and rid not in self.state["final"]
        ]
        if self.opt.on_demand:
            self.state["on_demand"] = {
                "ids": left,
                "round": int(self.state["round"]) + 1,
                "done": False,
            }
        else:
            for rid in left:
                self.state["final"][rid] = "not finished by the deadline (on_demand=False)"
        self.dirty = True
        await self.save()

    # --- one pass -------------------------------------------------------------------------------

    def done(self) -> bool:
        """Nothing is left to send, wait for or collect."""
        if self.state.get("paused"):
            return False
        for s in self.shards():
            att = self.current(s.shard)
            if att is None:
                if self.state.get("stopped") or self.state["deadline_hit"]:
                    continue
                return False
            if not att.get("collected"):
                if att.get("job_arn") is None and self.state["deadline_hit"]:
                    continue
                return False
            if self.resubmit_due(s.shard, att) and not (
                self.state.get("stopped") or self.state["deadline_hit"]
            ):
                return False
        od = self.state["on_demand"]
        if od.get("round") is not None and not od.get("done"):
            return False
        if self.state.get("stopped"):
            return True
        if self.state["deadline_hit"]:
            return od.get("round") is not None or not self.opt.on_demand
        if od.get("round") is not None:
            return True  # the remainder went on demand: nothing after it
        return self.round_done(int(self.state["round"])) and self.settled()

    def settled(self) -> bool:
        return bool(self.state.get("settled_round") == self.state["round"])

    async def step(self, cap: int) -> bool:
        """One pass: refresh, collect, recover, submit (or stop). True when the run is done."""
        if not self.state.get("stopped") and await self.store.get("stop.json") is not None:
            self.state["stopped"] = True  # `stop` asked from another process
            self.dirty = True
        await self.refresh()
        await self.collect_finished()
        if self.state.get("stopped"):
            await self.stop_active()
        else:
            await self.check_deadline()
            await self.stop_stalled()
            await self.deadline_remainder()
            if not self.state["deadline_hit"]:
                before = self.state["round"]
                await self.next_round()
                if (
                    self.state["round"] == before
                    and self.round_done(before)
                    and self.state["on_demand"].get("round") is None
                    and not self.state.get("paused")
                ):
                    self.state["settled_round"] = before  # nothing more to send
                    self.dirty = True
            await self.submit_ready(cap)
            od = self.state["on_demand"]
            if od.get("round") is not None and not od.get("done") and not self.state.get("paused"):
                await self.run_on_demand(list(od["ids"]))
        await self.save()
        if self.state.get("paused"):
            raise BudgetExceededError(self.state["paused"]["message"])
        return self.done()

    # --- reading ---------------------------------------------------------------------------

    def progress(self) -> tuple[int, dict[str, int]]:
        """Records processed so far (first pass) and the number of jobs in each state."""
        done = 0
        states: dict[str, int] = {}
        for s in self.shards():
            att = self.current(s.shard)
            state = (att or {}).get("status") or ("creating" if att else "pending")
            states[state] = states.get(state, 0) + 1
            if att is None or self.round_of(s.shard) > 0:
                continue
            if att.get("collected"):
                done += s.records
            else:
                done += int((att.get("counts") or {}).get("processed") or 0)
        return done, states


def is_pilot(shard: str) -> bool:
    return shard == PILOT or shard.startswith(PILOT + "-")


def with_max_tokens(mi: dict[str, Any], n: int) -> dict[str, Any]:
    """``modelInput`` with its output limit raised to ``n``, whatever the family calls it."""
    mi = json.loads(json.dumps(mi))
    if "max_tokens" in mi:
        mi["max_tokens"] = n  # Claude messages
    elif "max_gen_len" in mi:
        mi["max_gen_len"] = n  # Llama
    elif isinstance(mi.get("inferenceConfig"), dict):
        cfg = mi["inferenceConfig"]
        if "max_new_tokens" in cfg:
            cfg["max_new_tokens"] = n  # Nova
        else:
            cfg["maxTokens"] = n  # Converse
    return mi


def _usage(out: Any) -> tuple[int, int]:
    if not isinstance(out, dict):
        return 0, 0
    u = out.get("usage") or {}
    tin = u.get("input_tokens", u.get("inputTokens", out.get("prompt_token_count", 0)))
    tout = u.get("output_tokens", u.get("outputTokens", out.get("generation_token_count", 0)))
    return int(tin or 0), int(tout or 0)


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
