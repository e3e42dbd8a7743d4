"""The AWS layer against the local emulator, over real HTTP on loopback: our Rust client and
boto3 side by side, sync and async twins, failures, credentials, a 200 MB upload."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch as bb
from bedrock_batch.emulator import Emulator
from bedrock_batch.exceptions import (
    AccessDeniedError,
    AwsConnectionError,
    AwsNotFoundError,
    AwsValidationError,
    ConflictError,
    InputError,
)

USER = "タイトル: {title}\n\n記事:\n{content}"
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BUCKET = "bb-test"
SCHEMA = ["title_en", "summary_ja", "summary_en"]
SYSTEM = 'JSON形式で出力してください: {{"title_en": ..., "summary_ja": ..., "summary_en": ...}}'


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with bb.emulator.start(time_scale=0.02) as e:
        e.create_bucket(BUCKET)
        yield e


@pytest.fixture(scope="module")
def client(emu: Emulator) -> bb.Client:
    return emu.client()


def records(n: int = 120, tag: str = "") -> bb.Records:
    rows = [
        {
            "id": f"{tag}r{i:04d}",
            "title": f"Post {i}",
            "content": f"<p>本文 {i}。Article body number {i}.</p>",
        }
        for i in range(n)
    ]
    return bb.pack(
        rows,
        prompt=bb.Prompt(user=USER, system=SYSTEM, max_tokens=512, prefill="{"),
        model=MODEL,
        clean={"content": "html"},
    )


def write(recs: bb.Records, tmp: Path) -> list[bb.Shard]:
    return recs.write(tmp / "batch")


def test_full_job_with_our_client_and_boto3_agreeing(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    recs = records()
    shards = write(recs, tmp_path)
    job = client.submit(
        shards,
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/a/",
        output_uri=f"s3://{BUCKET}/out/",
        name="test job #1",
        records=recs,
        tags={"team": "data"},
    )
    assert job.arn.startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "Completed" and job.name == "test-job--1"
    assert job.counts == {"total": 120, "processed": 120, "success": 120, "error": 0}
    # boto3, an independent client, sees the same job and finds the outputs where Bedrock puts them.
    b = emu.boto3_client("bedrock")
    got = b.get_model_invocation_job(jobIdentifier=job.arn)
    assert (
        got["status"] == "Completed"
        and got["jobName"] == job.name
        and got["totalRecordCount"] == 120
    )
    assert got["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == f"s3://{BUCKET}/in/a/"
    listed = b.list_model_invocation_jobs(nameContains="test-job")["invocationJobSummaries"]
    assert [j["jobArn"] for j in listed] == [job.arn]
    keys = sorted(
        o["Key"]
        for o in emu.boto3_client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"out/{job.job_id}/")[
            "Contents"
        ]
    )
    assert keys == [f"out/{job.job_id}/manifest.json.out", f"out/{job.job_id}/part-00001.jsonl.out"]
    res = job.results(tmp_path / "res", schema=SCHEMA, prefill="{")
    s = res.summary()
    assert s["succeeded"] == 120 and s["missing"] == 0 and res.problems == []
    df = res.to_pandas()
    assert list(df["recordId"]) == recs.ids
    assert df.loc[0, "title_en"] == "Post 0" and "本文 0" in df.loc[0, "summary_ja"]
    assert res.manifest is not None and res.manifest["successRecordCount"] == 120
    ours = {j.arn: j.status for j in client.jobs(name_contains="test-job")}
    assert ours == {job.arn: "Completed"}


def test_boto3_drives_the_emulator_directly(emu: Emulator, tmp_path: Path) -> None:
    s3, b = emu.boto3_client("s3"), emu.boto3_client("bedrock")
    s3.put_object(Bucket=BUCKET, Key="boto/in/part.jsonl", Body=records(100, "b").to_jsonl())
    arn = b.create_model_invocation_job(
        jobName="boto-job",
        roleArn=emu.role_arn(),
        modelId=MODEL,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/in/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/out/"}},
    )["jobArn"]
    for _ in range(400):
        st = b.get_model_invocation_job(jobIdentifier=arn)["status"]
        if st in bb.aws.FINAL_STATES:
            break
        time.sleep(0.02)
    assert st == "Completed"
    job_id = arn.rsplit("/", 1)[-1]
    body = s3.get_object(Bucket=BUCKET, Key=f"boto/out/{job_id}/part.jsonl.out")["Body"].read()
    assert len(body.splitlines()) == 100
    manifest = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"boto/out/{job_id}/manifest.json.out")["Body"].read()
    )
    assert manifest["totalRecordCount"] == 100 and manifest["inputTokenCount"] > 0
    # The bare 12-character job id works as an identifier too; unknown ids are 404.
    assert b.get_model_invocation_job(jobIdentifier=job_id)["jobArn"] == arn
    with pytest.raises(b.exceptions.ResourceNotFoundException):
        b.get_model_invocation_job(jobIdentifier="zzzzzzzzzzzz")
    with pytest.raises(b.exceptions.ValidationException):
        b.get_model_invocation_job(jobIdentifier="not a job")
    with pytest.raises(b.exceptions.ValidationException, match="timeoutDurationInHours"):
        b.create_model_invocation_job(
            jobName="x",
            roleArn=emu.role_arn(),
            modelId=MODEL,
            timeoutDurationInHours=200,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/out/"}},
        )
    with pytest.raises(b.exceptions.ValidationException, match="roleArn"):
        b.create_model_invocation_job(
            jobName="x",
            roleArn="not-an-arn",
            modelId=MODEL,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/boto/out/"}},
        )
    with pytest.raises(b.exceptions.ConflictException):
        b.stop_model_invocation_job(jobIdentifier=arn)  # already Completed
    page = b.list_model_invocation_jobs(maxResults=1)
    assert len(page["invocationJobSummaries"]) == 1 and "nextToken" in page


def test_retried_submit_creates_no_second_job(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    shards = write(records(100, "idem"), tmp_path)
    args: dict[str, Any] = {
        "model": MODEL,
        "role_arn": emu.role_arn(),
        "input_uri": f"s3://{BUCKET}/in/idem/",
        "output_uri": f"s3://{BUCKET}/out/",
        "name": "idem",
    }
    first = client.submit(shards, **args)
    second = client.submit(shards, **args)
    assert first.arn == second.arn
    assert len(client.jobs(name_contains="idem")) == 1


def test_a_job_that_fails_validation(emu: Emulator, client: bb.Client, tmp_path: Path) -> None:
    recs = records(100, "few")
    rest = recs.exclude(recs.ids[:5])  # 95 records: below Bedrock's minimum of 100
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "part.jsonl").write_bytes(rest.to_jsonl())
    job = client.submit(
        tmp_path / "few",
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/few/",
        output_uri=f"s3://{BUCKET}/out/",
        name="too-few",
    )
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "Failed"
    assert "95 records: a batch job needs at least 100 (5 more)" in (job.message or "")
    with pytest.raises(InputError, match="no output"):
        job.results(tmp_path / "r")


def test_partially_completed_keeps_what_finished(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    recs = records(200, "part")
    job = client.submit(
        write(recs, tmp_path),
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/part/",
        output_uri=f"s3://{BUCKET}/out/",
        name="partial",
        tags={"emulator:outcome": "PartiallyCompleted"},
        records=recs,
    )
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "PartiallyCompleted" and job.counts["processed"] == 100
    res = job.results(tmp_path / "r", schema=SCHEMA, prefill="{")
    s = res.summary()
    assert s["succeeded"] == 100 and s["missing"] == 100 and s["records"] == 200
    retry = res.retry_ids()
    assert len(retry) == 100 and recs.exclude([i for i in recs.ids if i not in retry]).ids == retry


def test_stop_and_expire(emu: Emulator, client: bb.Client, tmp_path: Path) -> None:
    slow = Emulator(time_scale=0.5).start()
    try:
        slow.create_bucket(BUCKET + "-slow")
        c = slow.client()
        job = c.submit(
            write(records(150, "stop"), tmp_path),
            model=MODEL,
            role_arn=slow.role_arn(),
            input_uri=f"s3://{BUCKET}-slow/in/stop/",
            output_uri=f"s3://{BUCKET}-slow/out/",
            name="to-stop",
        )
        job.stop()
        with pytest.raises(ConflictError):
            job.stop()
        job.wait(poll_interval=0.1, timeout=30, progress=False)
        assert job.status == "Stopped"
    finally:
        slow.stop()
    shards = recs_dir = write(records(100, "exp"), tmp_path / "e")
    job = client.submit(
        shards,
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/exp/",
        output_uri=f"s3://{BUCKET}/out/",
        name="expire",
        tags={"emulator:outcome": "Expired"},
    )
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "Expired"
    del recs_dir


def test_error_records_and_throttling(tmp_path: Path) -> None:
    with bb.emulator.start(time_scale=0.02, error_rate=0.1, throttle_rate=0.3) as e:
        e.create_bucket(BUCKET)
        c = e.client()
        recs = records(300, "err")
        job = c.submit(
            write(recs, tmp_path),
            model=MODEL,
            role_arn=e.role_arn(),
            input_uri=f"s3://{BUCKET}/in/errs/",
            output_uri=f"s3://{BUCKET}/out/",
            name="errs",
            records=recs,
        )
        job.wait(poll_interval=0.05, timeout=60, progress=False)  # throttled calls were retried
        assert job.status == "Completed"
        res = job.results(tmp_path / "r", schema=SCHEMA, prefill="{")
        s = res.summary()
        assert s["failed"] == job.counts["error"] and 10 < s["failed"] < 60
        assert s["succeeded"] + s["failed"] == 300
        assert set(res.retry_ids()) == {
            r for r, st in zip(res.columns()["recordId"], res.columns()["status"]) if st == "failed"
        }


def test_access_denied_says_what_to_fix(emu: Emulator, client: bb.Client, tmp_path: Path) -> None:
    with pytest.raises(AccessDeniedError, match=r"iam:PassRole") as e:
        client.submit(
            write(records(100, "deny"), tmp_path),
            model=MODEL,
            role_arn="arn:aws:iam::123456789012:role/NoPassRole",
            input_uri=f"s3://{BUCKET}/in/deny/",
            output_uri=f"s3://{BUCKET}/out/",
            name="denied",
        )
    assert isinstance(e.value, PermissionError) and e.value.code == "AccessDeniedException"
    assert "the caller needs bedrock:CreateModelInvocationJob and iam:PassRole" in str(e.value)
    with pytest.raises(AwsValidationError, match="modelId"):
        client.submit(
            write(records(100, "bad"), tmp_path / "b"),
            model="not a model!",
            role_arn=emu.role_arn(),
            input_uri=f"s3://{BUCKET}/in/bad/",
            output_uri=f"s3://{BUCKET}/out/",
            name="bad",
        )
    with pytest.raises(AwsNotFoundError):
        client.job("zzzzzzzzzzzz")


def test_connection_refused_is_clear_and_bounded() -> None:
    t = time.monotonic()
    c = bb.Client(
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        connect_timeout=1,
        max_attempts=2,
        _credentials=("AKIAFAKEFAKEFAKE", "fake/secret+key"),
    )
    with pytest.raises(AwsConnectionError, match="connection") as e:
        c.jobs()
    assert time.monotonic() - t < 20
    assert isinstance(e.value, ConnectionError)


def test_credentials_never_appear(caplog: pytest.LogCaptureFixture, emu: Emulator) -> None:
    key, secret = "AKIAIOSFODNN7FAKEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET"
    caplog.set_level(logging.DEBUG)
    c = bb.Client(
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        connect_timeout=0.5,
        max_attempts=1,
        _credentials=(key, secret),
    )
    texts = [repr(c), str(c)]
    try:
        c.jobs()
    except Exception as e:
        texts += [str(e), repr(e)]
    ok = bb.Client(region="us-east-1", endpoint_url=emu.endpoint_url, _credentials=(key, secret))
    with pytest.raises(AwsNotFoundError) as nf:
        ok.job("zzzzzzzzzzzz")
    texts += [str(nf.value), repr(ok), caplog.text]
    for t in texts:
        assert key not in t and secret not in t


def test_downloads_never_escape_the_target(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    s3 = emu.boto3_client("s3")
    s3.put_object(Bucket=BUCKET, Key="evil/ok.txt", Body=b"fine")
    assert [p.name for p in client.download(f"s3://{BUCKET}/evil/", tmp_path / "d1")] == ["ok.txt"]
    s3.put_object(Bucket=BUCKET, Key="evil/../../escape.txt", Body=b"x")
    with pytest.raises(InputError, match="would write outside"):
        client.download(f"s3://{BUCKET}/evil/", tmp_path / "d2")
    assert not (tmp_path / "escape.txt").exists()


def test_200mb_upload_arrives_intact_in_parallel_parts(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    chunk = os.urandom(1 << 20)
    h = hashlib.sha256()
    with open(folder / "part-00001.jsonl", "wb") as f:
        for i in range(200):
            block = chunk[i:] + chunk[:i]
            f.write(block)
            h.update(block)
    up = client.upload(folder, f"s3://{BUCKET}/big/")
    assert len(up) == 1 and up[0][1] == 200 << 20 and up[0][2].endswith("-13")  # 13 parts of 16 MiB
    body = (
        emu.boto3_client("s3").get_object(Bucket=BUCKET, Key="big/part-00001.jsonl")["Body"].read()
    )
    assert hashlib.sha256(body).hexdigest() == h.hexdigest()


def test_preflight_and_policies(emu: Emulator, client: bb.Client) -> None:
    checks = client.preflight(
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/",
        output_uri=f"s3://{BUCKET}/out/",
        model=MODEL,
    )
    by = {c.name: c.status for c in checks}
    assert (
        by["model"] == "pass"
        and by["role ARN"] == "pass"
        and by["input prefix write"] == "pass"
        and by["output prefix delete"] == "pass"
    )
    assert by["role trust and permissions"] == "skipped"
    bad = client.preflight(
        role_arn="role",
        input_uri="s3://no-such-bucket-xyz/in/",
        output_uri=f"s3://{BUCKET}/out/",
        model="nope.x",
    )
    by = {c.name: c.status for c in bad}
    assert by["model"] == by["role ARN"] == by["input prefix write"] == "fail"
    trust = bb.iam.trust_policy(account_id="123456789012", region="us-east-1")
    assert trust["Statement"][0]["Principal"] == {"Service": "bedrock.amazonaws.com"}
    role = bb.iam.role_policy(
        input_uri="s3://b/in",
        output_uri="s3://b/out",
        model=MODEL,
        regions=["us-east-1", "us-west-2"],
        account_id="123456789012",
    )
    arns = role["Statement"][2]["Resource"]
    assert (
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
        in arns
    )
    assert (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
        in arns
    )
    caller = bb.iam.caller_policy(role_arn=emu.role_arn())
    assert caller["Statement"][1]["Action"] == "iam:PassRole"


# --- async twins ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_twins(emu: Emulator, tmp_path: Path) -> None:
    client = emu.client()
    recs = records(100, "async")
    job = await client.submit_async(
        write(recs, tmp_path),
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/async/",
        output_uri=f"s3://{BUCKET}/out/",
        name="async-job",
        records=recs,
    )
    await job.wait_async(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "Completed"
    res = await job.results_async(tmp_path / "r", schema=SCHEMA, prefill="{")
    assert res.summary()["succeeded"] == 100
    jobs = await client.jobs_async(name_contains="async-job")
    assert [j.arn for j in jobs] == [job.arn]
    listing = await client._core.list_async(f"s3://{BUCKET}/in/async/")
    assert [k for k, _ in listing] == ["in/async/part-00001.jsonl"]


@pytest.mark.asyncio
async def test_twenty_jobs_with_gather(emu: Emulator, tmp_path: Path) -> None:
    client = emu.client()
    shards = write(records(100, "g"), tmp_path)
    jobs = await asyncio.gather(
        *[
            client.submit_async(
                shards,
                model=MODEL,
                role_arn=emu.role_arn(),
                input_uri=f"s3://{BUCKET}/in/g{i}/",
                output_uri=f"s3://{BUCKET}/out/",
                name=f"gather-{i}",
            )
            for i in range(20)
        ]
    )
    assert len({j.arn for j in jobs}) == 20
    # Twenty active jobs of one model are Bedrock's default quota (the emulator's too): let them
    # finish, so that the next tests can submit.
    await asyncio.gather(
        *[j.wait_async(poll_interval=0.05, timeout=120, progress=False) for j in jobs]
    )


@pytest.mark.asyncio
async def test_sync_calls_work_inside_a_running_loop(emu: Emulator, tmp_path: Path) -> None:
    asyncio.get_running_loop()  # as in a notebook cell
    client = emu.client()
    job = client.submit(
        write(records(100, "sync"), tmp_path),
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/sync/",
        output_uri=f"s3://{BUCKET}/out/",
        name="sync-in-loop",
    )
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    assert job.status == "Completed"


def test_progress_bar(
    emu: Emulator, client: bb.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = client.submit(
        write(records(100, "bar"), tmp_path),
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/bar/",
        output_uri=f"s3://{BUCKET}/out/",
        name="bar",
    )
    job.wait(poll_interval=0.05, timeout=60, progress=True)
    err = capsys.readouterr().err
    assert "100/100" in err and "Completed" in err


def test_submit_rejects_several_jobs_and_bad_invocation(client: bb.Client, tmp_path: Path) -> None:
    recs = records(300, "multi")
    recs.write(tmp_path / "m", quotas=bb.Quotas(max_records_per_job=100))
    with pytest.raises(InputError, match="3 job folders"):
        client.submit(
            tmp_path / "m",
            model=MODEL,
            role_arn="arn:aws:iam::123456789012:role/R",
            input_uri="s3://b/i/",
            output_uri="s3://b/o/",
            name="x",
        )
    with pytest.raises(InputError, match="invocation must be"):
        client.submit(
            tmp_path / "m" / "job-0001",
            model=MODEL,
            role_arn="arn:aws:iam::123456789012:role/R",
            input_uri="s3://b/i/",
            output_uri="s3://b/o/",
            name="x",
            invocation="batch",
        )


def test_submit_all_respects_the_concurrent_job_limit(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    recs = records(300, "all")
    recs.write(tmp_path / "all", quotas=bb.Quotas(max_records_per_job=100))
    jobs = client.submit_all(
        tmp_path / "all",
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/all/",
        output_uri=f"s3://{BUCKET}/out/",
        name="all",
        max_concurrent_jobs=1,
        poll_interval=0.05,
    )
    assert [j.info.get("job_name") or j.refresh().name for j in jobs] == [
        "all-0001",
        "all-0002",
        "all-0003",
    ]
    for j in jobs:
        j.wait(poll_interval=0.05, timeout=60, progress=False)
        assert j.status == "Completed" and j.counts["total"] == 100
    # With a limit of one, each job was submitted only after the previous one finished.
    ends = [j.info["end_time"] for j in jobs]
    submits = [j.info["submit_time"] for j in jobs]
    assert submits[1] >= ends[0] and submits[2] >= ends[1]


def test_a_prefix_with_other_objects_is_refused(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    emu.boto3_client("s3").put_object(Bucket=BUCKET, Key="in/stale/part-00009.jsonl", Body=b"{}\n")
    with pytest.raises(
        InputError, match=r"already holds 1 other object\(s\) \(e\.g\. in/stale/part-00009\.jsonl\)"
    ):
        client.submit(
            write(records(100, "st"), tmp_path),
            model=MODEL,
            role_arn=emu.role_arn(),
            input_uri=f"s3://{BUCKET}/in/stale/",
            output_uri=f"s3://{BUCKET}/out/",
            name="stale",
        )


def test_a_subset_of_shards_is_refused_and_tokens_can_be_renewed(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    shards = records(300, "sub").write(tmp_path / "s", quotas=bb.Quotas(max_records_per_file=100))
    assert len(shards) == 3
    with pytest.raises(InputError, match="the shards given are 1 of the 3 files"):
        client.submit(
            shards[:1],
            model=MODEL,
            role_arn=emu.role_arn(),
            input_uri=f"s3://{BUCKET}/in/sub/",
            output_uri=f"s3://{BUCKET}/out/",
            name="sub",
        )
    args: dict[str, Any] = {
        "model": MODEL,
        "role_arn": emu.role_arn(),
        "input_uri": f"s3://{BUCKET}/in/renew/",
        "output_uri": f"s3://{BUCKET}/out/",
        "name": "renew",
    }
    first = client.submit(shards, **args)
    first.wait(poll_interval=0.05, timeout=60, progress=False)
    again = client.submit(shards, client_request_token="rerun2", **args)
    assert again.arn != first.arn


def test_submit_all_keeps_names_distinct_and_inputs_per_job(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    recs = records(200, "per")
    recs.write(tmp_path / "p", quotas=bb.Quotas(max_records_per_job=100))
    long = "wordpress-article-summaries-ja-en-claude-haiku-4-5-2026-11-run-x"
    jobs = client.submit_all(
        tmp_path / "p",
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/per/",
        output_uri=f"s3://{BUCKET}/out/",
        name=long,
        records=recs,
        poll_interval=0.05,
    )
    names = [j.refresh().name for j in jobs]
    assert len(set(names)) == 2 and all(
        n is not None and len(n) <= 63 and n.endswith(("-0001", "-0002")) for n in names
    )
    for j in jobs:
        j.wait(poll_interval=0.05, timeout=60, progress=False)
        res = j.results(tmp_path / "results")  # the same folder for both: one subfolder per job
        assert res.summary() == {**res.summary(), "records": 100, "succeeded": 100, "missing": 0}
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(
        j.job_id for j in jobs
    )


def test_multi_file_jobs_are_validated_per_file(tmp_path: Path) -> None:
    with bb.emulator.start(
        time_scale=0.02, quotas=bb.Quotas(min_records_per_job=10, max_records_per_file=50)
    ) as e:
        e.create_bucket(BUCKET + "-mf")
        recs = records(120, "mf")
        shards = recs.write(
            tmp_path, quotas=bb.Quotas(min_records_per_job=10, max_records_per_file=50)
        )
        assert len(shards) == 3
        job = e.client().submit(
            shards,
            model=MODEL,
            role_arn=e.role_arn(),
            input_uri=f"s3://{BUCKET}-mf/in/",
            output_uri=f"s3://{BUCKET}-mf/out/",
            name="multi",
        )
        job.wait(poll_interval=0.05, timeout=60, progress=False)
        assert job.status == "Completed", job.message


def test_hostile_job_names_are_rejected_fast(emu: Emulator) -> None:
    b = emu.boto3_client("bedrock")
    t = time.monotonic()
    with pytest.raises(b.exceptions.ValidationException):
        b.list_model_invocation_jobs(nameContains="a" + "-" * 40 + "_")
    assert time.monotonic() - t < 5


def test_bad_local_paths_uris_and_policy_arguments(client: bb.Client, tmp_path: Path) -> None:
    with pytest.raises(bb.NotFoundError, match="no such file or folder"):
        client.upload(tmp_path / "missing", f"s3://{BUCKET}/x/")
    with pytest.raises(InputError, match="is not an S3 URI"):
        client.upload(tmp_path, "https://example.com/x")
    with pytest.raises(InputError, match="has no bucket"):
        client.download("s3:///key", tmp_path)
    with pytest.raises(ValueError, match="is not an S3 URI"):
        bb.iam.role_policy(
            input_uri="bucket/in", output_uri="s3://b/out", model=MODEL, regions=["us-east-1"]
        )
    with pytest.raises(InputError, match="unknown model"):
        bb.iam.role_policy(
            input_uri="s3://b/in", output_uri="s3://b/out", model="nope", regions=["us-east-1"]
        )


# --- Ctrl-C, keyword-only options, the remaining async twins ---------------------------------

INTERRUPTED_UPLOAD = """
import sys
import bedrock_batch as bb
client = bb.Client(region="us-east-1", endpoint_url=sys.argv[1], _credentials=("testing", "testing"))
print("start", flush=True)
try:
    client.upload(sys.argv[2], sys.argv[3])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


def test_ctrl_c_stops_an_upload_and_removes_what_it_wrote(emu: Emulator, tmp_path: Path) -> None:
    """SIGINT in the middle of a multi-GB upload: KeyboardInterrupt within 2 s, and neither the
    small files already uploaded nor the large one's parts are left in the bucket."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "huge"
    folder.mkdir()
    for i in range(3):
        (folder / f"small-{i}.jsonl").write_bytes(b'{"recordId": "x"}\n' * 1000)
    with open(folder / "part-big.jsonl", "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB that cost no disk
    prefix = "ctrlc/"
    s3 = emu.boto3_client("s3")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            INTERRUPTED_UPLOAD,
            emu.endpoint_url,
            str(folder),
            f"s3://{BUCKET}/{prefix}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
        # Wait until the large file's multipart upload has started and the small files landed.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
            done = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0)
            if uploads and done >= 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the upload never got going")
        assert proc.poll() is None, "the upload finished before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 3 and "interrupted" in out, out
    assert took < 2.0, f"KeyboardInterrupt came {took:.2f} s after SIGINT"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []


def test_options_are_keyword_only(emu: Emulator, client: bb.Client, tmp_path: Path) -> None:
    recs = records(100, "kw")
    job = client.submit(
        write(recs, tmp_path),
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/kw/",
        output_uri=f"s3://{BUCKET}/out/",
        name="kw-job",
        records=recs,
    )
    with pytest.raises(TypeError):
        job.wait(0.05)  # type: ignore[misc]
    job.wait(poll_interval=0.05, timeout=60, progress=False)
    with pytest.raises(TypeError):
        client.jobs("Completed")  # type: ignore[misc]
    res = job.results(tmp_path / "r", schema=SCHEMA, prefill="{")
    with pytest.raises(TypeError):
        res.retry_ids(["failed"])  # type: ignore[misc]
    import pandas as pd

    df = pd.DataFrame({"id": recs.ids})
    with pytest.raises(TypeError):
        res.join(df, "id")  # type: ignore[misc]
    assert len(res.join(df, on="id")) == 100
    with pytest.raises(TypeError):
        job.results(tmp_path / "r2", None, False)  # type: ignore[misc]


@pytest.mark.asyncio
async def test_submit_all_preflight_and_job_async(emu: Emulator, tmp_path: Path) -> None:
    client = emu.client()
    recs = records(300, "all-async")
    recs.write(tmp_path / "b", quotas=bb.Quotas(max_records_per_job=150))
    jobs = await client.submit_all_async(
        tmp_path / "b",
        model=MODEL,
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/all-async/",
        output_uri=f"s3://{BUCKET}/out/",
        name="all-async",
        max_concurrent_jobs=1,
        poll_interval=0.05,
        records=recs,
    )
    # With a cap of one, the second job was created only after the first had finished.
    first = await client.job_async(jobs[0].arn)
    second = await client.job_async(jobs[1].job_id)
    assert [first.name, second.name] == ["all-async-0001", "all-async-0002"]
    assert first.status in bb.aws.FINAL_STATES
    assert first.info["end_time"] <= second.info["submit_time"]
    checks = await client.preflight_async(
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/",
        output_uri="s3://no-such-bucket-xyz/out/",
        model=MODEL,
    )
    by = {c.name: c.status for c in checks}
    assert by["input prefix write"] == "pass" and by["output prefix write"] == "fail"
    assert checks == client.preflight(
        role_arn=emu.role_arn(),
        input_uri=f"s3://{BUCKET}/in/",
        output_uri="s3://no-such-bucket-xyz/out/",
        model=MODEL,
    )


def test_the_cap_counts_every_id_form_of_one_model(
    emu: Emulator, client: bb.Client, tmp_path: Path
) -> None:
    """Jobs created with the inference profile, its ARN and the foundation model's ARN are one
    model for the quota; another model's jobs are not counted."""
    recs = records(100, "forms")
    shards = write(recs, tmp_path)
    base = "anthropic.claude-haiku-4-5-20251001-v1:0"
    forms = [
        f"us.{base}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{base}",
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{base}",
    ]
    slow = bb.emulator.start(time_scale=30)
    try:
        slow.create_bucket(BUCKET)
        c = slow.client()
        for i, m in enumerate([*forms, "us.amazon.nova-lite-v1:0"]):
            # Slow jobs stay Submitted for the whole test (the input is not read before).
            c.submit(
                shards,
                model=m,
                role_arn=slow.role_arn(),
                input_uri=f"s3://{BUCKET}/in/forms{i}/",
                output_uri=f"s3://{BUCKET}/out/",
                name=f"forms-{i}",
                invocation="invoke",
            )
        assert len(c.active_jobs(MODEL)) == 3
        assert len(c.active_jobs(forms[1])) == 3
        assert len(c.active_jobs("amazon.nova-lite-v1:0")) == 1
    finally:
        slow.stop()
