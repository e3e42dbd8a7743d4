"""Submit, monitor, stop and collect Bedrock batch jobs: ``Client`` and ``Job``.

Every network call has an ``_async`` twin that returns an awaitable (usable inside Jupyter's
running loop); the sync call works there too (it blocks on the library's own runtime, with the
GIL released, never on asyncio).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from ._core import Records, Shard
from .collect import Results, read_results
from .exceptions import InputError

__all__ = ["ACTIVE_STATES", "FINAL_STATES", "Check", "Client", "Job"]

FINAL_STATES = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
# The states that count against Bedrock's per-model cap of submitted + in-progress jobs.
ACTIVE_STATES = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
ROLE_ARN = re.compile(r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+")


def _job_dir(shards_or_dir: Any) -> Path:
    if isinstance(shards_or_dir, (str, os.PathLike)):
        d = Path(shards_or_dir)
        if not d.exists():
            raise InputError(f"{d} does not exist")
        if d.is_dir():
            jobs = sorted(p for p in d.iterdir() if p.is_dir() and p.name.startswith("job-"))
            if jobs and not list(d.glob("*.jsonl")):
                if len(jobs) == 1:
                    return jobs[0]
                raise InputError(
                    f"{d} holds {len(jobs)} job folders: submit each (Client.submit_all)"
                )
        return d
    shards = list(shards_or_dir)
    if not shards or not all(isinstance(s, Shard) for s in shards):
        raise InputError("submit takes a job folder, a .jsonl file, or the Shards of one job")
    dirs = {s.job_dir for s in shards}
    if len(dirs) == 1:
        folder = Path(next(iter(dirs)))
        given = {Path(s.path).name for s in shards}
        on_disk = {p.name for p in folder.glob("*.jsonl")}
        if given != on_disk:
            raise InputError(
                f"the shards given are {len(given)} of the {len(on_disk)} files in {folder}: a job "
                "uploads its whole folder; to run a subset, write it with Records.exclude() first"
            )
    if len(dirs) != 1:
        raise InputError(
            f"these shards belong to {len(dirs)} jobs: submit each job folder (Client.submit_all)"
        )
    return Path(dirs.pop())


def _converse_of(folder: Path, model: str) -> bool:
    """Reads one line: a non-Nova model with block messages and no anthropic_version runs as Converse."""
    files = [folder] if folder.is_file() else sorted(folder.glob("*.jsonl"))
    if not files:
        return False
    with open(files[0], encoding="utf-8") as f:
        first = f.readline()
    try:
        mi = json.loads(first).get("modelInput", {})
    except ValueError:
        return False
    try:
        family = _core.model_info(model)["family"]
    except InputError:
        family = None  # Bedrock itself will judge the model id
    return family != "nova" and "inferenceConfig" in mi and "anthropic_version" not in mi


@dataclass(frozen=True)
class Check:
    """One preflight check: ``status`` is "pass", "fail" (with the fix) or "skipped" (with why)."""

    name: str
    status: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.status:^7}] {self.name}: {self.detail}"


class Client:
    """S3 and Bedrock for batch jobs, from the standard AWS chain (environment, profiles, SSO,
    container and instance roles) with the standard endpoint overrides (``AWS_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_BEDROCK``) or an explicit ``endpoint_url``."""

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        *,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
        _credentials: tuple[str, str] | None = None,
    ) -> None:
        key, secret = _credentials if _credentials else (None, None)
        self._core = _core._AwsClient(
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            access_key_id=key,
            secret_access_key=secret,
            connect_timeout=connect_timeout,
            max_attempts=max_attempts,
        )

    def __repr__(self) -> str:  # never shows credentials
        return f"Client(region={self._core.region!r}, endpoint_url={self._core.endpoint_url!r})"

    @property
    def region(self) -> str | None:
        return self._core.region

    # --- S3 ---------------------------------------------------------------------------------

    def upload(self, local: str | os.PathLike[str], uri: str) -> list[tuple[str, int, str]]:
        """Uploads a file or folder to ``s3://bucket/prefix``: [(key, bytes, etag)]."""
        return self._core.upload(os.fspath(local), uri)

    async def upload_async(
        self, local: str | os.PathLike[str], uri: str
    ) -> list[tuple[str, int, str]]:
        return await self._core.upload_async(os.fspath(local), uri)

    def download(self, uri: str, local_dir: str | os.PathLike[str]) -> list[Path]:
        """Downloads everything under ``uri`` into ``local_dir``."""
        return [Path(p) for p in self._core.download(uri, os.fspath(local_dir))]

    async def download_async(self, uri: str, local_dir: str | os.PathLike[str]) -> list[Path]:
        return [Path(p) for p in await self._core.download_async(uri, os.fspath(local_dir))]

    # --- jobs ---------------------------------------------------------------------------------

    @staticmethod
    def _check_prefix(folder: Path, input_uri: str, listing: list[tuple[str, int]]) -> None:
        """Refuses an input prefix that holds other objects: Bedrock would read them too."""
        files = [folder] if folder.is_file() else list(folder.iterdir())
        names = {p.name for p in files if p.is_file() and not p.name.startswith(".")}
        base = input_uri[5:].partition("/")[2]
        stale = [k for k, _ in listing if k[len(base) :] not in names]
        if stale:
            raise InputError(
                f"{input_uri} already holds {len(stale)} other object(s) (e.g. {stale[0]}): "
                "Bedrock reads every .jsonl under the prefix; use a new prefix or delete them"
            )

    def _submit_args(
        self,
        shards_or_dir: Any,
        model: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        name: str,
        invocation: str,
        timeout_hours: int | None,
        tags: Mapping[str, str] | None,
        kms_key: str | None,
        vpc: Mapping[str, Sequence[str]] | None,
        client_request_token: str | None = None,
    ) -> tuple[Path, dict[str, Any]]:
        folder = _job_dir(shards_or_dir)
        if invocation not in ("auto", "invoke", "converse"):
            raise InputError(
                f'invocation must be "auto", "invoke" or "converse", got {invocation!r}'
            )
        converse = invocation == "converse" or (
            invocation == "auto" and _converse_of(folder, model)
        )
        if not input_uri.endswith("/"):
            input_uri += "/"
        return folder, {
            "name": name,
            "role_arn": role_arn,
            "model_id": model,
            "input_uri": input_uri,
            "output_uri": output_uri,
            "kms_key": kms_key,
            "timeout_hours": timeout_hours,
            "tags": sorted((tags or {}).items()),
            "converse": converse,
            "subnet_ids": list((vpc or {}).get("subnet_ids", [])) or None,
            "security_group_ids": list((vpc or {}).get("security_group_ids", [])) or None,
            "client_request_token": client_request_token,
        }

    def submit(
        self,
        shards_or_dir: Any,
        *,
        model: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        name: str,
        invocation: str = "auto",
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key: str | None = None,
        vpc: Mapping[str, Sequence[str]] | None = None,
        records: Records | None = None,
        client_request_token: str | None = None,
    ) -> Job:
        """Uploads one job's input (a job folder, a .jsonl file or its Shards) to ``input_uri``
        and creates the batch job. The name is made valid for Bedrock; the idempotency token is
        derived from the uploaded content and the request, so a retried submit never creates a
        second billed job (pass ``client_request_token`` to run the same input again on
        purpose). ``invocation="auto"`` reads the input to tell Converse bodies. An input prefix
        that already holds other objects is refused: Bedrock would read them too."""
        folder, args = self._submit_args(
            shards_or_dir,
            model,
            role_arn,
            input_uri,
            output_uri,
            name,
            invocation,
            timeout_hours,
            tags,
            kms_key,
            vpc,
            client_request_token,
        )
        self._check_prefix(folder, args["input_uri"], self._core.list(args["input_uri"]))
        out = self._core.submit(os.fspath(folder), **args)
        return Job(self, out["job_arn"], records=records)

    async def submit_async(
        self,
        shards_or_dir: Any,
        *,
        model: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        name: str,
        invocation: str = "auto",
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key: str | None = None,
        vpc: Mapping[str, Sequence[str]] | None = None,
        records: Records | None = None,
        client_request_token: str | None = None,
    ) -> Job:
        folder, args = self._submit_args(
            shards_or_dir,
            model,
            role_arn,
            input_uri,
            output_uri,
            name,
            invocation,
            timeout_hours,
            tags,
            kms_key,
            vpc,
            client_request_token,
        )
        listing = await self._core.list_async(args["input_uri"])
        self._check_prefix(folder, args["input_uri"], listing)
        out = await self._core.submit_async(os.fspath(folder), **args)
        return Job(self, out["job_arn"], records=records)

    def _folders(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        folders = sorted(
            p for p in Path(out_dir).iterdir() if p.is_dir() and p.name.startswith("job-")
        )
        if not folders:
            raise InputError(f"{out_dir} has no job-* folders (write them with Records.write)")
        return folders

    @staticmethod
    def _one_of_all(
        folder: Path, name: str, input_uri: str, records: Records | None
    ) -> tuple[str, str, Records | None]:
        suffix = "-" + folder.name.removeprefix("job-")
        # Shorten the base, never the suffix: the jobs must keep distinct names.
        job_name = _core.valid_job_name(name)[: 63 - len(suffix)] + suffix
        mine = None
        if records is not None:
            ids = _ids_in(folder)
            mine = records.exclude([i for i in records.ids if i not in ids])
        return job_name, f"{input_uri.rstrip('/')}/{folder.name}/", mine

    def active_jobs(self, model: str) -> list[Job]:
        """The jobs of ``model``'s foundation model that count against Bedrock's per-model cap
        (Submitted, Validating, Scheduled, InProgress, Stopping), whatever id form each job
        reports (model id, inference profile or ARN). Lists only jobs in those states."""
        base = _core.base_model_id(model)
        out: list[Job] = []
        for status in ACTIVE_STATES:
            for j in self.jobs(status=status):
                if _core.base_model_id(str(j.info.get("model_id", ""))) == base:
                    out.append(j)
        return out

    async def active_jobs_async(self, model: str) -> list[Job]:
        base = _core.base_model_id(model)
        pages = await asyncio.gather(*(self.jobs_async(status=s) for s in ACTIVE_STATES))
        return [
            j
            for page in pages
            for j in page
            if _core.base_model_id(str(j.info.get("model_id", ""))) == base
        ]

    def submit_all(
        self,
        out_dir: str | os.PathLike[str],
        *,
        model: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        name: str,
        max_concurrent_jobs: int = 20,
        poll_interval: float = 60,
        invocation: str = "auto",
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key: str | None = None,
        vpc: Mapping[str, Sequence[str]] | None = None,
        records: Records | None = None,
    ) -> list[Job]:
        """Submits every ``job-NNNN`` folder that ``Records.write`` made, one job each (input
        under ``input_uri/job-NNNN/``, name ``name-NNNN``), waiting whenever this model already
        has ``max_concurrent_jobs`` submitted or in progress (Bedrock's quota, counted per
        foundation model: see :meth:`active_jobs`). For a whole corpus with a record of what
        was sent, resumable after a crash, use :class:`bedrock_batch.Run`."""
        jobs: list[Job] = []
        for folder in self._folders(out_dir):
            while len(self.active_jobs(model)) >= max_concurrent_jobs:
                time.sleep(poll_interval)
            job_name, uri, mine = self._one_of_all(folder, name, input_uri, records)
            jobs.append(
                self.submit(
                    folder,
                    model=model,
                    role_arn=role_arn,
                    input_uri=uri,
                    output_uri=output_uri,
                    name=job_name,
                    records=mine,
                    invocation=invocation,
                    timeout_hours=timeout_hours,
                    tags=tags,
                    kms_key=kms_key,
                    vpc=vpc,
                )
            )
        return jobs

    async def submit_all_async(
        self,
        out_dir: str | os.PathLike[str],
        *,
        model: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        name: str,
        max_concurrent_jobs: int = 20,
        poll_interval: float = 60,
        invocation: str = "auto",
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key: str | None = None,
        vpc: Mapping[str, Sequence[str]] | None = None,
        records: Records | None = None,
    ) -> list[Job]:
        jobs: list[Job] = []
        for folder in self._folders(out_dir):
            while len(await self.active_jobs_async(model)) >= max_concurrent_jobs:
                await asyncio.sleep(poll_interval)
            job_name, uri, mine = self._one_of_all(folder, name, input_uri, records)
            jobs.append(
                await self.submit_async(
                    folder,
                    model=model,
                    role_arn=role_arn,
                    input_uri=uri,
                    output_uri=output_uri,
                    name=job_name,
                    records=mine,
                    invocation=invocation,
                    timeout_hours=timeout_hours,
                    tags=tags,
                    kms_key=kms_key,
                    vpc=vpc,
                )
            )
        return jobs

    def job(self, job_arn: str) -> Job:
        """The job with this ARN (or 12-character job id), fetched now."""
        return Job(self, job_arn).refresh()

    async def job_async(self, job_arn: str) -> Job:
        return await Job(self, job_arn).refresh_async()

    def jobs(
        self,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        submitted_after: Any = None,
    ) -> list[Job]:
        """ListModelInvocationJobs (every page), newest first."""
        infos = self._core.list_jobs(
            status=status, name_contains=name_contains, submitted_after=_epoch(submitted_after)
        )
        return [Job(self, i["job_arn"], info=i) for i in infos]

    async def jobs_async(
        self,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        submitted_after: Any = None,
    ) -> list[Job]:
        infos = await self._core.list_jobs_async(
            status=status, name_contains=name_contains, submitted_after=_epoch(submitted_after)
        )
        return [Job(self, i["job_arn"], info=i) for i in infos]

    @staticmethod
    def _static_checks(role_arn: str, model: str) -> list[Check]:
        checks: list[Check] = []
        try:
            info = _core.model_info(model)
            checks.append(Check("model", "pass", f"{model}: {info['family']} request format"))
        except Exception as e:
            checks.append(Check("model", "fail", str(e)))
        if ROLE_ARN.fullmatch(role_arn):
            checks.append(Check("role ARN", "pass", role_arn))
        else:
            checks.append(
                Check("role ARN", "fail", f"{role_arn!r} is not arn:aws:iam::<account>:role/<name>")
            )
        return checks

    @staticmethod
    def _probe_checks(label: str, uri: str, steps: Any) -> list[Check]:
        if isinstance(steps, BaseException):
            return [Check(f"{label} prefix", "fail", f"{uri}: {steps}")]
        return [
            Check(
                f"{label} prefix {step}", "pass" if ok else "fail", uri if ok else f"{uri}: {err}"
            )
            for step, ok, err in steps
        ]

    _SKIPPED = Check(
        "role trust and permissions",
        "skipped",
        "needs iam:GetRole and iam:SimulatePrincipalPolicy, which this version does not call; see bb.iam.role_policy for what the role needs",
    )

    def preflight(
        self, *, role_arn: str, input_uri: str, output_uri: str, model: str
    ) -> list[Check]:
        """Checks before any data is uploaded: the model is known, the role ARN is well formed,
        credentials resolve and the caller can write, read, list and delete under both prefixes
        (with a probe object it removes). IAM policy checks are reported as skipped."""
        checks = self._static_checks(role_arn, model)
        for label, uri in (("input", input_uri), ("output", output_uri)):
            try:
                steps: Any = self._core.probe(uri)
            except Exception as e:
                steps = e
            checks += self._probe_checks(label, uri, steps)
        return [*checks, self._SKIPPED]

    async def preflight_async(
        self, *, role_arn: str, input_uri: str, output_uri: str, model: str
    ) -> list[Check]:
        checks = self._static_checks(role_arn, model)
        for label, uri in (("input", input_uri), ("output", output_uri)):
            try:
                steps: Any = await self._core.probe_async(uri)
            except Exception as e:
                steps = e
            checks += self._probe_checks(label, uri, steps)
        return [*checks, self._SKIPPED]


def _ids_in(folder: Path) -> set[str]:
    ids: set[str] = set()
    for f in sorted(folder.glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rid = json.loads(line).get("recordId")
                    if rid is not None:
                        ids.add(str(rid))
    return ids


def _epoch(t: Any) -> float | None:
    if t is None:
        return None
    if isinstance(t, (int, float)):
        return float(t)
    return float(t.timestamp())


class Job:
    """A batch inference job. ``status``, ``counts`` and ``info`` are as of the last refresh."""

    def __init__(
        self,
        client: Client,
        arn: str,
        *,
        info: Mapping[str, Any] | None = None,
        records: Records | None = None,
    ) -> None:
        self.client = client
        self.arn = arn
        self.info: dict[str, Any] = dict(info or {})
        self.records = records

    def __repr__(self) -> str:
        return f"Job({self.arn!r}, status={self.status!r})"

    @property
    def job_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def name(self) -> str | None:
        return self.info.get("job_name")

    @property
    def status(self) -> str | None:
        return self.info.get("status")

    @property
    def message(self) -> str | None:
        return self.info.get("message")

    @property
    def counts(self) -> dict[str, int | None]:
        """Record counts: total, processed, success, error (None until Bedrock reports them)."""
        i = self.info
        return {
            "total": i.get("total_records"),
            "processed": i.get("processed_records"),
            "success": i.get("success_records"),
            "error": i.get("error_records"),
        }

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATES

    def refresh(self) -> Job:
        """GetModelInvocationJob."""
        self.info = dict(self.client._core.get_job(self.arn))
        return self

    async def refresh_async(self) -> Job:
        self.info = dict(await self.client._core.get_job_async(self.arn))
        return self

    def stop(self) -> None:
        """StopModelInvocationJob (records already processed are billed and kept)."""
        self.client._core.stop_job(self.arn)

    async def stop_async(self) -> None:
        await self.client._core.stop_job_async(self.arn)

    def _bar(self, progress: bool) -> Any:
        if not progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=0, unit="rec", desc=self.name or self.job_id)

    def _tick(self, bar: Any) -> None:
        if bar is None:
            return
        c = self.counts
        if c["total"] and bar.total != c["total"]:
            bar.total = c["total"]
        bar.n = c["processed"] or 0
        bar.set_postfix_str(str(self.status), refresh=False)
        bar.refresh()

    def wait(
        self, *, poll_interval: float = 60, timeout: float | None = None, progress: bool = True
    ) -> Job:
        """Polls until a final state (Completed, PartiallyCompleted, Failed, Stopped, Expired),
        with a tqdm bar of processed/total records; ``TimeoutError`` after ``timeout`` seconds."""
        bar = self._bar(progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                self.refresh()
                self._tick(bar)
                if self.done:
                    return self
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{self.arn} is still {self.status} after {timeout} s")
                time.sleep(poll_interval)
        finally:
            if bar is not None:
                bar.close()

    async def wait_async(
        self, *, poll_interval: float = 60, timeout: float | None = None, progress: bool = True
    ) -> Job:
        bar = self._bar(progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                await self.refresh_async()
                self._tick(bar)
                if self.done:
                    return self
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{self.arn} is still {self.status} after {timeout} s")
                await asyncio.sleep(poll_interval)
        finally:
            if bar is not None:
                bar.close()

    def _output_prefix(self) -> str:
        if "output_uri" not in self.info:
            self.refresh()
        base = str(self.info["output_uri"]).rstrip("/")
        return f"{base}/{self.job_id}/"

    def download(self, local_dir: str | os.PathLike[str]) -> list[Path]:
        """Downloads ``<output>/<jobId>/`` (the .jsonl.out files and manifest.json.out)."""
        return self.client.download(self._output_prefix(), local_dir)

    async def download_async(self, local_dir: str | os.PathLike[str]) -> list[Path]:
        return await self.client.download_async(self._output_prefix(), local_dir)

    def _target(self, local_dir: str | os.PathLike[str] | None) -> Path:
        base = Path(local_dir) if local_dir is not None else Path(tempfile.mkdtemp(prefix="bb-"))
        return base / self.job_id  # one folder per job: outputs of several jobs never mix

    def results(
        self,
        local_dir: str | os.PathLike[str] | None = None,
        *,
        inputs: Any = None,
        json: bool = False,
        schema: Sequence[str] | Mapping[str, Any] | None = None,
        prefill: str | None = None,
        id_column: str | None = None,
    ) -> Results:
        """Downloads the outputs to ``local_dir/<jobId>/`` and reads them (the options are
        :func:`~bedrock_batch.read_results`'s). A PartiallyCompleted, Stopped or Expired job
        keeps every record that finished; with the Records it was submitted from (or
        ``inputs``), the rest are ``missing`` and listed by ``retry_ids()``."""
        target = self._target(local_dir)
        self.download(target)
        return _read(
            target, self.records if inputs is None else inputs, json, schema, prefill, id_column
        )

    async def results_async(
        self,
        local_dir: str | os.PathLike[str] | None = None,
        *,
        inputs: Any = None,
        json: bool = False,
        schema: Sequence[str] | Mapping[str, Any] | None = None,
        prefill: str | None = None,
        id_column: str | None = None,
    ) -> Results:
        target = self._target(local_dir)
        await self.download_async(target)
        return _read(
            target, self.records if inputs is None else inputs, json, schema, prefill, id_column
        )


def _read(
    target: Path,
    inputs: Any,
    json: bool,
    schema: Sequence[str] | Mapping[str, Any] | None,
    prefill: str | None,
    id_column: str | None,
) -> Results:
    target.mkdir(parents=True, exist_ok=True)
    if not any(target.rglob("*.out")):
        if inputs is None:
            raise InputError(
                f"the job wrote no output under {target} (it may have failed validation)"
            )
        empty = target / "empty.jsonl.out"
        empty.write_bytes(b"")
    return read_results(
        target, inputs=inputs, json=json, schema=schema, prefill=prefill, id_column=id_column
    )
