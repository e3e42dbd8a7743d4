"""Recovery: a fault matrix of runs against the emulator in a process of its own. Each run ends
with every input row exactly once in the results and no two billed jobs for one shard and
attempt; what cannot be answered says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import BudgetExceededError

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BUCKET = "bb-recovery"
SCHEMA = ["title_en", "summary_ja"]
PROMPT = bb.Prompt(
    system='JSON: {{"title_en": ..., "summary_ja": ...}}',
    user="タイトル: {title}\n\n記事:\n{content}",
    max_tokens=300,
    prefill="{",
)


def rows(articles: list[dict[str, Any]], n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{tag}{i:05d}",
            "title": articles[i % len(articles)].get("title") or "t",
            "content": articles[i % len(articles)]["content"][:600],
        }
        for i in range(n)
    ]


@pytest.fixture
def spawned(request: pytest.FixtureRequest) -> Iterator[Any]:
    knobs = getattr(request, "param", {})
    with bb.emulator.spawn(**knobs) as emu:
        emu.create_bucket(BUCKET)
        yield emu


def make(emu: Any, name: str, source: Any, tmp_path: Path, **options: Any) -> bb.Run:
    options.setdefault("quotas", bb.Quotas(max_records_per_job=500, max_concurrent_jobs=3))
    return bb.Run(
        name,
        source=source,
        prompt=PROMPT,
        model=MODEL,
        s3=f"s3://{BUCKET}/runs/",
        role_arn=emu.role_arn(),
        schema=SCHEMA,
        client=emu.client(),
        poll_interval=0.05,
        cache_dir=tmp_path / "cache",
        **options,
    )


def jobs_of(emu: Any, name: str) -> list[dict[str, Any]]:
    bedrock = emu.boto3_client("bedrock")
    found: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"nameContains": name + "-", "maxResults": 100}
    while True:
        page = bedrock.list_model_invocation_jobs(**kw)
        found += page["invocationJobSummaries"]
        if not page.get("nextToken"):
            return found
        kw["nextToken"] = page["nextToken"]


def check_once(run: bb.Run, source: list[dict[str, Any]], emu: Any) -> Any:
    """Every input row exactly once, and one job per shard and attempt."""
    df = run.results().to_pandas()
    assert sorted(df["recordId"]) == sorted(r["id"] for r in source)
    names = [j["jobName"] for j in jobs_of(emu, run.name)]
    assert len(names) == len(set(names)), sorted(names)
    return df


@pytest.mark.parametrize(
    "spawned", [{"time_scale": 0.01, "error_rate": 0.05, "invalid_json_rate": 0.03}], indirect=True
)
def test_retries_then_the_remainder_on_demand(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 2400, "f")
    run = make(spawned, "faults", source, tmp_path, retries=2)
    run.start()
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}, df["status"].value_counts()
    assert df["attempts"].max() >= 2  # some records needed another try
    names = [j["jobName"] for j in jobs_of(spawned, "faults")]
    assert any("-r1-" in n for n in names)  # a round of retry jobs
    stats = spawned.stats()
    # The last retry's remainder, below 100 records, went on demand, each record once.
    assert 0 < stats["runtime_records"] < 100
    assert max(stats["on_demand_by_record"].values()) <= 3  # asked again only for bad JSON
    on_demand = set(df.loc[df["job"] == "on-demand", "recordId"])
    assert on_demand and on_demand <= set(stats["on_demand_by_record"])
    history = run.status(records=True).to_pandas()
    retried = df.loc[df["attempts"] >= 2, "recordId"].iloc[0]
    assert len(history[history["recordId"] == retried]) >= 2
    report = run.cost_report()
    assert report.on_demand_part is not None and report.on_demand_part > 0
    assert report.batch_part is not None and report.batch_part > report.on_demand_part


@pytest.mark.parametrize(
    "spawned",
    [
        {
            "time_scale": 0.02,
            "outcomes": {
                "-s0001-a0": "PartiallyCompleted",
                "-s0002-a0": "Expired",
                "-s0003-a0": "Stalled",
            },
        }
    ],
    indirect=True,
)
def test_partial_expired_stopped_and_stalled_jobs(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 2000, "j")
    run = make(
        spawned,
        "jobfaults",
        source,
        tmp_path,
        stall_timeout=1.5,
        quotas=bb.Quotas(max_records_per_job=500, max_concurrent_jobs=4),
    )
    run.start()  # the four jobs at once (the cap is four)
    # One job stopped by hand while it runs.
    bedrock = spawned.boto3_client("bedrock")
    deadline = time.monotonic() + 60
    while True:
        s4 = [j for j in jobs_of(spawned, "jobfaults") if "-s0004-a0" in j["jobName"]]
        if s4 and s4[0]["status"] in ("Scheduled", "InProgress"):
            bedrock.stop_model_invocation_job(jobIdentifier=s4[0]["jobArn"])
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}, df["status"].value_counts()
    by = {j["jobName"].split("-", 2)[2]: j["status"] for j in jobs_of(spawned, "jobfaults")}
    assert by["s0001-a0"] == "PartiallyCompleted"
    assert by["s0002-a0"] == "Expired" and by["s0002-a1"] == "Completed"  # resubmitted once
    assert by["s0003-a0"] == "Stopped"  # stalled, stopped, its remainder sent again
    assert by["s0004-a0"] == "Stopped"
    assert any(k.startswith("r1-") for k in by)


@pytest.mark.parametrize(
    "spawned",
    [
        {
            "time_scale": 0.01,
            "output_faults": {
                "-s0001-a0": "truncated",
                "-s0002-a0": "duplicates",
                "-s0003-a0": "no_manifest",
            },
        }
    ],
    indirect=True,
)
def test_broken_output_files(spawned: Any, articles: list[dict[str, Any]], tmp_path: Path) -> None:
    """A .jsonl.out whose last line is cut, duplicate output lines and a missing manifest:
    the cut record goes again, the duplicates count once, the job without a manifest is read
    from its lines."""
    source = rows(articles, 1500, "o")
    run = make(spawned, "outfaults", source, tmp_path)
    run.start()
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}, df["status"].value_counts()
    # The record whose line was cut went again (alone: on demand, below the batch minimum).
    assert (df["job"] == "on-demand").sum() == 1
    assert df.loc[df["job"] == "on-demand", "attempts"].iloc[0] == 2
    status = {r["shard"]: r for r in run.status().rows}
    assert status["s0003"]["input_tokens"] > 0  # tokens from the lines when no manifest


@pytest.mark.parametrize(
    "spawned", [{"time_scale": 0.01, "throttle_rate": 0.3, "max_concurrent_jobs": 1}], indirect=True
)
def test_throttling_and_the_quota_are_waited_out(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1200, "t")
    # The run thinks it may have three jobs at once; the service allows one.
    run = make(spawned, "throttled", source, tmp_path)
    run.start()
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}
    assert len(jobs_of(spawned, "throttled")) == 3


@pytest.mark.parametrize("spawned", [{"time_scale": 0.01}], indirect=True)
def test_budget_refuses_before_upload_and_pauses_mid_run(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1500, "b")
    one_at_a_time = bb.Quotas(max_records_per_job=500, max_concurrent_jobs=1)
    run = make(spawned, "budget", source, tmp_path, max_cost=0.01, quotas=one_at_a_time)
    with pytest.raises(BudgetExceededError, match=r"estimated at \$[\d.]+ .*above max_cost=\$0.01"):
        run.start()
    s3 = spawned.boto3_client("s3")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/budget/").get("KeyCount", 0) == 0
    assert jobs_of(spawned, "budget") == []
    # A cap a little above one job's estimate: the first job goes, the run pauses before the
    # second (what the first spent, plus the second's estimate, is over it).
    mid = make(spawned, "budget", source, tmp_path, quotas=one_at_a_time)
    plan = mid.plan()
    per_job = plan.estimated_cost(False) / 3
    mid.start()
    mid.options.max_cost = per_job * 1.01
    with pytest.raises(BudgetExceededError, match="paused before submitting shard s0002"):
        mid.wait(progress=False, timeout=120)
    assert len(jobs_of(spawned, "budget")) == 1
    assert "paused before" in str(mid.status().totals["paused"])
    mid.options.max_cost = per_job * 10  # raised: the run goes on
    mid.wait(progress=False, timeout=120)
    df = check_once(mid, source, spawned)
    assert set(df["status"]) == {"succeeded"}
    assert len(jobs_of(spawned, "budget")) == 3


@pytest.mark.parametrize("spawned", [{"time_scale": 0.5}], indirect=True)
def test_a_deadline_stops_jobs_and_sends_the_rest_on_demand(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1500, "d")
    run = make(
        spawned,
        "deadline",
        source,
        tmp_path,
        deadline=3.5,
        on_demand_rate=60_000,
        on_demand_concurrency=8,
    )
    run.start()
    run.wait(progress=False, timeout=120)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}
    stopped = [j for j in jobs_of(spawned, "deadline") if j["status"] == "Stopped"]
    assert stopped, "the deadline stopped the running jobs"
    assert (df["job"] == "on-demand").sum() > 0
    assert run.status().totals["deadline_hit"]


@pytest.mark.parametrize("spawned", [{"time_scale": 0.01}], indirect=True)
def test_the_calibrated_estimate_is_within_three_percent(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1000, "c")
    run = make(spawned, "calib", source, tmp_path, calibrate=True)
    plan = run.plan()
    cal = plan.estimate["calibration"]
    assert cal["sample"] >= 150 and "calibrated with CountTokens" in repr(plan)
    run.start()
    run.wait(progress=False, timeout=120)
    billed = sum(r["input_tokens"] for r in run.status().rows if r["input_tokens"])
    assert abs(cal["input_tokens"] - billed) / billed < 0.03, (cal, billed)


KILL_ON_DEMAND = """
import sys
import bedrock_batch as bb
client = bb.Client(region="us-east-1", endpoint_url=sys.argv[1], _credentials=("testing", "testing"))
run = bb.Run.open(sys.argv[2], client=client, cache_dir=sys.argv[3], poll_interval=0.05)
run.options.on_demand_concurrency = 1
print("driving", flush=True)
run.wait(progress=False, timeout=300)
print("done", flush=True)
"""


@pytest.mark.parametrize(
    "spawned", [{"time_scale": 0.01, "invalid_input_rate": 0.0, "error_rate": 0.02}], indirect=True
)
def test_killed_in_the_on_demand_phase_sends_nothing_twice(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 2000, "k")
    run = make(spawned, "odkill", source, tmp_path, retries=0)
    run.start()
    env = {**os.environ}
    for k in range(4):
        p = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILL_ON_DEMAND,
                spawned.endpoint_url,
                f"s3://{BUCKET}/runs/odkill/",
                str(tmp_path / "c2"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        # Wait until on-demand answers are being written, then kill.
        deadline = time.monotonic() + 120
        while spawned.stats()["runtime_records"] <= 5 + 10 * k and p.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGKILL)
        p.wait()
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    assert set(df["status"]) == {"succeeded"}
    stats = spawned.stats()
    assert stats["runtime_records"] >= (df["job"] == "on-demand").sum() > 0
    # Records whose answer was written were never sent again; one in flight at a kill may be.
    twice = [r for r, n in stats["on_demand_by_record"].items() if n > 1]
    assert len(twice) <= 4, twice


@pytest.mark.parametrize(
    "spawned", [{"time_scale": 0.01, "truncate_rate": 0.1, "truncate_tokens": 500}], indirect=True
)
def test_answers_cut_at_max_tokens_go_again_only_with_more_room(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1200, "m")
    # Without retry_max_tokens: reported, not sent again blindly.
    plain = make(spawned, "cutplain", source, tmp_path / "a")
    plain.start()
    plain.wait(progress=False, timeout=300)
    df = check_once(plain, source, spawned)
    cut = df[df["status"] == "invalid_output"]
    assert len(cut) > 50 and set(cut["stop_reason"]) == {"max_tokens"}
    assert cut["error_message"].str.contains("set retry_max_tokens=").all()
    assert set(cut["attempts"]) == {1}
    assert not [j for j in jobs_of(spawned, "cutplain") if "-r1-" in j["jobName"]]
    # With it: the cut records go again with the larger limit and come back whole.
    roomy = make(spawned, "cutroomy", source, tmp_path / "b", retry_max_tokens=800)
    roomy.start()
    roomy.wait(progress=False, timeout=300)
    df = check_once(roomy, source, spawned)
    assert set(df["status"]) == {"succeeded"}, df["status"].value_counts()
    assert (df["attempts"] == 2).sum() == len(cut)
    retry_input = (
        spawned.boto3_client("s3")
        .get_object(Bucket=BUCKET, Key="runs/cutroomy/inputs/r1-0001/part-00001.jsonl")["Body"]
        .read()
    )
    assert b'"max_tokens": 800' in retry_input or b'"max_tokens":800' in retry_input


@pytest.mark.parametrize(
    "spawned",
    [{"time_scale": 0.01, "outcomes": {"-s0002-a0": "FailedService", "-s0003-a0": "Failed"}}],
    indirect=True,
)
def test_a_service_failure_is_resubmitted_a_validation_failure_is_not(
    spawned: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1500, "v")
    run = make(spawned, "failures", source, tmp_path)
    run.start()
    run.wait(progress=False, timeout=300)
    df = check_once(run, source, spawned)
    by = {j["jobName"].split("-", 2)[2]: j for j in jobs_of(spawned, "failures")}
    assert by["s0002-a0"]["status"] == "Failed" and by["s0002-a1"]["status"] == "Completed"
    assert by["s0003-a0"]["status"] == "Failed" and "s0003-a1" not in by
    shard3 = set(run.plan().shards[2].ids)
    lost = df[df["recordId"].isin(shard3)]
    assert set(lost["status"]) == {"missing"}
    assert lost["error_message"].str.contains("its job failed validation").all()
    rest = df[~df["recordId"].isin(shard3)]
    assert set(rest["status"]) == {"succeeded"}
    st = {r["shard"]: r for r in run.status().rows if r["attempt"] == 0}
    assert "Validation failed" in str(st["s0003"]["message"])
