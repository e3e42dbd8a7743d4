"""The emulator's knobs for driving many jobs: the per-model concurrent-jobs quota, the list
filters, ARN model ids, the ``bedrock-batch emulator`` command, the emulator in its own process
(outliving the clients a test kills) and ``time_scale=0``. Everything goes over real HTTP on
loopback, through boto3, our client or SigV4-signed requests of our own."""

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
from bedrock_batch.emulator import Emulator, EmulatorClients, _unit_hash, model_arn
from bedrock_batch.emulator._model import error_status
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
    emu: EmulatorClients, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A SigV4-signed Bedrock request with no SDK between us and the wire: the status, the
    headers (lower-case names) and the JSON body."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode() if body is not None else None
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
        # error_rate and seed choose the failing records; another seed would choose others.
        assert failed == {r for r in done if _unit_hash(7, r) < 0.5}
        assert failed != {r for r in done if _unit_hash(0, r) < 0.5}
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
