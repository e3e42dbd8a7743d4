"""A local Amazon Bedrock batch inference emulator: S3 (moto's server) and the Bedrock batch
control plane on one loopback HTTP endpoint.

The control plane speaks the REST-JSON of the ``bedrock`` 2023-04-20 service model in botocore
(CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs,
StopModelInvocationJob: paths, methods, status codes, ``x-amzn-ErrorType`` error bodies) and
validates requests against that model. A worker moves jobs through Submitted, Validating,
Scheduled, InProgress and a final state, validates the input with the pack stage's quotas,
answers each record with a pluggable responder and writes ``<output>/<jobId>/<file>.out``
(shuffled) and ``manifest.json.out``. Requests signed for the ``bedrock`` service go to the
control plane; everything else goes to moto's S3.

    with bb.emulator.start() as emu:
        client = emu.client()

:func:`spawn` runs the same emulator in a process of its own (``bedrock-batch emulator``), so
that it outlives the clients a test kills; its handle has the same helpers.

Needs the ``[local]`` extra (``moto[server]``, ``boto3``). moto keeps S3 state per process:
two emulators in one process see the same buckets (the Bedrock jobs are per emulator).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import random
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from ._base import ACCOUNT, EmulatorClients
from ._model import Invalid, check, error_status, service_model
from ._responder import RecordError, Responder, default_responder
from ._spawn import EmulatorProcess, spawn

__all__ = [
    "Emulator",
    "EmulatorClients",
    "EmulatorProcess",
    "RecordError",
    "Responder",
    "default_responder",
    "model_arn",
    "spawn",
    "start",
]

FINAL = {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}
# The states a job counts against the concurrent-jobs quota in.
ACTIVE = {"Submitted", "Validating", "Scheduled", "InProgress", "Stopping"}
OUTCOMES = ("Failed", "PartiallyCompleted", "Expired")
MODEL_ID_FORMS = ("as-given", "arn")


def _now() -> float:
    return time.time()


def _parse_iso8601(value: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp, as the model's ``Timestamp`` (iso8601)
    is sent in a query string; a time without an offset is UTC."""
    m = _ISO8601.fullmatch(value)
    if not m:
        raise ValueError(value)
    date, frac, zone = m.group(1), m.group(2) or "", m.group(3) or "Z"
    t = _dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=_dt.timezone.utc)
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return t.timestamp() + (float(frac) if frac else 0.0) - offset


_ISO8601 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE
)


def model_arn(model_id: str, region: str) -> str:
    """The ARN form of a model id, as Bedrock reports some jobs' ``modelId``: an inference profile
    id (``us.``, ``eu.``, ...) becomes the profile's ARN, a foundation-model id the model's ARN;
    an ARN, or a name that is neither, is returned as it is."""
    from .. import _core

    if model_id.startswith("arn:") or "." not in model_id:
        return model_id
    if _core.base_model_id(model_id) != model_id:
        return f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model_id}"
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return (
        _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


@dataclass
class _Job:
    arn: str
    job_id: str
    request: dict[str, Any]
    status: str = "Submitted"
    message: str | None = None
    submit_time: float = field(default_factory=_now)
    last_modified: float = field(default_factory=_now)
    end_time: float | None = None
    next_step: float = 0.0
    total: int | None = None
    processed: int = 0
    success: int = 0
    errors: int = 0
    stop_requested: bool = False
    outcome: str | None = None
    work: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = field(default_factory=list)
    done: dict[str, list[str]] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0

    def view(self, model_id: str | None = None) -> dict[str, Any]:
        """The job as Get/List report it; ``model_id`` replaces the id it was created with."""
        r = self.request
        out: dict[str, Any] = {
            "jobArn": self.arn,
            "jobName": r["jobName"],
            "modelId": model_id or r["modelId"],
            "clientRequestToken": r.get("clientRequestToken"),
            "roleArn": r["roleArn"],
            "status": self.status,
            "message": self.message,
            "submitTime": _iso(self.submit_time),
            "lastModifiedTime": _iso(self.last_modified),
            "endTime": _iso(self.end_time),
            "inputDataConfig": r["inputDataConfig"],
            "outputDataConfig": r["outputDataConfig"],
            "vpcConfig": r.get("vpcConfig"),
            "timeoutDurationInHours": r.get("timeoutDurationInHours", 24),
            "jobExpirationTime": _iso(
                self.submit_time + 3600 * r.get("timeoutDurationInHours", 24)
            ),
            "modelInvocationType": r.get("modelInvocationType", "InvokeModel"),
            "totalRecordCount": self.total,
            "processedRecordCount": self.processed if self.total is not None else None,
            "successRecordCount": self.success if self.total is not None else None,
            "errorRecordCount": self.errors if self.total is not None else None,
        }
        return {k: v for k, v in out.items() if v is not None}


class _ApiError(Exception):
    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        self.shape = shape
        self.message = message


class Emulator(EmulatorClients):
    """The emulator; see the module docs. Use :func:`start`, or ``Emulator(...).start()``.

    Knobs: ``time_scale`` (seconds per state step and per slice of records), ``error_rate``
    (fraction of records answered with an error line), ``throttle_rate`` (fraction of control
    plane calls answered 429 ThrottlingException), ``outcomes`` (job-name substring -> final
    state "Failed", "PartiallyCompleted" or "Expired"; a job tag ``emulator:outcome`` does the
    same), ``partial_fraction`` (records left unprocessed by PartiallyCompleted), ``deny_roles``
    (role-ARN substrings answered AccessDeniedException, as a missing iam:PassRole is), ``quotas`` (the
    validation limits; default: ``bb.Quotas()``), ``responder(family, converse) -> Responder``,
    ``seed``, ``max_concurrent_jobs`` (jobs per foundation model in Submitted, Validating,
    Scheduled, InProgress or Stopping, whatever id form they were created with; one more is
    answered ServiceQuotaExceededException, as AWS's default quota of 20 is), ``model_id_form``
    (``"as-given"``: Get/List report ``modelId`` as it was sent; ``"arn"``: as an ARN, see
    :func:`model_arn`, as Bedrock does for some jobs). ``time_scale=0`` runs jobs as fast as the
    worker can.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        time_scale: float = 0.05,
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        outcomes: Mapping[str, str] | None = None,
        partial_fraction: float = 0.5,
        quotas: Any = None,
        responder: Callable[[str, bool], Responder] | None = None,
        deny_roles: tuple[str, ...] = ("NoPassRole",),
        seed: int = 0,
        max_concurrent_jobs: int = 20,
        model_id_form: str = "as-given",
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator listens on loopback only")
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale}")
        if max_concurrent_jobs < 0:
            raise ValueError(f"max_concurrent_jobs must be >= 0, not {max_concurrent_jobs}")
        if model_id_form not in MODEL_ID_FORMS:
            raise ValueError(
                f"model_id_form must be one of {MODEL_ID_FORMS}, not {model_id_form!r}"
            )
        for name, state in (outcomes or {}).items():
            if state not in OUTCOMES:
                raise ValueError(f"outcome {name}={state}: the state must be one of {OUTCOMES}")
        self.host, self.port, self.region = host, port, region
        self.time_scale = time_scale
        self.error_rate = error_rate
        self.throttle_rate = throttle_rate
        self.outcomes = dict(outcomes or {})
        self.partial_fraction = partial_fraction
        self.quotas = quotas
        self.responder = responder or default_responder
        self.deny_roles = deny_roles
        self.seed = seed
        self.max_concurrent_jobs = max_concurrent_jobs
        self.model_id_form = model_id_form
        self._jobs: dict[str, _Job] = {}
        self._by_token: dict[str, str] = {}
        self._lock = threading.RLock()
        self._calls = 0
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._s3: Any = None

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Emulator:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            auth = environ.get("HTTP_AUTHORIZATION", "")
            if "/bedrock/aws4_request" in auth:
                return self._bedrock(environ, start_response)
            if environ["REQUEST_METHOD"] == "POST" and "uploadId=" in environ.get(
                "QUERY_STRING", ""
            ):
                return _complete_multipart(moto_app, environ, start_response)
            return moto_app(environ, start_response)

        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=Quiet)
        self.port = self._server.server_port
        t = threading.Thread(
            target=self._server.serve_forever, name="bb-emulator-http", daemon=True
        )
        t.start()
        w = threading.Thread(target=self._work, name="bb-emulator-worker", daemon=True)
        w.start()
        self._threads = [t, w]
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=10)

    def __enter__(self) -> Emulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the control plane -------------------------------------------------------------

    def _bedrock(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        raw_path = raw_path.split("?", 1)[0]
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            with self._lock:
                self._calls += 1
                calls = self._calls
            if (
                self.throttle_rate
                and (calls * self.throttle_rate) % 1.0 + self.throttle_rate >= 1.0
            ):
                raise _ApiError(
                    "ThrottlingException", "Too many requests, please wait before trying again."
                )
            status, payload = self._route(method, raw_path, query, body)
        except _ApiError as e:
            data = json.dumps({"message": e.message}).encode()
            start_response(
                f"{error_status(e.shape)} Error",
                [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", e.shape),
                    ("Content-Length", str(len(data))),
                ],
            )
            return iter([data])
        data = json.dumps(payload).encode()
        start_response(
            f"{status} OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return iter([data])

    def _route(
        self, method: str, raw_path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = [urllib.parse.unquote(p) for p in raw_path.strip("/").split("/")]
        if method == "POST" and parts == ["model-invocation-job"]:
            return 200, self._create(body)
        if method == "GET" and parts == ["model-invocation-jobs"]:
            return 200, self._list(query)
        if len(parts) >= 2 and parts[0] == "model-invocation-job":
            ident = "/".join(parts[1:-1]) if parts[-1] == "stop" else "/".join(parts[1:])
            if method == "GET" and parts[-1] != "stop":
                return 200, self._view(self._get(ident))
            if method == "POST" and parts[-1] == "stop":
                return 200, self._stop_job(ident)
        raise _ApiError("ResourceNotFoundException", f"Unknown operation {method} {raw_path}")

    def _lookup(self, ident: str) -> _Job:
        try:
            check("ModelInvocationJobIdentifier", ident, "jobIdentifier")
        except Invalid as e:
            raise _ApiError("ValidationException", str(e)) from None
        job_id = ident.rsplit("/", 1)[-1]
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise _ApiError(
                "ResourceNotFoundException", f"The specified job {ident} was not found."
            )
        return job

    def _get(self, ident: str) -> _Job:
        return self._lookup(ident)

    def _view(self, job: _Job) -> dict[str, Any]:
        model = job.request["modelId"]
        return job.view(model_arn(model, self.region) if self.model_id_form == "arn" else model)

    def _create(self, body: bytes) -> dict[str, Any]:
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            raise _ApiError("ValidationException", "The request body is not valid JSON.") from None
        try:
            check("CreateModelInvocationJobRequest", req, "")
        except Invalid as e:
            raise _ApiError("ValidationException", f"1 validation error detected: {e}") from None
        if any(d in req["roleArn"] for d in self.deny_roles):
            raise _ApiError(
                "AccessDeniedException",
                f"User: arn:aws:iam::{ACCOUNT}:user/emulated is not authorized to perform: iam:PassRole on resource: {req['roleArn']}",
            )
        token = req.get("clientRequestToken")
        with self._lock:
            if token and token in self._by_token:
                # Idempotency: the same token is the same request; no second job.
                return {"jobArn": self._jobs[self._by_token[token]].arn}
            if any(
                j.request["jobName"] == req["jobName"] and j.status not in FINAL
                for j in self._jobs.values()
            ):
                raise _ApiError(
                    "ConflictException", f"A job named {req['jobName']} is already running."
                )
            self._check_quota(req["modelId"])
            job_id = "".join(
                random.Random(secrets.randbits(64)).choice("abcdefghijklmnopqrstuvwxyz0123456789")
                for _ in range(12)
            )
            arn = f"arn:aws:bedrock:{self.region}:{ACCOUNT}:model-invocation-job/{job_id}"
            job = _Job(arn=arn, job_id=job_id, request=req, next_step=_now() + self.time_scale)
            tags = {t["key"]: t["value"] for t in req.get("tags", [])}
            job.outcome = tags.get("emulator:outcome") or next(
                (o for k, o in self.outcomes.items() if k in req["jobName"]), None
            )
            self._jobs[job_id] = job
            if token:
                self._by_token[token] = job_id
        return {"jobArn": arn}

    def _check_quota(self, model_id: str) -> None:
        """ServiceQuotaExceededException when the job's foundation model already has
        ``max_concurrent_jobs`` active jobs (every id form of one model counts as that model)."""
        from .. import _core

        base = _core.base_model_id(model_id)
        active = sum(
            1
            for j in self._jobs.values()
            if j.status in ACTIVE and _core.base_model_id(j.request["modelId"]) == base
        )
        if active >= self.max_concurrent_jobs:
            raise _ApiError(
                "ServiceQuotaExceededException",
                f"You have reached the service quota of {self.max_concurrent_jobs} for the sum of "
                f"in-progress and submitted batch inference jobs using a base model for {base} "
                f"({active} jobs are submitted, validating, scheduled, in progress or stopping). "
                "Wait for some of them to finish, or request a quota increase.",
            )

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params = self._list_params(query)
        after, before = params.get("submitTimeAfter"), params.get("submitTimeBefore")
        status, name = params.get("statusEquals"), params.get("nameContains")
        with self._lock:
            # sortBy has one value, CreationTime: the submit time.
            jobs = sorted(
                self._jobs.values(),
                key=lambda j: j.submit_time,
                reverse=params.get("sortOrder", "Descending") == "Descending",
            )
        jobs = [
            j
            for j in jobs
            if (status is None or j.status == status)
            and (name is None or name in j.request["jobName"])
            and (after is None or j.submit_time > after)
            and (before is None or j.submit_time < before)
        ]
        try:
            first = int(params.get("nextToken", 0))
        except ValueError:
            raise _ApiError(
                "ValidationException", f"Invalid nextToken: {params['nextToken']}"
            ) from None
        size = int(params.get("maxResults", 1000))
        page = jobs[first : first + size]
        out: dict[str, Any] = {"invocationJobSummaries": [self._view(j) for j in page]}
        if first + size < len(jobs):
            out["nextToken"] = str(first + size)
        return out

    def _list_params(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """ListModelInvocationJobs' query parameters, each checked against its shape in the
        model (enums, patterns, ranges, ISO 8601 timestamps); unknown parameters are ignored."""
        members = service_model()["shapes"]["ListModelInvocationJobsRequest"]["members"]
        shapes = service_model()["shapes"]
        out: dict[str, Any] = {}
        for member, spec in members.items():
            where = spec.get("locationName", member)
            if where not in query:
                continue
            raw = query[where][0]
            kind = shapes[spec["shape"]]["type"]
            try:
                if kind == "timestamp":
                    try:
                        value: Any = _parse_iso8601(raw)
                    except ValueError:
                        raise Invalid(
                            f"Value '{raw}' at '{where}' failed to satisfy constraint: Member must be an ISO 8601 timestamp"
                        ) from None
                elif kind in ("integer", "long"):
                    try:
                        value = int(raw)
                    except ValueError:
                        raise Invalid(
                            f"Value '{raw}' at '{where}' failed to satisfy constraint: Member must be an integer"
                        ) from None
                    check(spec["shape"], value, where)
                else:
                    value = raw
                    check(spec["shape"], value, where)
            except Invalid as e:
                raise _ApiError(
                    "ValidationException", f"1 validation error detected: {e}"
                ) from None
            out[member] = value
        return out

    def _stop_job(self, ident: str) -> dict[str, Any]:
        job = self._lookup(ident)
        with self._lock:
            if job.status in FINAL or job.status == "Stopping":
                raise _ApiError(
                    "ConflictException", f"The job is {job.status} and cannot be stopped."
                )
            job.stop_requested = True
            job.status = "Stopping"
            job.last_modified = _now()
        return {}

    # --- the worker --------------------------------------------------------------------

    def _work(self) -> None:
        """Steps each job whose time has come. At ``time_scale=0`` the loop goes round again at
        once while any job moved (jobs advance as fast as this thread can take them)."""
        busy = False
        while not self._stop.wait(
            0.0 if busy and self.time_scale == 0 else (min(self.time_scale, 0.05) or 0.01)
        ):
            with self._lock:
                now = _now()
                jobs = [
                    j for j in self._jobs.values() if j.status not in FINAL and j.next_step <= now
                ]
            busy = bool(jobs)
            for job in jobs:
                if self._stop.is_set():
                    return
                try:
                    self._step(job)
                except Exception as e:  # a worker error fails the job, never the emulator
                    self._finish(job, "Failed", f"Internal error: {type(e).__name__}: {e}")

    def _s3c(self) -> Any:
        if self._s3 is None:
            self._s3 = self.boto3_client("s3")
        return self._s3

    def _finish(self, job: _Job, status: str, message: str | None = None) -> None:
        with self._lock:
            job.status, job.message = status, message
            job.end_time = job.last_modified = _now()

    def _step(self, job: _Job) -> None:
        job.next_step = _now() + self.time_scale
        job.last_modified = _now()
        if job.stop_requested:
            self._write_outputs(job)
            self._finish(job, "Stopped", "Stopped by user.")
            return
        if job.status == "Submitted":
            job.status = "Validating"
        elif job.status == "Validating":
            self._validate(job)
        elif job.status == "Scheduled":
            if job.outcome == "Expired":
                self._finish(job, "Expired", "The job did not start before its timeout.")
                return
            job.status = "InProgress"
        elif job.status == "InProgress":
            self._process(job)

    def _validate(self, job: _Job) -> None:
        from .. import _core
        from ..pack import Quotas
        from ..validate import validate

        if job.outcome == "Failed":
            self._finish(
                job, "Failed", "Validation failed: the emulator was asked to fail this job."
            )
            return
        uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        bucket, _, prefix = uri[5:].partition("/")
        s3 = self._s3c()
        try:
            listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        except Exception as e:
            self._finish(job, "Failed", f"Unable to read the input at {uri}: {e}")
            return
        keys = [o["Key"] for o in listing if o["Key"].endswith(".jsonl")]
        if not keys:
            self._finish(job, "Failed", f"No .jsonl input files found at {uri}.")
            return
        data = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}
        quotas = self.quotas or Quotas()
        model = job.request["modelId"]
        converse = job.request.get("modelInvocationType") == "Converse"
        family = None
        try:
            family = _core.model_info(model)["family"]
        except Exception:
            family = None
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="bb-emu-") as tmp:
            for k, v in data.items():
                (Path(tmp) / k.replace("/", "_")).write_bytes(v)
            # Per file and per job, as Bedrock checks them.
            report = validate(
                tmp,
                model=model if family else None,
                quotas=quotas,
                invocation="converse" if converse else None,
            )
        errors = [p for p in report.problems if p.severity == "error"]
        if errors:
            shown = "; ".join(
                f"line {p.line}: {p.field}: {p.message}" if p.line else p.message
                for p in errors[:3]
            )
            self._finish(
                job, "Failed", f"Validation failed: {report.error_count} error(s): {shown}"
            )
            return
        work = []
        for k, raw in data.items():
            recs = []
            for n, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                rid = (
                    rec.get("recordId")
                    or hashlib.sha1(f"{k}:{n}".encode()).hexdigest()[:11].upper()
                )
                recs.append((rid, rec))
            work.append((k, recs))
        job.work = work
        job.total = sum(len(r) for _, r in work)
        job.status = "Scheduled"
        job.family = family or "claude"  # type: ignore[attr-defined]

    def _process(self, job: _Job) -> None:
        total = job.total or 0
        limit = total
        if job.outcome == "PartiallyCompleted":
            limit = int(total * (1 - self.partial_fraction))
        per_step = max(1, -(-total // 5))
        converse = job.request.get("modelInvocationType") == "Converse"
        respond = self.responder(getattr(job, "family", "claude"), converse)
        budget = per_step
        for key, recs in job.work:
            out = job.done.setdefault(key, [])
            while len(out) < len(recs) and budget > 0 and job.processed < limit:
                rid, rec = recs[len(out)]
                line: dict[str, Any] = {"recordId": rid, "modelInput": rec.get("modelInput")}
                try:
                    if self.error_rate > 0 and _unit_hash(self.seed, rid) < self.error_rate:
                        raise RecordError(
                            400,
                            "Malformed input request, please reformat your input and try again.",
                        )
                    line["modelOutput"] = respond(rid, rec.get("modelInput") or {})
                    job.success += 1
                    usage = line["modelOutput"].get("usage", {})
                    job.input_tokens += int(
                        usage.get(
                            "input_tokens",
                            usage.get(
                                "inputTokens",
                                line["modelOutput"].get(
                                    "prompt_token_count",
                                    line["modelOutput"].get("inputTextTokenCount", 0),
                                ),
                            ),
                        )
                    )
                    job.output_tokens += int(
                        usage.get(
                            "output_tokens",
                            usage.get(
                                "outputTokens", line["modelOutput"].get("generation_token_count", 0)
                            ),
                        )
                    )
                except RecordError as e:
                    line["error"] = {"errorCode": e.code, "errorMessage": e.message}
                    job.errors += 1
                out.append(json.dumps(line, ensure_ascii=False))
                job.processed += 1
                budget -= 1
        if job.processed >= limit:
            self._write_outputs(job)
            if limit < total:
                self._finish(
                    job,
                    "PartiallyCompleted",
                    f"{total - limit} records were not processed before the job's time ran out.",
                )
            else:
                self._finish(job, "Completed")

    def _write_outputs(self, job: _Job) -> None:
        out_uri = job.request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        bucket, _, prefix = out_uri[5:].partition("/")
        prefix = prefix.rstrip("/")
        base = f"{prefix}/{job.job_id}" if prefix else job.job_id
        s3 = self._s3c()
        rng = random.Random(f"{self.seed}:{job.job_id}")
        for key, lines in job.done.items():
            shuffled = list(lines)
            rng.shuffle(shuffled)  # Bedrock does not keep the input order
            name = key.rsplit("/", 1)[-1] + ".out"
            body = ("\n".join(shuffled) + "\n").encode() if shuffled else b""
            s3.put_object(Bucket=bucket, Key=f"{base}/{name}", Body=body)
        manifest = {
            "totalRecordCount": job.total or 0,
            "processedRecordCount": job.processed,
            "successRecordCount": job.success,
            "errorRecordCount": job.errors,
            "inputTokenCount": job.input_tokens,
            "outputTokenCount": job.output_tokens,
        }
        s3.put_object(
            Bucket=bucket, Key=f"{base}/manifest.json.out", Body=json.dumps(manifest).encode()
        )


def _unit_hash(seed: int, record_id: str) -> float:
    """A record's fixed draw in [0, 1]: which records fail does not depend on timing."""
    return int(hashlib.sha256(f"{seed}:{record_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _complete_multipart(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
    """CompleteMultipartUpload through moto, with the XML root S3 really sends.

    moto answers with ``<CompleteMultipartUploadResponse>``; S3 (and so strict SDKs such as
    aws-sdk-rust) use ``<CompleteMultipartUploadResult>``.
    """
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    body = b"".join(app(environ, capture))
    if b"<CompleteMultipartUploadResponse" in body:
        body = body.replace(b"CompleteMultipartUploadResponse", b"CompleteMultipartUploadResult")
    headers = [
        (k, str(len(body)) if k.lower() == "content-length" else v) for k, v in captured["headers"]
    ]
    start_response(captured["status"], headers)
    return [body]


def start(**knobs: Any) -> Emulator:
    """Starts an emulator on a free loopback port (see :class:`Emulator` for the knobs)."""
    return Emulator(**knobs).start()
