"""The emulator's knobs for driving many jobs: the per-model concurrent-jobs quota, the list
filters, ARN model ids, the ``bedrock-batch emulator`` command, the emulator in its own process
(outliving the clients a test kills) and ``time_scale=0``; the runtime API (InvokeModel,
Converse, CountTokens), the faults drawn per attempt or per record, the per-job outcomes and the
counters. Everything goes over real HTTP on loopback, through boto3, our client or
SigV4-signed requests of our own."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

import bedrock_batch as bb
from bedrock_batch.cli import main as cli_main
from bedrock_batch.emulator import Emulator, EmulatorClients, _draw, model_arn
from bedrock_batch.emulator._model import RUNTIME, error_status
from bedrock_batch.exceptions import BedrockBatchError, QuotaExceededError

BASE = "anthropic.claude-haiku-4-5-20251001-v1:0"
MODEL = f"us.{BASE}"
FORMS = [
    MODEL,
    BASE,
    f"arn:aws:bedrock:us-east-1::foundation-model/{BASE}",
    f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{MODEL}",
]
OTHER = "us.amazon.nova-lite-v1:0"
BUCKET = "bb-emu-test"
USER = "タイトル: {title}\n\n記事:\n{content}"
READY = re.compile(r"bedrock-batch emulator listening on http://127\.0\.0\.1:(\d+)\n")


def folder_of(tmp: Path, n: int = 100, tag: str = "r") -> Path:
    """One job folder of ``n`` records (Bedrock's minimum is 100)."""
    rows = [
        {"id": f"{tag}{i:05d}", "title": f"Post {i}", "content": f"Article body number {i}."}
        for i in range(n)
    ]
    recs = bb.pack(rows, prompt=bb.Prompt(user=USER, max_tokens=256), model=MODEL)
    recs.write(tmp / f"batch-{tag}")
    (folder,) = sorted(p for p in (tmp / f"batch-{tag}").iterdir() if p.is_dir())
    return folder


def create(emu: EmulatorClients, name: str, model: str = MODEL, **kw: Any) -> str:
    """CreateModelInvocationJob with boto3, reading ``s3://BUCKET/in/<name>/``."""
    return str(
        emu.boto3_client("bedrock").create_model_invocation_job(
            jobName=name,
            roleArn=emu.role_arn(),
            modelId=model,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/{name}/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
            **kw,
        )["jobArn"]
    )


def upload(emu: EmulatorClients, folder: Path, name: str) -> None:
    s3 = emu.boto3_client("s3")
    for f in folder.iterdir():
        s3.put_object(Bucket=BUCKET, Key=f"in/{name}/{f.name}", Body=f.read_bytes())


def signed(
    emu: EmulatorClients, method: str, path: str, body: dict[str, Any] | bytes | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A SigV4-signed Bedrock request with no SDK between us and the wire: the status, the
    headers (lower-case names) and the JSON body."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = (
        body
        if isinstance(body, bytes)
        else (json.dumps(body).encode() if body is not None else None)
    )
    headers = {"Content-Type": "application/json"} if data else {}
    req = AWSRequest(method=method, url=emu.endpoint_url + path, data=data, headers=headers)
    SigV4Auth(Credentials("testing", "testing"), "bedrock", emu.region).add_auth(req)
    raw = urllib.request.Request(
        emu.endpoint_url + path, data=data, headers=dict(req.headers), method=method
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    try:
        with opener.open(raw, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.load(resp)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, json.load(e)


def create_body(name: str, model: str = MODEL, **kw: Any) -> dict[str, Any]:
    return {
        "jobName": name,
        "roleArn": "arn:aws:iam::123456789012:role/BedrockBatchRole",
        "modelId": model,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/{name}/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        **kw,
    }


def wait_final(emu: EmulatorClients, arns: list[str], timeout: float = 60) -> list[dict[str, Any]]:
    bedrock = emu.boto3_client("bedrock")
    deadline = time.monotonic() + timeout
    while True:
        jobs = [bedrock.get_model_invocation_job(jobIdentifier=a) for a in arns]
        if all(j["status"] in bb.aws.FINAL_STATES for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            pytest.fail(f"jobs not final after {timeout} s: {[j['status'] for j in jobs]}")
        time.sleep(0.05)


def unthrottled(fn: Callable[[], Any], attempts: int = 6) -> tuple[Any, int]:
    """``fn()`` retried on ThrottlingException: its result and how many times it was throttled."""
    for n in range(attempts):
        try:
            return fn(), n
        except ClientError as e:
            if e.response["Error"]["Code"] != "ThrottlingException":
                raise
    pytest.fail(f"throttled {attempts} times in a row")


def output_lines(emu: EmulatorClients, job: dict[str, Any]) -> list[dict[str, Any]]:
    s3 = emu.boto3_client("s3")
    job_id = job["jobArn"].rsplit("/", 1)[-1]
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/{job_id}/")["Contents"]
        if o["Key"].endswith(".jsonl.out")
    ]
    return [
        json.loads(line)
        for k in keys
        for line in s3.get_object(Bucket=BUCKET, Key=k)["Body"].read().splitlines()
    ]


def manifest(emu: EmulatorClients, job: dict[str, Any]) -> dict[str, Any]:
    job_id = job["jobArn"].rsplit("/", 1)[-1]
    body = emu.boto3_client("s3").get_object(Bucket=BUCKET, Key=f"out/{job_id}/manifest.json.out")
    return dict(json.loads(body["Body"].read()))


# --- max_concurrent_jobs --------------------------------------------------------------------


def test_the_quota_counts_every_id_form_of_one_foundation_model(tmp_path: Path) -> None:
    with bb.emulator.start(time_scale=30, max_concurrent_jobs=3) as emu:
        emu.create_bucket(BUCKET)
        first = create(emu, "q-0", FORMS[0], clientRequestToken="token-q-0")
        create(emu, "q-1", FORMS[1])
        create(emu, "q-2", FORMS[2])
        # A fourth job of the same foundation model, in its fourth id form, is over the quota.
        with pytest.raises(ClientError) as info:
            create(emu, "q-3", FORMS[3])
        err = info.value.response
        assert err["Error"]["Code"] == "ServiceQuotaExceededException"
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert BASE in err["Error"]["Message"] and "quota of 3" in err["Error"]["Message"]
        # Another model has a quota of its own.
        create(emu, "q-other", OTHER)
        # A retry of an existing job (its idempotency token) is that job, not a quota error.
        assert create(emu, "q-0", FORMS[0], clientRequestToken="token-q-0") == first
        # Our client sees the quota as QuotaExceededError.
        with pytest.raises(QuotaExceededError):
            emu.client().submit(
                folder_of(tmp_path),
                model=MODEL,
                role_arn=emu.role_arn(),
                input_uri=f"s3://{BUCKET}/in/q-client/",
                output_uri=f"s3://{BUCKET}/out/",
                name="q-client",
            )
        # A stopping job still counts.
        bedrock = emu.boto3_client("bedrock")
        bedrock.stop_model_invocation_job(jobIdentifier=first)
        assert bedrock.get_model_invocation_job(jobIdentifier=first)["status"] == "Stopping"
        with pytest.raises(ClientError, match="ServiceQuotaExceededException"):
            create(emu, "q-4", MODEL)


def test_the_quota_error_on_the_wire() -> None:
    """Status from the service model, ``x-amzn-ErrorType``, a ``{"message"}`` body."""
    with bb.emulator.start(time_scale=30, max_concurrent_jobs=1) as emu:
        status, _, body = signed(emu, "POST", "/model-invocation-job", create_body("w-0"))
        assert status == 200 and body["jobArn"].startswith("arn:aws:bedrock:us-east-1:")
        status, headers, body = signed(emu, "POST", "/model-invocation-job", create_body("w-1"))
    assert status == error_status("ServiceQuotaExceededException") == 400
    assert headers["x-amzn-errortype"] == "ServiceQuotaExceededException"
    assert list(body) == ["message"] and BASE in body["message"]


def test_the_default_quota_is_twenty_and_a_final_job_frees_its_slot() -> None:
    with bb.emulator.start(time_scale=30) as emu:
        for i in range(20):
            create(emu, f"d-{i}")
        with pytest.raises(ClientError, match="ServiceQuotaExceededException"):
            create(emu, "d-20")
    # A job with no input fails in validation (two steps of 0.3 s), which frees its slot.
    with bb.emulator.start(time_scale=0.3, max_concurrent_jobs=1) as emu:
        emu.create_bucket(BUCKET)
        doomed = create(emu, "f-0")
        with pytest.raises(ClientError, match="ServiceQuotaExceededException"):
            create(emu, "f-1")
        (job,) = wait_final(emu, [doomed])
        assert job["status"] == "Failed"
        create(emu, "f-1")


def test_quota_and_model_id_form_are_checked() -> None:
    with pytest.raises(ValueError, match="max_concurrent_jobs"):
        Emulator(max_concurrent_jobs=-1)
    with pytest.raises(ValueError, match="model_id_form"):
        Emulator(model_id_form="name")
    with pytest.raises(ValueError, match="time_scale"):
        Emulator(time_scale=-1)
    with pytest.raises(ValueError, match="Completed"):
        Emulator(outcomes={"x": "Completed"})


# --- ListModelInvocationJobs ----------------------------------------------------------------


def test_list_filters_sort_and_pages() -> None:
    with bb.emulator.start(time_scale=30) as emu:
        bedrock = emu.boto3_client("bedrock")
        arns, marks = [], []
        for i in range(4):
            arns.append(create(emu, f"lst-{i}", OTHER if i == 3 else MODEL))
            time.sleep(0.02)
            marks.append(dt.datetime.now(dt.timezone.utc))
            time.sleep(0.02)

        def names(**kw: Any) -> list[str]:
            out, token = [], None
            while True:
                page = bedrock.list_model_invocation_jobs(
                    **kw, **({"nextToken": token} if token else {})
                )
                out += [j["jobName"] for j in page["invocationJobSummaries"]]
                token = page.get("nextToken")
                if not token:
                    return out

        assert names() == ["lst-3", "lst-2", "lst-1", "lst-0"]
        assert names(sortBy="CreationTime", sortOrder="Ascending") == [f"lst-{i}" for i in range(4)]
        assert names(sortBy="CreationTime", sortOrder="Descending", maxResults=1) == [
            "lst-3",
            "lst-2",
            "lst-1",
            "lst-0",
        ]
        assert names(submitTimeBefore=marks[1]) == ["lst-1", "lst-0"]
        assert names(submitTimeAfter=marks[0], submitTimeBefore=marks[2]) == ["lst-2", "lst-1"]
        assert names(submitTimeAfter=marks[0], submitTimeBefore=marks[2], maxResults=1) == [
            "lst-2",
            "lst-1",
        ]
        assert names(submitTimeBefore=marks[0] - dt.timedelta(hours=1)) == []
        assert names(nameContains="lst-2", statusEquals="Submitted") == ["lst-2"]
        assert names(statusEquals="Completed") == []

        # A bad value is the model's ValidationException, named by its member.
        for kw, where in [
            ({"sortBy": "Name"}, "sortBy"),
            ({"sortOrder": "Up"}, "sortOrder"),
            ({"statusEquals": "Done"}, "statusEquals"),
        ]:
            with pytest.raises(ClientError, match="ValidationException") as info:
                bedrock.list_model_invocation_jobs(**kw)
            assert f"at '{where}'" in info.value.response["Error"]["Message"]
        # What boto3 would refuse before sending, sent by hand.
        for query, where in [
            ("submitTimeBefore=yesterday", "submitTimeBefore"),
            ("submitTimeAfter=2024-13", "submitTimeAfter"),
            ("maxResults=0", "maxResults"),
            ("maxResults=1001", "maxResults"),
            ("maxResults=ten", "maxResults"),
            ("sortBy=creationtime", "sortBy"),
        ]:
            status, headers, body = signed(emu, "GET", f"/model-invocation-jobs?{query}")
            assert status == 400 and headers["x-amzn-errortype"] == "ValidationException", query
            assert f"at '{where}'" in body["message"], body
        # Timestamps with an offset and without one (UTC) are read as ISO 8601 says.
        before = marks[1].astimezone(dt.timezone(dt.timedelta(hours=9))).isoformat()
        naive = marks[1].replace(tzinfo=None).isoformat()
        for stamp in (before, naive):
            q = urllib.parse.urlencode({"submitTimeBefore": stamp, "sortOrder": "Ascending"})
            status, _, body = signed(emu, "GET", f"/model-invocation-jobs?{q}")
            assert status == 200, body
            assert [j["jobName"] for j in body["invocationJobSummaries"]] == ["lst-0", "lst-1"]


# --- model_id_form ---------------------------------------------------------------------------


def test_model_ids_as_arns_and_as_given() -> None:
    expected = {
        MODEL: f"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/{MODEL}",
        BASE: f"arn:aws:bedrock:eu-west-1::foundation-model/{BASE}",
        FORMS[2]: FORMS[2],
        FORMS[3]: FORMS[3],
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0": "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "apac.amazon.nova-lite-v1:0": "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/apac.amazon.nova-lite-v1:0",
    }
    for form, want in (("arn", expected), ("as-given", {m: m for m in expected})):
        with bb.emulator.start(time_scale=30, model_id_form=form, region="eu-west-1") as emu:
            bedrock = emu.boto3_client("bedrock")
            arns = {m: create(emu, f"form-{i}", m) for i, m in enumerate(expected)}
            for m, arn in arns.items():
                assert bedrock.get_model_invocation_job(jobIdentifier=arn)["modelId"] == want[m]
            listed = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
            assert {j["jobArn"]: j["modelId"] for j in listed} == {
                arn: want[m] for m, arn in arns.items()
            }
            # Clients that normalise ids still count one model's jobs together.
            assert len(emu.client().active_jobs(MODEL)) == 4
    assert model_arn("my-provisioned-model", "us-east-1") == "my-provisioned-model"


# --- time_scale=0 ----------------------------------------------------------------------------


def test_time_scale_zero_runs_many_jobs_to_the_end(tmp_path: Path) -> None:
    with bb.emulator.start(time_scale=0) as emu:
        emu.create_bucket(BUCKET)
        arns = []
        for i in range(12):
            upload(emu, folder_of(tmp_path, 500, f"z{i:02d}-"), f"zero-{i}")
            arns.append(create(emu, f"zero-{i}"))
        jobs = wait_final(emu, arns)
        assert [j["status"] for j in jobs] == ["Completed"] * 12
        assert [j["processedRecordCount"] for j in jobs] == [500] * 12
        lines = output_lines(emu, jobs[5])
        assert sorted(line["recordId"] for line in lines) == [f"z05-{i:05d}" for i in range(500)]
        assert all("modelOutput" in line for line in lines)
        assert manifest(emu, jobs[5])["successRecordCount"] == 500


def test_the_responders_key_scan_matches_one_scan_of_the_whole_prompt() -> None:
    """The fast path (the system prompt's keys cached, a user text without ``_`` skipped) finds
    what one scan of ``system + "\\n" + user`` finds, in the same order."""
    import random

    from bedrock_batch.emulator._responder import _KEY, _keys

    rng = random.Random(7)
    alphabet = "ab_z09 \n_.-Ａé"
    for _ in range(20_000):
        system = "".join(rng.choice(alphabet) for _ in range(rng.randrange(14)))
        user = "".join(rng.choice(alphabet) for _ in range(rng.randrange(14)))
        assert _keys(system, user) == _KEY.findall(system + "\n" + user), (system, user)


# --- the command and the emulator in its own process ------------------------------------------


def test_the_command_says_where_it_listens_and_exits_0_on_sigint_and_sigterm() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bedrock_batch", "emulator", "--port", "0", "--time-scale", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            m = READY.fullmatch(first)
            assert m, first
            port = int(m.group(1))
            assert port > 0
            assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in proc.stdout.readline() + (
                proc.stdout.readline()
            )
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
        finally:
            watchdog.cancel()
            proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        assert proc.returncode == 0, (sig, err)
        assert "Traceback" not in err


def test_the_command_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, says in [
        (["--host", "0.0.0.0"], "loopback only"),
        (["--outcome", "nightly"], "SUBSTRING=STATE"),
        (["--outcome", "nightly=Completed"], "STATE must be one of"),
        (["--model-id-form", "name"], "invalid choice"),
        (["--error-rate", "1.5"], "between 0 and 1"),
        (["--max-concurrent-jobs", "-1"], "negative"),
        (["--time-scale", "-1"], "negative"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli_main(["emulator", *argv])
        assert info.value.code == 2
        assert says in capsys.readouterr().err, argv


def test_spawn_passes_every_knob(tmp_path: Path) -> None:
    folder = folder_of(tmp_path)
    with bb.emulator.spawn(
        time_scale=0,
        region="eu-west-1",
        model_id_form="arn",
        outcomes={"doomed": "Failed", "half": "PartiallyCompleted"},
        partial_fraction=0.2,
        error_rate=0.5,
        seed=7,
    ) as emu:
        assert emu.region == "eu-west-1" and emu.env()["AWS_REGION"] == "eu-west-1"
        emu.create_bucket(BUCKET)
        for name in ("doomed-1", "half-1"):
            upload(emu, folder, name)
        doomed, half = wait_final(emu, [create(emu, "doomed-1"), create(emu, "half-1")])
        assert doomed["status"] == "Failed" and "asked to fail" in doomed["message"]
        assert doomed["modelId"].startswith("arn:aws:bedrock:eu-west-1:123456789012:")
        assert half["status"] == "PartiallyCompleted"
        assert half["processedRecordCount"] == 80  # partial_fraction=0.2 of 100 left out
        lines = output_lines(emu, half)
        done = [line["recordId"] for line in lines]
        failed = {line["recordId"] for line in lines if "error" in line}
        # error_rate, seed and the job's name choose the failing records; another seed would
        # choose others.
        assert failed == {r for r in done if _draw(7, "job:half-1", r) < 0.5}
        assert failed != {r for r in done if _draw(0, "job:half-1", r) < 0.5}
        assert half["errorRecordCount"] == len(failed) > 0
    assert emu.returncode == 0

    with bb.emulator.spawn(time_scale=30, max_concurrent_jobs=1, throttle_rate=0.5) as emu:
        bedrock = emu.boto3_client("bedrock")
        # throttle_rate=0.5: every other control-plane call is answered 429.
        calls = [signed(emu, "GET", "/model-invocation-jobs") for _ in range(4)]
        assert [status for status, _, _ in calls] == [429, 200, 429, 200]
        assert calls[0][1]["x-amzn-errortype"] == "ThrottlingException"
        arn, _ = unthrottled(lambda: create(emu, "slow-0"))
        # time_scale=30: still Submitted (at the command's default of 1 s a step, or spawn's
        # 0.05 s, this job, which has no input, would have failed by now).
        time.sleep(2.5)
        job, _ = unthrottled(lambda: bedrock.get_model_invocation_job(jobIdentifier=arn))
        assert job["status"] == "Submitted" and job["modelId"] == MODEL
        with pytest.raises(ClientError, match="ServiceQuotaExceededException"):
            unthrottled(lambda: create(emu, "slow-1"))


def test_spawn_reports_a_child_that_cannot_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BedrockBatchError, match=r"exited with status [12]") as info:
            bb.emulator.spawn(port=port)
    # The child's stderr is in the message.
    assert "in use" in str(info.value)


CLIENT = """
import sys, time
import bedrock_batch as bb
url, folder, model, role = sys.argv[1:5]
client = bb.Client(region="us-east-1", endpoint_url=url, _credentials=("testing", "testing"))
job = client.submit(folder, model=model, role_arn=role, input_uri="s3://%s/in/killed/",
                    output_uri="s3://%s/out/", name="killed-client")
print(job.arn, flush=True)
job.wait(poll_interval=0.05, timeout=600, progress=False)
print("never", flush=True)
"""


def test_a_job_outlives_its_sigkilled_client(tmp_path: Path) -> None:
    folder = folder_of(tmp_path)
    with bb.emulator.spawn(time_scale=0.2) as emu:
        emu.create_bucket(BUCKET)
        client = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CLIENT % (BUCKET, BUCKET),
                emu.endpoint_url,
                str(folder),
                MODEL,
                emu.role_arn(),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(60, client.kill)
        watchdog.start()
        try:
            assert client.stdout is not None
            arn = client.stdout.readline().strip()
            assert arn.startswith("arn:aws:bedrock:"), arn
            time.sleep(0.3)  # the client is polling now
            client.send_signal(signal.SIGKILL)
            client.wait(timeout=10)
        finally:
            watchdog.cancel()
            client.kill()
            client.wait()
            assert client.stdout is not None
            client.stdout.close()
        assert client.returncode == -signal.SIGKILL
        listed = emu.boto3_client("bedrock").list_model_invocation_jobs(nameContains="killed")
        assert [j["jobArn"] for j in listed["invocationJobSummaries"]] == [arn]
        (job,) = wait_final(emu, [arn])
        assert job["status"] == "Completed" and job["processedRecordCount"] == 100
        assert manifest(emu, job)["successRecordCount"] == 100
        pid = emu.pid
    assert emu.returncode == 0
    assert not _alive(pid)


SPAWNER = """
import sys, time
import bedrock_batch as bb
emu = bb.emulator.spawn()
print(emu.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except OSError:
        return True


def test_a_spawned_emulator_ends_with_the_process_that_spawned_it() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        assert _alive(pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the emulator outlived the process that spawned it"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# --- the runtime: InvokeModel, Converse, CountTokens ------------------------------------------

LLAMA = "us.meta.llama3-3-70b-instruct-v1:0"
JSON_SYSTEM = 'JSON: {{"title_en": ..., "summary_en": ...}}'


def json_folder(
    tmp: Path,
    n: int = 100,
    tag: str = "j",
    *,
    max_tokens: int = 256,
    model: str = MODEL,
    invocation: str = "auto",
) -> Path:
    """One job folder of ``n`` records whose prompt asks for JSON (with a ``{`` prefill)."""
    rows = [
        {"id": f"{tag}{i:05d}", "title": f"Post {i}", "content": f"Article body number {i}."}
        for i in range(n)
    ]
    prompt = bb.Prompt(
        system=JSON_SYSTEM, user="Title: {title}\n\n{content}", max_tokens=max_tokens, prefill="{"
    )
    recs = bb.pack(rows, prompt=prompt, model=model, invocation=invocation)
    recs.write(tmp / f"batch-{tag}")
    (folder,) = sorted(p for p in (tmp / f"batch-{tag}").iterdir() if p.is_dir())
    return folder


def run_job(
    emu: EmulatorClients, folder: Path, name: str, model: str = MODEL, **kw: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Uploads ``folder``, runs one job on it to its end: the job and its lines by record id."""
    upload(emu, folder, name)
    (job,) = wait_final(emu, [create(emu, name, model, **kw)])
    return job, {line["recordId"]: line for line in output_lines(emu, job)}


def inputs(folder: Path) -> dict[str, dict[str, Any]]:
    """The records' model inputs by record id."""
    out = {}
    for f in folder.glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            out[rec["recordId"]] = rec["modelInput"]
    return out


def answer_text(output: dict[str, Any]) -> str:
    """The text of a Claude, Converse or Llama output."""
    if "content" in output:
        return "".join(b["text"] for b in output["content"])
    if "output" in output:
        return "".join(b["text"] for b in output["output"]["message"]["content"])
    return str(output["generation"])


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_the_runtime_api_on_the_wire() -> None:
    """Paths, methods, status codes and error shapes of botocore's bedrock-runtime model."""
    from bedrock_batch.emulator._model import operation, service_model

    for op, path in [
        ("InvokeModel", "/model/{modelId}/invoke"),
        ("Converse", "/model/{modelId}/converse"),
        ("CountTokens", "/model/{modelId}/count-tokens"),
    ]:
        http = operation(op, RUNTIME)["http"]
        assert (http["method"], http["requestUri"], http.get("responseCode", 200)) == (
            "POST",
            path,
            200,
        )
    assert service_model(RUNTIME)["metadata"]["signingName"] == "bedrock"
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Title: Hello\n\nSome text."}],
    }
    with bb.emulator.start(time_scale=30) as emu:
        model = urllib.parse.quote(MODEL, safe="")
        status, headers, out = signed(emu, "POST", f"/model/{model}/invoke", body)
        assert status == 200 and headers["content-type"] == "application/json"
        assert out["type"] == "message" and out["stop_reason"] == "end_turn"
        assert headers["x-amzn-bedrock-input-token-count"] == str(out["usage"]["input_tokens"])
        assert headers["x-amzn-bedrock-output-token-count"] == str(out["usage"]["output_tokens"])
        assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
        # An ARN in the path (its slash escaped) is the same model.
        arn = urllib.parse.quote(FORMS[3], safe="")
        assert signed(emu, "POST", f"/model/{arn}/invoke", body)[2] == out
        # Bedrock's errors: the status from the model, x-amzn-ErrorType, a {"message"} body.
        for path, sent, shape, says in [
            (f"/model/{model}/invoke", {"max_tokens": 5}, "ValidationException", "[anthropic_"),
            (f"/model/{model}/invoke", b"not json", "ValidationException", "Malformed input"),
            ("/model/nobody.knows-v1/invoke", body, "ValidationException", "identifier"),
            (f"/model/{model}/converse", {"messages": []}, "ValidationException", "user message"),
            (
                f"/model/{model}/converse",
                {"messages": [{"role": "robot", "content": [{"text": "x"}]}]},
                "ValidationException",
                "enum",
            ),
            (
                f"/model/{model}/count-tokens",
                {"input": {"invokeModel": {"body": "%%%"}}},
                "ValidationException",
                "base64",
            ),
            (
                f"/model/{model}/count-tokens",
                {"input": {"invokeModel": {}, "converse": {}}},
                "ValidationException",
                "exactly one",
            ),
        ]:
            status, headers, err = signed(emu, "POST", path, sent)
            assert status == error_status(shape, RUNTIME) == 400, (path, sent, err)
            assert headers["x-amzn-errortype"] == shape and list(err) == ["message"]
            assert says in err["message"], err
        # Nothing else lives under /model/: not found, not an answer.
        status, headers, _ = signed(emu, "GET", f"/model/{model}/invoke")
        assert status == 404 and headers["x-amzn-errortype"] == "ResourceNotFoundException"


def test_invoke_converse_and_count_tokens_with_boto3() -> None:
    """Each family's native response and the Converse shape; CountTokens is exactly the usage
    the answer reports, for an InvokeModel body and for a Converse request."""
    claude = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "system": JSON_SYSTEM,
        "messages": [
            {"role": "user", "content": "Title: 東京の天気\n\n今日は晴れ。明日は雨でしょう。"},
            {"role": "assistant", "content": "{"},
        ],
    }
    converse = {
        "system": [{"text": JSON_SYSTEM}],
        "messages": [
            {
                "role": "user",
                "content": [{"text": "Title: 東京の天気\n\n今日は晴れ。明日は雨でしょう。"}],
            },
            {"role": "assistant", "content": [{"text": "{"}]},
        ],
        "inferenceConfig": {"maxTokens": 300},
    }
    bodies = [
        (MODEL, claude),
        (LLAMA, {"prompt": "<|begin_of_text|>Say something about the sea.", "max_gen_len": 64}),
        (OTHER, converse),  # Nova's native body is Converse-like
        ("amazon.titan-embed-text-v2:0", {"inputText": "an embedding", "dimensions": 256}),
    ]
    with bb.emulator.start(time_scale=30) as emu:
        runtime = emu.boto3_client("bedrock-runtime")
        for model, body in bodies:
            resp = runtime.invoke_model(modelId=model, body=json.dumps(body))
            out = json.loads(resp["body"].read())
            headers = resp["ResponseMetadata"]["HTTPHeaders"]
            counted = runtime.count_tokens(
                modelId=model, input={"invokeModel": {"body": json.dumps(body)}}
            )["inputTokens"]
            if model == MODEL:
                assert out["content"][0]["type"] == "text" and parses("{" + answer_text(out))
                assert counted == out["usage"]["input_tokens"]
            elif model == LLAMA:
                assert out["stop_reason"] == "stop" and out["generation"]
                assert counted == out["prompt_token_count"]
            elif model == OTHER:
                assert out["stopReason"] == "end_turn"
                assert counted == out["usage"]["inputTokens"]
            else:
                assert len(out["embedding"]) == 256 and counted == out["inputTextTokenCount"]
            assert headers["x-amzn-bedrock-input-token-count"] == str(counted)
            assert counted > 1
        answer = runtime.converse(modelId=MODEL, **converse)
        assert answer["output"]["message"]["role"] == "assistant"
        assert parses("{" + answer["output"]["message"]["content"][0]["text"])
        assert answer["stopReason"] == "end_turn" and answer["metrics"]["latencyMs"] > 0
        usage = answer["usage"]
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
        counted = runtime.count_tokens(
            modelId=MODEL,
            input={"converse": {"system": converse["system"], "messages": converse["messages"]}},
        )["inputTokens"]
        # The same prompt counts the same however it is sent, and a limit changes nothing.
        assert counted == usage["inputTokens"]
        assert (
            counted
            == runtime.count_tokens(
                modelId=MODEL,
                input={"invokeModel": {"body": json.dumps({**claude, "max_tokens": 9})}},
            )["inputTokens"]
        )
        with pytest.raises(ClientError, match="ValidationException"):
            runtime.converse(
                modelId="amazon.titan-embed-text-v2:0",
                messages=[{"role": "user", "content": [{"text": "x"}]}],
            )
        stats = emu.stats()
    assert (stats["invokes"], stats["converses"], stats["count_tokens"]) == (4, 2, 6)
    assert stats["runtime_records"] == 5 and stats["runtime_errors"] == 1


@pytest.mark.parametrize("invocation", ["auto", "converse"])
def test_a_record_answered_on_demand_is_the_record_answered_in_a_job(
    tmp_path: Path, invocation: str
) -> None:
    folder = json_folder(tmp_path, invocation=invocation)
    bodies = inputs(folder)
    extra = {"modelInvocationType": "Converse"} if invocation == "converse" else {}
    with bb.emulator.start(time_scale=0) as emu:
        emu.create_bucket(BUCKET)
        job, lines = run_job(emu, folder, f"same-{invocation}", **extra)
        assert job["status"] == "Completed" and len(lines) == 100
        runtime = emu.boto3_client("bedrock-runtime")
        picked = sorted(bodies)[::25]
        for rid in picked:
            if invocation == "converse":
                got = runtime.converse(modelId=MODEL, **bodies[rid])
                got.pop("ResponseMetadata")
            else:
                resp = runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[rid]))
                got = json.loads(resp["body"].read())
            assert got == lines[rid]["modelOutput"], rid
            counted = runtime.count_tokens(
                modelId=MODEL,
                input=(
                    {"converse": {k: bodies[rid][k] for k in ("system", "messages")}}
                    if invocation == "converse"
                    else {"invokeModel": {"body": json.dumps(bodies[rid])}}
                ),
            )["inputTokens"]
            usage = got["usage"]
            assert counted == usage.get("input_tokens", usage.get("inputTokens"))
        stats = emu.stats()
    assert stats["on_demand_by_record"] == dict.fromkeys(picked, 1)
    assert stats["runtime_records"] == 4 and stats["batch_records"] == 100
    assert stats["creates"] == 1


def test_records_with_one_prompt_are_told_apart_by_their_history(tmp_path: Path) -> None:
    """A runtime call names no record: of the records with its prompt, the one without a good
    answer is the one asked for."""
    rows = [
        {"id": f"d{i:05d}", "title": f"Post {i // 2}", "content": f"Article body {i // 2}."}
        for i in range(200)
    ]
    prompt = bb.Prompt(system=JSON_SYSTEM, user="Title: {title}\n\n{content}", max_tokens=256)
    bb.pack(rows, prompt=prompt, model=MODEL).write(tmp_path / "dup")
    (folder,) = sorted(p for p in (tmp_path / "dup").iterdir() if p.is_dir())
    bodies = inputs(folder)
    with bb.emulator.start(time_scale=0, error_rate=0.3, seed=2) as emu:
        emu.create_bucket(BUCKET)
        _, lines = run_job(emu, folder, "dup-1")
        failed = {r for r, line in lines.items() if "error" in line}
        # Pairs with one answer and one error line.
        halves = [
            (f"d{i:05d}", f"d{i + 1:05d}")
            for i in range(0, 200, 2)
            if len({f"d{i:05d}", f"d{i + 1:05d}"} & failed) == 1
        ]
        assert len(halves) >= 3
        runtime = emu.boto3_client("bedrock-runtime")
        asked = []
        for pair in halves:
            (bad,) = set(pair) & failed
            assert bodies[pair[0]] == bodies[pair[1]]
            out = json.loads(
                runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[bad]))["body"].read()
            )
            # Answered as that record (its message id is the record's).
            other = lines[next(r for r in pair if r != bad)]["modelOutput"]
            assert out["id"] != other["id"] and out["content"] == other["content"]
            asked.append(bad)
        assert emu.stats()["on_demand_by_record"] == dict.fromkeys(asked, 1)


# --- faults: per attempt, per record ------------------------------------------------------------


def test_retryable_errors_are_drawn_per_job_and_validation_errors_per_record(
    tmp_path: Path,
) -> None:
    folder = json_folder(tmp_path, 200)
    bodies = inputs(folder)
    with bb.emulator.start(time_scale=0, error_rate=0.3, invalid_input_rate=0.15, seed=3) as emu:
        emu.create_bucket(BUCKET)
        runs = [run_job(emu, folder, name) for name in ("try-a0", "try-a1")]
        errors = []
        for job, lines in runs:
            assert job["status"] == "Completed"
            bad = {r: line["error"] for r, line in lines.items() if "error" in line}
            assert job["errorRecordCount"] == len(bad) == 200 - job["successRecordCount"]
            # The error line as Bedrock writes it: an HTTP status code and a message.
            assert all(set(e) == {"errorCode", "errorMessage"} for e in bad.values())
            assert {e["errorCode"] for e in bad.values()} == {400, 429, 500}
            errors.append(bad)
        # Validation errors: the same records in every job, as drawn from the seed and record.
        invalid = [{r for r, e in bad.items() if e["errorCode"] == 400} for bad in errors]
        assert invalid[0] == invalid[1] == {r for r in bodies if _draw(3, "invalid", r) < 0.15}
        assert all(
            e["errorMessage"].startswith("Malformed input request")
            for bad in errors
            for e in bad.values()
            if e["errorCode"] == 400
        )
        # Throttling and internal errors: drawn per job, so a retry can succeed.
        retryable = [{r for r, e in bad.items() if e["errorCode"] != 400} for bad in errors]
        assert retryable[0] != retryable[1]
        assert retryable[0] - retryable[1] - invalid[0], "no record succeeded on its retry"
        for name, drawn in zip(("try-a0", "try-a1"), retryable):
            assert drawn == {
                r for r in set(bodies) - invalid[0] if _draw(3, f"job:{name}", r) < 0.3
            }
        # On demand: the validation error again, the retryable one gone.
        runtime = emu.boto3_client("bedrock-runtime", retries=0)
        rid = sorted(invalid[0])[0]
        with pytest.raises(ClientError) as info:
            runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[rid]))
        assert info.value.response["Error"]["Code"] == "ValidationException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        again = sorted(retryable[0] & retryable[1])[0]
        out = json.loads(
            runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[again]))["body"].read()
        )
        assert parses("{" + answer_text(out))
        assert emu.stats()["on_demand_by_record"] == {again: 1}


def test_invalid_json_is_drawn_per_attempt(tmp_path: Path) -> None:
    folder = json_folder(tmp_path, 200)
    plain = folder_of(tmp_path, 100, "p")  # a prompt that asks for no JSON
    bodies = inputs(folder)
    with bb.emulator.start(time_scale=0, invalid_json_rate=0.3, seed=5) as emu:
        emu.create_bucket(BUCKET)
        broken = []
        for name in ("js-a0", "js-a1"):
            job, lines = run_job(emu, folder, name)
            assert job["status"] == "Completed" and job["errorRecordCount"] == 0
            texts = {r: "{" + answer_text(line["modelOutput"]) for r, line in lines.items()}
            bad = {r for r, t in texts.items() if not parses(t)}
            assert bad == {r for r in bodies if _draw(5, "json", f"job:{name}", r) < 0.3}
            # Prose around an object that is never closed; the answer still ended by itself.
            for r in bad:
                assert texts[r].count("{") > texts[r].count("}")
                assert lines[r]["modelOutput"]["stop_reason"] == "end_turn"
            broken.append(bad)
        assert broken[0] != broken[1] and broken[0] and broken[1]
        # A prompt without JSON is not broken.
        _, lines = run_job(emu, plain, "js-plain")
        assert all("{" not in answer_text(line["modelOutput"]) for line in lines.values())
        # On demand, each call draws again: asked often enough, a record gets valid JSON.
        runtime = emu.boto3_client("bedrock-runtime")
        rid = sorted(broken[0])[0]
        answers = [
            "{"
            + answer_text(
                json.loads(
                    runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[rid]))["body"].read()
                )
            )
            for _ in range(12)
        ]
        assert any(parses(a) for a in answers) and not all(parses(a) for a in answers)
        assert emu.stats()["on_demand_by_record"] == {rid: 12}


def test_long_answers_are_cut_at_max_tokens(tmp_path: Path) -> None:
    # The same records, with a limit below truncate_tokens and with one at it.
    short = json_folder(tmp_path / "short", 100, "t", max_tokens=256)
    enough = json_folder(tmp_path / "enough", 100, "t", max_tokens=600)
    bodies = inputs(short)
    long_ones = {r for r in bodies if _draw(9, "truncate", r) < 0.25}
    assert long_ones
    with bb.emulator.start(time_scale=0, truncate_rate=0.25, seed=9) as emu:
        emu.create_bucket(BUCKET)
        for name in ("cut-a0", "cut-a1"):  # per record: the same ones in every job
            _, lines = run_job(emu, short, name)
            cut = {
                r for r, line in lines.items() if line["modelOutput"]["stop_reason"] != "end_turn"
            }
            assert cut == long_ones
            for r in cut:
                out = lines[r]["modelOutput"]
                assert out["stop_reason"] == "max_tokens" and out["usage"]["output_tokens"] == 256
                assert not parses("{" + answer_text(out))
                assert bb._core.estimate_tokens(answer_text(out)) <= 256
            for r in set(lines) - cut:
                assert parses("{" + answer_text(lines[r]["modelOutput"]))
        # max_tokens >= truncate_tokens: the long answers are whole.
        _, lines = run_job(emu, enough, "cut-enough")
        for r in long_ones:
            out = lines[r]["modelOutput"]
            assert out["stop_reason"] == "end_turn" and out["usage"]["output_tokens"] == 600
            assert parses("{" + answer_text(out))
            assert 500 < bb._core.estimate_tokens(answer_text(out)) <= 600
        # On demand, as each family names it: Converse's max_tokens, Llama's length.
        runtime = emu.boto3_client("bedrock-runtime")
        rid = sorted(long_ones)[0]
        body = bodies[rid]
        answer = runtime.converse(
            modelId=MODEL,
            system=[{"text": body["system"]}],
            messages=[
                {"role": m["role"], "content": [{"text": m["content"]}]} for m in body["messages"]
            ],
            inferenceConfig={"maxTokens": 100},
        )
        assert answer["stopReason"] == "max_tokens" and answer["usage"]["outputTokens"] == 100
        prompt = {
            "prompt": f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{body['messages'][0]['content']}<|eot_id|>",
            "max_gen_len": 50,
        }
        # A body no job had is a record of its own: find one that is drawn long.
        for i in range(200):
            llama = {**prompt, "prompt": prompt["prompt"] + f" #{i}"}
            out = json.loads(
                runtime.invoke_model(modelId=LLAMA, body=json.dumps(llama))["body"].read()
            )
            if out["stop_reason"] != "stop":
                break
        assert out["stop_reason"] == "length" and out["generation_token_count"] == 50
        whole = json.loads(
            runtime.invoke_model(modelId=LLAMA, body=json.dumps({**llama, "max_gen_len": 600}))[
                "body"
            ].read()
        )
        assert whole["stop_reason"] == "stop" and whole["generation_token_count"] == 600
        assert whole["generation"].startswith(out["generation"])


def test_runtime_faults_are_drawn_per_call_and_seeded() -> None:
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Hello."}],
        }
    )

    def outcomes(seed: int) -> list[str]:
        with bb.emulator.start(
            time_scale=30, runtime_throttle_rate=0.3, runtime_error_rate=0.2, seed=seed
        ) as emu:
            runtime = emu.boto3_client("bedrock-runtime", retries=0)
            got = []
            for _ in range(60):
                try:
                    runtime.invoke_model(modelId=MODEL, body=body)
                    got.append("ok")
                except ClientError as e:
                    got.append(e.response["Error"]["Code"])
                    status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                    assert status == error_status(got[-1], RUNTIME)
            stats = emu.stats()
        assert stats["invokes"] == 60 and stats["runtime_errors"] == 60 - got.count("ok")
        assert stats["runtime_records"] == got.count("ok")
        return got

    first = outcomes(11)
    assert set(first) == {
        "ok",
        "ThrottlingException",
        "InternalServerException",
        "ServiceUnavailableException",
    }
    # Call n is throttled when its draw is below 0.3, fails when below 0.5.
    expected = [
        "ThrottlingException"
        if _draw(11, "runtime", n) < 0.3
        else ("error" if _draw(11, "runtime", n) < 0.5 else "ok")
        for n in range(1, 61)
    ]
    assert [o if o in ("ok", "ThrottlingException") else "error" for o in first] == expected
    assert outcomes(11) == first  # reproducible
    assert outcomes(12) != first


# --- per-job outcomes --------------------------------------------------------------------------


def test_a_job_that_fails_after_starting_says_it_was_the_service(tmp_path: Path) -> None:
    folder = folder_of(tmp_path)
    with bb.emulator.start(time_scale=0.05, outcomes={"flaky": "FailedService"}) as emu:
        emu.create_bucket(BUCKET)
        upload(emu, folder, "flaky-1")
        upload(emu, folder, "tagged-1")
        arns = [
            create(emu, "flaky-1"),
            create(emu, "tagged-1", tags=[{"key": "emulator:outcome", "value": "FailedService"}]),
        ]
        seen = set()
        bedrock = emu.boto3_client("bedrock")
        while not all(
            (j := bedrock.get_model_invocation_job(jobIdentifier=a))["status"] == "Failed"
            for a in arns
        ):
            seen.add(j["status"])
            time.sleep(0.01)
        for job in wait_final(emu, arns):
            assert job["status"] == "Failed" and job["message"].startswith("Internal server error")
            # Not a validation failure (which is not worth submitting again).
            assert not re.search("validat|invalid|malformed", job["message"], re.I)
            assert 0 < job["processedRecordCount"] < 100
            lines = output_lines(emu, job)
            assert (
                len(lines)
                == job["processedRecordCount"]
                == manifest(emu, job)["processedRecordCount"]
            )
    assert "InProgress" in seen


def test_a_stalled_job_stops_moving_until_it_is_stopped(tmp_path: Path) -> None:
    folder = folder_of(tmp_path)
    with bb.emulator.start(
        time_scale=0.02, outcomes={"stuck": "Stalled"}, partial_fraction=0.3
    ) as emu:
        emu.create_bucket(BUCKET)
        upload(emu, folder, "stuck-1")
        upload(emu, folder, "moving-1")
        arn = create(emu, "stuck-1")
        other = create(emu, "moving-1", tags=[{"key": "emulator:outcome", "value": "Stalled"}])
        bedrock = emu.boto3_client("bedrock")
        deadline = time.monotonic() + 30
        while bedrock.get_model_invocation_job(jobIdentifier=arn).get("processedRecordCount") != 70:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        first = bedrock.get_model_invocation_job(jobIdentifier=arn)
        time.sleep(0.5)  # 25 steps
        later = bedrock.get_model_invocation_job(jobIdentifier=arn)
        assert first["status"] == later["status"] == "InProgress"
        assert later["processedRecordCount"] == 70 and later["totalRecordCount"] == 100
        assert later["lastModifiedTime"] == first["lastModifiedTime"]
        # Stopped: what it processed is written, with a manifest.
        bedrock.stop_model_invocation_job(jobIdentifier=arn)
        (job,) = wait_final(emu, [arn])
        assert job["status"] == "Stopped"
        lines = output_lines(emu, job)
        assert len(lines) == 70 and manifest(emu, job)["processedRecordCount"] == 70
        # The tag does the same.
        assert bedrock.get_model_invocation_job(jobIdentifier=other)["status"] == "InProgress"
        bedrock.stop_model_invocation_job(jobIdentifier=other)
        assert wait_final(emu, [other])[0]["status"] == "Stopped"


# --- knobs, the command, the process, the counters --------------------------------------------


def test_new_knobs_are_checked() -> None:
    for knob in (
        "error_rate",
        "invalid_input_rate",
        "invalid_json_rate",
        "truncate_rate",
        "throttle_rate",
        "runtime_error_rate",
        "runtime_throttle_rate",
        "partial_fraction",
    ):
        for bad in (-0.1, 1.5):
            with pytest.raises(ValueError, match=f"{knob} must be between 0 and 1"):
                Emulator(**{knob: bad})
    with pytest.raises(ValueError, match="truncate_tokens"):
        Emulator(truncate_tokens=0)
    Emulator(outcomes={"a": "FailedService", "b": "Stalled"})


def test_the_command_refuses_bad_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, says in [
        (["--invalid-input-rate", "2"], "between 0 and 1"),
        (["--invalid-json-rate", "-0.5"], "between 0 and 1"),
        (["--truncate-rate", "x"], "not a number"),
        (["--truncate-tokens", "0"], "positive"),
        (["--runtime-error-rate", "1.1"], "between 0 and 1"),
        (["--runtime-throttle-rate", "7"], "between 0 and 1"),
        (["--outcome", "x=Stuck"], "STATE must be one of"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli_main(["emulator", *argv])
        assert info.value.code == 2
        assert says in capsys.readouterr().err, argv


def test_spawn_passes_the_fault_knobs_and_reports_stats_over_http(tmp_path: Path) -> None:
    folder = json_folder(tmp_path, 100, "s", max_tokens=100)
    bodies = inputs(folder)
    with bb.emulator.spawn(
        time_scale=0,
        seed=4,
        invalid_input_rate=0.1,
        invalid_json_rate=0.2,
        truncate_rate=0.2,
        truncate_tokens=150,
        runtime_throttle_rate=0.25,
        runtime_error_rate=0.25,
        outcomes={"svc": "FailedService"},
    ) as emu:
        emu.create_bucket(BUCKET)
        _, lines = run_job(emu, folder, "knobs-1")
        invalid = {r for r in bodies if _draw(4, "invalid", r) < 0.1}
        assert {r for r, line in lines.items() if "error" in line} == invalid
        ok = {r: line["modelOutput"] for r, line in lines.items() if r not in invalid}
        cut = {r for r, out in ok.items() if out["stop_reason"] == "max_tokens"}
        assert cut == {r for r in ok if _draw(4, "truncate", r) < 0.2}
        assert all(ok[r]["usage"]["output_tokens"] == 100 for r in cut)
        broken = {r for r, out in ok.items() if r not in cut and not parses("{" + answer_text(out))}
        assert broken == {
            r for r in ok if r not in cut and _draw(4, "json", "job:knobs-1", r) < 0.2
        }
        upload(emu, folder, "svc-1")
        (failed,) = wait_final(emu, [create(emu, "svc-1")])
        assert failed["status"] == "Failed" and "Internal server error" in failed["message"]
        runtime = emu.boto3_client("bedrock-runtime", retries=0)
        rid = sorted(set(ok) - cut - broken)[0]
        codes = []
        for _ in range(20):
            try:
                runtime.invoke_model(modelId=MODEL, body=json.dumps(bodies[rid]))
                codes.append("ok")
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
        assert "ThrottlingException" in codes and "ok" in codes
        assert {"InternalServerException", "ServiceUnavailableException"} & set(codes)
        stats = emu.stats()
        assert stats["creates"] == 2 and stats["invokes"] == 20
        assert stats["batch_records"] == 100 + failed["processedRecordCount"]
        assert stats["on_demand_by_record"] == {rid: codes.count("ok")}
        assert stats["runtime_errors"] == 20 - codes.count("ok")
        # The endpoint needs no signature; it only answers GET.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(emu.endpoint_url + "/_emulator/stats", timeout=10) as resp:
            assert json.load(resp) == stats
        with pytest.raises(urllib.error.HTTPError) as info:
            opener.open(urllib.request.Request(emu.endpoint_url + "/_emulator/stats", data=b"{}"))
        assert info.value.code == 405
        info.value.close()
    assert emu.returncode == 0
