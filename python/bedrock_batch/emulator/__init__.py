"""A local Amazon Bedrock batch inference emulator: S3 (moto's server), the Bedrock batch
control plane and the Bedrock runtime on one loopback HTTP endpoint.

The control plane speaks the REST-JSON of the ``bedrock`` 2023-04-20 service model in botocore
(CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs,
StopModelInvocationJob: paths, methods, status codes, ``x-amzn-ErrorType`` error bodies) and
validates requests against that model. A worker moves jobs through Submitted, Validating,
Scheduled, InProgress and a final state, validates the input with the pack stage's quotas,
answers each record with a pluggable responder and writes ``<output>/<jobId>/<file>.out``
(shuffled) and ``manifest.json.out``.

The runtime speaks the ``bedrock-runtime`` 2023-09-30 model's InvokeModel
(``POST /model/{modelId}/invoke``), Converse (``/converse``) and CountTokens
(``/count-tokens``), answered by the same responder and faults as a batch record, so a record
answered on demand looks as it would in a job. Requests signed for the ``bedrock`` service (the
runtime's signing name too) go to the control plane or the runtime by path; everything else goes
to moto's S3. ``GET /_emulator/stats`` (unsigned, loopback) reports what was served.

    with bb.emulator.start() as emu:
        client = emu.client()
        runtime = emu.boto3_client("bedrock-runtime")

:func:`spawn` runs the same emulator in a process of its own (``bedrock-batch emulator``), so
that it outlives the clients a test kills; its handle has the same helpers.

Needs the ``[local]`` extra (``moto[server]``, ``boto3``). moto keeps S3 state per process:
two emulators in one process see the same buckets (the Bedrock jobs are per emulator).
"""

from __future__ import annotations

import base64
import collections
import datetime as _dt
import hashlib
import json
import random
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from ._base import ACCOUNT, STATS_PATH, EmulatorClients
from ._model import RUNTIME, Invalid, check, error_status, service_model
from ._responder import (
    RecordError,
    Responder,
    asks_json,
    broken_json,
    cut_at,
    default_responder,
    input_tokens,
    lengthened,
    max_tokens_of,
    prefill_of,
    prompt_key,
    text_of_output,
    usage_of,
    with_text,
)
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
OUTCOMES = ("Failed", "PartiallyCompleted", "Expired", "FailedService", "Stalled")
# What can be wrong with a job's output files, as collect must survive it.
OUTPUT_FAULTS = ("truncated", "duplicates", "no_manifest")
MODEL_ID_FORMS = ("as-given", "arn")
STAT_COUNTS = (
    "creates",
    "batch_records",
    "invokes",
    "converses",
    "count_tokens",
    "runtime_records",
    "runtime_errors",
)

# What Bedrock says: in a record's error line ({"errorCode": <HTTP status>, "errorMessage": ...},
# the shape of the batch results docs) and in the runtime's ``{"message"}`` error bodies.
MALFORMED = "Malformed input request, please reformat your input and try again."
THROTTLED = "Too many requests, please wait before trying again."
INTERNAL = "The system encountered an unexpected error during processing. Try your request again."
UNAVAILABLE = "Bedrock is unable to process your request."
# A job that fails after it started, for a reason of the service's (not a validation failure).
SERVICE_FAILURE = (
    "Internal server error: the job failed after processing {processed} of {total} records."
)
# The runtime's error shape for a record error's HTTP status.
_RUNTIME_SHAPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_RUNTIME_OPS = {"invoke": "invokes", "converse": "converses", "count-tokens": "count_tokens"}
# The keys a model's native InvokeModel body must have (Bedrock answers a missing one 400).
_REQUIRED = {
    "claude": ("anthropic_version", "max_tokens", "messages"),
    "nova": ("messages",),
    "llama3": ("prompt",),
    "llama4": ("prompt",),
    "titan-embed": ("inputText",),
}


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
    def __init__(self, shape: str, message: str, service: str = "bedrock") -> None:
        super().__init__(message)
        self.shape = shape
        self.message = message
        self.status = error_status(shape, service)


class Emulator(EmulatorClients):
    """The emulator; see the module docs. Use :func:`start`, or ``Emulator(...).start()``.

    Knobs (rates are fractions in [0, 1], each drawn from ``seed``, so a run is reproducible):

    - ``time_scale``: seconds per state step and per slice of records (0: as fast as the
      worker can).
    - ``error_rate``: records answered with a retryable error line, a 429 (throttled) or a 500
      (internal error), drawn per attempt from the seed, the record and the job's name: the
      same record in another job (a retry) may succeed.
    - ``invalid_input_rate``: records answered with a 400 validation error line ("Malformed
      input request"), drawn from the seed and the record only: every job, and every runtime
      call, fails that record the same way.
    - ``invalid_json_rate``: answers (per attempt: job name, or runtime call) whose text is not
      the JSON the prompt asks for (the object without its closing brace, in prose).
    - ``truncate_rate`` and ``truncate_tokens`` (default 600): records (seed and record) whose
      answer needs ``truncate_tokens`` output tokens; when the request's ``max_tokens`` (or
      ``max_gen_len``, ``inferenceConfig.maxTokens``) is lower, the answer is cut there with the
      family's stop reason (``max_tokens``; Llama: ``length``), its JSON unfinished.
    - ``throttle_rate``: control-plane calls answered 429 ThrottlingException.
    - ``runtime_throttle_rate``: runtime calls answered 429 ThrottlingException;
      ``runtime_error_rate``: runtime calls answered 500 InternalServerException or 503
      ServiceUnavailableException; both drawn per call (a counter), the throttle first.
    - ``outcomes``: job-name substring -> how the job ends: "Failed" (in validation),
      "PartiallyCompleted", "Expired" (never starts), "FailedService" (fails with an internal
      server error after its first slice of records, writing them), "Stalled" (processes all but
      ``partial_fraction`` of its records, then its counts stop moving until it is stopped; it
      then writes what it processed and ends Stopped). A job tag ``emulator:outcome`` does the
      same.
    - ``partial_fraction``: records left unprocessed by PartiallyCompleted and Stalled.
    - ``output_faults``: job-name substring -> what is wrong with its output: "truncated" (the
      last line of each ``.jsonl.out`` cut in half, as an interrupted write leaves it),
      "duplicates" (every tenth line written twice), "no_manifest" (no
      ``manifest.json.out``).
    - ``deny_roles``: role-ARN substrings answered AccessDeniedException, as a missing
      iam:PassRole is.
    - ``quotas``: the validation limits (default: ``bb.Quotas()``).
    - ``responder(family, converse) -> Responder``: answers records, in jobs and on demand.
    - ``max_concurrent_jobs``: jobs per foundation model in Submitted, Validating, Scheduled,
      InProgress or Stopping, whatever id form they were created with; one more is answered
      ServiceQuotaExceededException, as AWS's default quota of 20 is.
    - ``model_id_form``: ``"as-given"``: Get/List report ``modelId`` as it was sent; ``"arn"``:
      as an ARN, see :func:`model_arn`, as Bedrock does for some jobs.

    A runtime call carries no record id: the emulator names the record by its prompt (the
    system prompt and messages, not the inference parameters) among the records of the jobs it
    has read. Records whose prompts are the same are told apart by their history (one that has
    no good answer yet first, then the one answered on demand least often). A body no job had is
    a record of its own. :meth:`stats` counts what was served.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        time_scale: float = 0.05,
        error_rate: float = 0.0,
        invalid_input_rate: float = 0.0,
        invalid_json_rate: float = 0.0,
        truncate_rate: float = 0.0,
        truncate_tokens: int = 600,
        throttle_rate: float = 0.0,
        runtime_error_rate: float = 0.0,
        runtime_throttle_rate: float = 0.0,
        outcomes: Mapping[str, str] | None = None,
        partial_fraction: float = 0.5,
        quotas: Any = None,
        responder: Callable[[str, bool], Responder] | None = None,
        deny_roles: tuple[str, ...] = ("NoPassRole",),
        seed: int = 0,
        max_concurrent_jobs: int = 20,
        model_id_form: str = "as-given",
        output_faults: Mapping[str, str] | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator listens on loopback only")
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale}")
        rates = {
            "error_rate": error_rate,
            "invalid_input_rate": invalid_input_rate,
            "invalid_json_rate": invalid_json_rate,
            "truncate_rate": truncate_rate,
            "throttle_rate": throttle_rate,
            "runtime_error_rate": runtime_error_rate,
            "runtime_throttle_rate": runtime_throttle_rate,
            "partial_fraction": partial_fraction,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if truncate_tokens < 1:
            raise ValueError(f"truncate_tokens must be >= 1, not {truncate_tokens}")
        if max_concurrent_jobs < 0:
            raise ValueError(f"max_concurrent_jobs must be >= 0, not {max_concurrent_jobs}")
        if model_id_form not in MODEL_ID_FORMS:
            raise ValueError(
                f"model_id_form must be one of {MODEL_ID_FORMS}, not {model_id_form!r}"
            )
        for name, state in (outcomes or {}).items():
            if state not in OUTCOMES:
                raise ValueError(f"outcome {name}={state}: the state must be one of {OUTCOMES}")
        for name, fault in (output_faults or {}).items():
            if fault not in OUTPUT_FAULTS:
                raise ValueError(f"output fault {name}={fault}: one of {OUTPUT_FAULTS}")
        self.output_faults = dict(output_faults or {})
        self.host, self.port, self.region = host, port, region
        self.time_scale = time_scale
        self.error_rate = error_rate
        self.invalid_input_rate = invalid_input_rate
        self.invalid_json_rate = invalid_json_rate
        self.truncate_rate = truncate_rate
        self.truncate_tokens = truncate_tokens
        self.throttle_rate = throttle_rate
        self.runtime_error_rate = runtime_error_rate
        self.runtime_throttle_rate = runtime_throttle_rate
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
        self._runtime_calls = 0
        self._counts: dict[str, int] = dict.fromkeys(STAT_COUNTS, 0)
        self._on_demand: collections.Counter[str] = collections.Counter()
        # A record's prompt key -> the ids of the records with that prompt, in any job read.
        self._by_prompt: dict[str, set[str]] = {}
        # A record id -> "ok" (answered with a good answer last), else "bad" or "pending".
        self._record_state: dict[str, str] = {}
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
            if environ.get("PATH_INFO") == STATS_PATH:
                return self._stats_endpoint(environ, start_response)
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

    # --- what was served ---------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """What the emulator served so far: ``creates`` (jobs created; an idempotent retry
        creates none), ``batch_records`` (records answered in jobs, error lines included),
        ``invokes``, ``converses`` and ``count_tokens`` (runtime calls received, faults
        included), ``runtime_records`` (InvokeModel and Converse calls answered with a model
        output), ``runtime_errors`` (runtime calls answered with an error) and
        ``on_demand_by_record`` (record id -> how many times it was answered on demand)."""
        with self._lock:
            out: dict[str, Any] = dict(self._counts)
            out["on_demand_by_record"] = dict(self._on_demand)
        return out

    def _stats_endpoint(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if environ.get("REMOTE_ADDR") not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            status, payload = "403 Forbidden", {"message": "loopback only"}
        elif environ["REQUEST_METHOD"] != "GET":
            status, payload = "405 Method Not Allowed", {"message": "GET only"}
        else:
            status, payload = "200 OK", self.stats()
        data = json.dumps(payload).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return iter([data])

    # --- the control plane and the runtime -----------------------------------------------

    def _bedrock(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        raw_path = raw_path.split("?", 1)[0]
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        request_id = str(uuid.uuid4())
        parts = raw_path.strip("/").split("/")
        try:
            if (
                method == "POST"
                and len(parts) == 3
                and parts[0] == "model"
                and parts[2] in _RUNTIME_OPS
            ):
                model_id = urllib.parse.unquote(parts[1])
                headers, data = self._runtime(parts[2], model_id, environ, body)
                headers = [*headers, ("x-amzn-RequestId", request_id)]
                start_response("200 OK", [*headers, ("Content-Length", str(len(data)))])
                return iter([data])
            with self._lock:
                self._calls += 1
                calls = self._calls
            if (
                self.throttle_rate
                and (calls * self.throttle_rate) % 1.0 + self.throttle_rate >= 1.0
            ):
                raise _ApiError("ThrottlingException", THROTTLED)
            status, payload = self._route(method, raw_path, query, body)
        except _ApiError as e:
            data = json.dumps({"message": e.message}).encode()
            start_response(
                f"{e.status} Error",
                [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", e.shape),
                    ("x-amzn-RequestId", request_id),
                    ("Content-Length", str(len(data))),
                ],
            )
            return iter([data])
        data = json.dumps(payload).encode()
        start_response(
            f"{status} OK",
            [
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", request_id),
                ("Content-Length", str(len(data))),
            ],
        )
        return iter([data])

    def _runtime(
        self, op: str, model_id: str, environ: dict[str, Any], body: bytes
    ) -> tuple[list[tuple[str, str]], bytes]:
        """InvokeModel, Converse or CountTokens: (response headers, body); raises _ApiError
        with the runtime model's error shapes."""
        with self._lock:
            self._counts[_RUNTIME_OPS[op]] += 1
            self._runtime_calls += 1
            call = self._runtime_calls
        try:
            return self._serve_runtime(op, model_id, environ, body, call)
        except _ApiError:
            with self._lock:
                self._counts["runtime_errors"] += 1
            raise

    def _serve_runtime(
        self, op: str, model_id: str, environ: dict[str, Any], body: bytes, call: int
    ) -> tuple[list[tuple[str, str]], bytes]:
        started = time.monotonic()
        u = _draw(self.seed, "runtime", call)
        if u < self.runtime_throttle_rate:
            raise _ApiError("ThrottlingException", THROTTLED, RUNTIME)
        if u < self.runtime_throttle_rate + self.runtime_error_rate:
            if _draw(self.seed, "runtime-kind", call) < 0.5:
                raise _ApiError("InternalServerException", INTERNAL, RUNTIME)
            raise _ApiError("ServiceUnavailableException", UNAVAILABLE, RUNTIME)
        id_shape = {
            "invoke": "InvokeModelIdentifier",
            "converse": "ConversationalModelId",
            "count-tokens": "FoundationModelVersionIdentifier",
        }[op]
        try:
            check(id_shape, model_id, "modelId", RUNTIME)
        except Invalid as e:
            raise _ApiError(
                "ValidationException", f"1 validation error detected: {e}", RUNTIME
            ) from None
        family = self._family(model_id)
        if op == "count-tokens":
            mi = self._count_tokens_input(model_id, body)
            data = json.dumps({"inputTokens": input_tokens(mi)}).encode()
            return [("Content-Type", "application/json")], data
        converse = op == "converse"
        mi = self._converse_input(model_id, family, body) if converse else _native(family, body)
        rid = self._attribute(mi)
        respond = self.responder(family, converse)
        try:
            out, clean = self._answer(family, respond, rid, mi, f"call:{call}", transient=False)
        except RecordError as e:
            shape = _RUNTIME_SHAPES.get(e.code, str(e.code)) if isinstance(e.code, int) else e.code
            if shape not in service_model(RUNTIME)["shapes"]:
                shape = "ModelErrorException"
            raise _ApiError(shape, e.message, RUNTIME) from None
        with self._lock:
            self._counts["runtime_records"] += 1
            self._on_demand[rid] += 1
            self._record_state[rid] = "ok" if clean else "bad"
        data = json.dumps(out, ensure_ascii=False).encode()
        if converse:
            return [("Content-Type", "application/json")], data
        tin, tout = usage_of(out)
        headers = [
            ("Content-Type", "application/json"),
            ("X-Amzn-Bedrock-Input-Token-Count", str(tin)),
            ("X-Amzn-Bedrock-Output-Token-Count", str(tout)),
            ("X-Amzn-Bedrock-Invocation-Latency", str(int((time.monotonic() - started) * 1000))),
        ]
        latency = environ.get("HTTP_X_AMZN_BEDROCK_PERFORMANCECONFIG_LATENCY")
        if latency:
            headers.append(("X-Amzn-Bedrock-PerformanceConfig-Latency", latency))
        return headers, data

    def _family(self, model_id: str) -> str:
        from .. import _core

        try:
            return str(_core.model_info(model_id)["family"])
        except Exception:
            raise _ApiError(
                "ValidationException", "The provided model identifier is invalid.", RUNTIME
            ) from None

    def _count_tokens_input(self, model_id: str, body: bytes) -> dict[str, Any]:
        """The body CountTokens counts: ``invokeModel.body`` decoded, or ``converse``."""
        req = _json_object(body, "The request body is not valid JSON.")
        try:
            check("CountTokensRequest", {**req, "modelId": model_id}, "", RUNTIME)
        except Invalid as e:
            raise _ApiError(
                "ValidationException", f"1 validation error detected: {e}", RUNTIME
            ) from None
        given = req["input"]
        if "converse" in given:
            return dict(given["converse"])
        raw = base64.b64decode(given["invokeModel"]["body"])
        return _json_object(raw, MALFORMED)

    def _converse_input(self, model_id: str, family: str, body: bytes) -> dict[str, Any]:
        req = _json_object(body, "The request body is not valid JSON.")
        try:
            check("ConverseRequest", {**req, "modelId": model_id}, "", RUNTIME)
        except Invalid as e:
            raise _ApiError(
                "ValidationException", f"1 validation error detected: {e}", RUNTIME
            ) from None
        if family == "titan-embed":
            raise _ApiError(
                "ValidationException",
                "This action doesn't support the model that you provided. Try again with a "
                "supported text or chat model.",
                RUNTIME,
            )
        msgs = req.get("messages") or []
        if not msgs or msgs[0].get("role") != "user":
            raise _ApiError(
                "ValidationException",
                "A conversation must start with a user message. Try again with a conversation "
                "that starts with a user message.",
                RUNTIME,
            )
        return req

    def _attribute(self, mi: dict[str, Any]) -> str:
        """The record a runtime body is for: among the records of the jobs read whose prompt it
        is, one without a good answer yet, then the one answered on demand least often, then
        the first id; a body no job had is a record of its own, named by its prompt."""
        key = prompt_key(mi)
        with self._lock:
            rids = self._by_prompt.get(key)
            if not rids:
                return "OD" + key[:9].upper()
            return min(
                rids,
                key=lambda r: (self._record_state.get(r) == "ok", self._on_demand[r], r),
            )

    def _answer(
        self,
        family: str,
        respond: Responder,
        rid: str,
        mi: dict[str, Any],
        attempt: str,
        *,
        transient: bool,
    ) -> tuple[dict[str, Any], bool]:
        """A record's model output and whether it is a good one (not a drawn text fault), for a
        job (``attempt`` names it) or a runtime call; raises :class:`RecordError` for an error.

        The validation error is the record's (seed and record id); a transient error
        (``transient``: in a job) and broken JSON are the attempt's; a long answer is the
        record's and is cut when the body's limit is below ``truncate_tokens``."""
        if self.invalid_input_rate and _draw(self.seed, "invalid", rid) < self.invalid_input_rate:
            raise RecordError(400, MALFORMED)
        if transient and self.error_rate and _draw(self.seed, attempt, rid) < self.error_rate:
            if _draw(self.seed, "kind", attempt, rid) < 0.5:
                raise RecordError(429, THROTTLED)
            raise RecordError(500, INTERNAL)
        out = respond(rid, mi)
        if not (self.truncate_rate or self.invalid_json_rate):
            return out, True
        text = text_of_output(out)
        if text is None:
            return out, True
        prefill = prefill_of(mi)
        if self.truncate_rate and _draw(self.seed, "truncate", rid) < self.truncate_rate:
            need = self.truncate_tokens
            text = lengthened(text, prefill, need)
            limit = max_tokens_of(family, mi)
            if limit is not None and limit < need:
                return with_text(out, cut_at(text, limit), output_tokens=limit, cut=True), False
            out = with_text(out, text, output_tokens=need, cut=False)
        if (
            self.invalid_json_rate
            and asks_json(mi)
            and _draw(self.seed, "json", attempt, rid) < self.invalid_json_rate
        ):
            from .. import _core

            bad = broken_json(text, prefill)
            return with_text(
                out, bad, output_tokens=_core.estimate_tokens(bad) or 1, cut=False
            ), False
        return out, True

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
            self._counts["creates"] += 1
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
        before = (job.status, job.processed)
        self._advance(job)
        if (job.status, job.processed) != before:
            job.last_modified = _now()  # a stalled job's time stands still as its count does

    def _advance(self, job: _Job) -> None:
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
        keys_of: list[tuple[str, str]] = []
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
                mi = rec.get("modelInput")
                if isinstance(mi, dict):
                    keys_of.append((prompt_key(mi), rid))
            work.append((k, recs))
        with self._lock:  # what runtime calls are told apart by (see _attribute)
            for key, rid in keys_of:
                self._by_prompt.setdefault(key, set()).add(rid)
                self._record_state[rid] = "pending"
        job.work = work
        job.total = sum(len(r) for _, r in work)
        job.status = "Scheduled"
        job.family = family or "claude"  # type: ignore[attr-defined]

    def _process(self, job: _Job) -> None:
        total = job.total or 0
        if job.outcome == "FailedService" and (job.processed > 0 or total == 0):
            self._write_outputs(job)
            self._finish(
                job, "Failed", SERVICE_FAILURE.format(processed=job.processed, total=total)
            )
            return
        limit = total
        if job.outcome in ("PartiallyCompleted", "Stalled"):
            limit = int(total * (1 - self.partial_fraction))
        per_step = max(1, -(-total // 5))
        converse = job.request.get("modelInvocationType") == "Converse"
        family = getattr(job, "family", "claude")
        respond = self.responder(family, converse)
        attempt = "job:" + job.request["jobName"]
        budget = per_step
        states: list[tuple[str, str]] = []
        for key, recs in job.work:
            out = job.done.setdefault(key, [])
            while len(out) < len(recs) and budget > 0 and job.processed < limit:
                rid, rec = recs[len(out)]
                mi = rec.get("modelInput") or {}
                line: dict[str, Any] = {"recordId": rid, "modelInput": rec.get("modelInput")}
                try:
                    output, clean = self._answer(family, respond, rid, mi, attempt, transient=True)
                    line["modelOutput"] = output
                    job.success += 1
                    tin, tout = usage_of(output)
                    job.input_tokens += tin
                    job.output_tokens += tout
                    states.append((rid, "ok" if clean else "bad"))
                except RecordError as e:
                    line["error"] = {"errorCode": e.code, "errorMessage": e.message}
                    job.errors += 1
                    states.append((rid, "bad"))
                out.append(json.dumps(line, ensure_ascii=False))
                job.processed += 1
                budget -= 1
        with self._lock:
            self._counts["batch_records"] += len(states)
            self._record_state.update(states)
        if job.processed >= limit:
            if job.outcome == "Stalled":
                return  # InProgress, its count no longer moving, until it is stopped
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
        faults = {f for k, f in self.output_faults.items() if k in job.request["jobName"]}
        for key, lines in job.done.items():
            shuffled = list(lines)
            rng.shuffle(shuffled)  # Bedrock does not keep the input order
            if "duplicates" in faults:
                shuffled += shuffled[::10]
            name = key.rsplit("/", 1)[-1] + ".out"
            body = ("\n".join(shuffled) + "\n").encode() if shuffled else b""
            if "truncated" in faults and shuffled:
                body = body[: len(body) - len(shuffled[-1].encode()) // 2 - 1]
            s3.put_object(Bucket=bucket, Key=f"{base}/{name}", Body=body)
        if "no_manifest" in faults:
            return
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


def _draw(seed: int, *parts: object) -> float:
    """A draw in [0, 1] fixed by the seed and ``parts`` (what it is for, the attempt, the
    record): which records fail does not depend on timing or thread order."""
    key = ":".join([str(seed), *map(str, parts)])
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _json_object(body: bytes, message: str) -> dict[str, Any]:
    """A JSON object from a request body, else a 400 ValidationException with ``message``."""
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise _ApiError("ValidationException", message, RUNTIME)
    return value


def _native(family: str, body: bytes) -> dict[str, Any]:
    """An InvokeModel body: a JSON object with the keys the model's request format needs, else
    a 400 ValidationException as Bedrock words it."""
    mi = _json_object(body, MALFORMED)
    for key in _REQUIRED.get(family, ()):
        if key not in mi:
            raise _ApiError(
                "ValidationException",
                f"Malformed input request: #: required key [{key}] not found, please reformat "
                "your input and try again.",
                RUNTIME,
            )
    return mi


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
