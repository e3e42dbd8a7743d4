"""The run: a corpus through many jobs within the cap, against the local emulator over HTTP.

The quick tests drive an emulator in this process; the crash tests (kill -9 of the driving
process at random moments) are in test_run_crash.py, with the emulator in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch as bb
from bedrock_batch.emulator import Emulator
from bedrock_batch.exceptions import (
    InputError,
    LeaseHeldError,
    NotFoundError,
    PilotFailedError,
    RunMismatchError,
)

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BUCKET = "bb-run"
SCHEMA = ["title_en", "summary_ja", "summary_en"]
SYSTEM = 'JSON形式で出力してください: {{"title_en": ..., "summary_ja": ..., "summary_en": ...}}'
PROMPT = bb.Prompt(
    system=SYSTEM, user="タイトル: {title}\n\n記事:\n{content}", max_tokens=300, prefill="{"
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with bb.emulator.start(time_scale=0.01) as e:
        e.create_bucket(BUCKET)
        yield e


def rows(articles: list[dict[str, Any]], n: int, tag: str = "") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{tag}{i:06d}",
            "title": articles[i % len(articles)].get("title") or "",
            "content": articles[i % len(articles)]["content"][:800],
        }
        for i in range(n)
    ]


def make(emu: Emulator, name: str, source: Any, tmp_path: Path, **options: Any) -> bb.Run:
    options.setdefault("quotas", bb.Quotas(max_records_per_job=200, max_concurrent_jobs=3))
    return bb.Run(
        name,
        source=source,
        prompt=PROMPT,
        model=MODEL,
        s3=f"s3://{BUCKET}/runs/",
        role_arn=emu.role_arn(),
        schema=SCHEMA,
        clean={"content": {"max_chars": 2000}},
        client=emu.client(),
        poll_interval=0.05,
        cache_dir=tmp_path / "cache",
        **options,
    )


def keys(emu: Emulator, prefix: str) -> list[str]:
    s3 = emu.boto3_client("s3")
    out = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in out)


def jobs_of(emu: Emulator, name: str) -> list[dict[str, Any]]:
    bedrock = emu.boto3_client("bedrock")
    found: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"nameContains": name, "maxResults": 100}
    while True:
        page = bedrock.list_model_invocation_jobs(**kw)
        found += page["invocationJobSummaries"]
        if not page.get("nextToken"):
            return found
        kw["nextToken"] = page["nextToken"]


def test_plan_uploads_nothing_and_reads_well(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    run = make(emu, "plan-only", rows(articles, 1000), tmp_path, pilot=150)
    plan = run.plan()
    assert [s.shard for s in plan.shards] == ["pilot", "s0001", "s0002", "s0003", "s0004", "s0005"]
    assert plan.records == 1000 and plan.shards[0].records == 150
    assert sum(s.records for s in plan.shards[1:]) == 850
    assert all(s.records <= 200 for s in plan.shards)
    assert plan.ids == [f"{i:06d}" for i in range(1000)]
    assert plan.validation is not None and plan.validation.ok
    assert len(plan.token_counts) == 1000 and min(plan.token_counts) > 0
    assert plan.estimate["batch_cost"] < plan.estimate["on_demand_cost"]
    df = plan.to_pandas()
    assert list(df["records"]) == [s.records for s in plan.shards]
    assert "Plan 'plan-only': 1,000 records" in repr(plan) and "pilot" in repr(plan)
    assert "<table>" in plan._repr_html_()
    # Nothing in S3, no job created: constructing and planning write nothing.
    assert keys(emu, "runs/plan-only/") == []
    assert jobs_of(emu, "plan-only") == []


def test_a_run_end_to_end_with_a_pilot(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 1000)
    run = make(emu, "e2e", source, tmp_path, pilot=150)
    run.start()
    # start() returns at once with the pilot submitted, nothing else (the rest waits for it).
    listed = jobs_of(emu, "e2e-")
    assert [j["jobName"].rsplit("-", 2)[-2] for j in listed] == ["pilot"]
    assert "runs/e2e/run.json" in keys(emu, "runs/e2e/")
    run.wait(progress=False, timeout=120)
    listed = jobs_of(emu, "e2e-")
    assert len(listed) == 6 and all(j["status"] == "Completed" for j in listed)
    # The cap of three was held: at no instant were more than three jobs active.
    assert max_active(listed) <= 3
    res = run.results()
    df = res.to_pandas()
    assert sorted(df["recordId"]) == [r["id"] for r in source]
    assert set(df["status"]) == {"succeeded"}
    assert list(df.columns[:4]) == ["recordId", "status", "attempts", "job"]
    assert set(df["attempts"]) == {1}
    assert df["job"].str.contains("-s0003-a0").sum() == 170
    assert df["title_en"].notna().all()
    status = run.status()
    assert [r["state"] for r in status.rows] == ["Completed"] * 6
    assert sum(r["succeeded"] for r in status.rows) == 1000
    assert status.to_pandas()["records"].sum() == 1000
    report = run.cost_report()
    assert report.records == 1000 and report.input_tokens > 0 and report.batch_cost is not None
    joined = res.join(__import__("pandas").DataFrame(source), on="id")
    assert len(joined) == 1000 and joined["title_en"].notna().all()
    # Waiting on a finished run submits nothing more.
    run.wait(progress=False, timeout=30)
    assert len(jobs_of(emu, "e2e-")) == 6


def max_active(listed: list[dict[str, Any]]) -> int:
    events = []
    for j in listed:
        events.append((j["submitTime"], 1))
        events.append((j.get("endTime") or j["lastModifiedTime"], -1))
    active = peak = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        active += d
        peak = max(peak, active)
    return peak


def test_reopening_with_another_plan_is_refused_and_the_same_plan_resumes(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 400, "m")
    run = make(emu, "mismatch", source, tmp_path)
    run.start()
    with pytest.raises(RunMismatchError, match="the record ids"):
        make(emu, "mismatch", source[:-1], tmp_path)
    with pytest.raises(RunMismatchError, match="the prompt"):
        bb.Run(
            "mismatch",
            source=source,
            prompt=bb.Prompt(user="Article: {content}"),
            model=MODEL,
            s3=f"s3://{BUCKET}/runs/",
            role_arn=emu.role_arn(),
            schema=SCHEMA,
            clean={"content": {"max_chars": 2000}},
            client=emu.client(),
            quotas=bb.Quotas(max_records_per_job=200, max_concurrent_jobs=3),
        )
    with pytest.raises(RunMismatchError, match="the quotas"):
        make(emu, "mismatch", source, tmp_path, quotas=bb.Quotas(max_records_per_job=300))
    again = make(emu, "mismatch", source, tmp_path)
    again.start()  # resumes: no second job for a shard
    again.wait(progress=False, timeout=60)
    assert len(jobs_of(emu, "mismatch-")) == 2
    assert len(again.results()) == 400


def test_open_from_a_fresh_process_shows_the_same_status_and_results(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    run = make(emu, "reopen", rows(articles, 300, "o"), tmp_path)
    run.start()
    run.wait(progress=False, timeout=60)
    here = run.results().to_pandas().sort_values("recordId")
    script = """
import json, sys
import bedrock_batch as bb
client = bb.Client(region="us-east-1", endpoint_url=sys.argv[1], _credentials=("testing", "testing"))
run = bb.Run.open(sys.argv[2], client=client, cache_dir=sys.argv[3])
st = run.status()
df = run.results().to_pandas().sort_values("recordId")
print(json.dumps({"states": [r["state"] for r in st.rows], "jobs": [r["job_name"] for r in st.rows],
                  "rows": df[["recordId", "status", "job", "title_en"]].values.tolist()}))
"""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            emu.endpoint_url,
            f"s3://{BUCKET}/runs/reopen/",
            str(tmp_path / "other-cache"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    there = json.loads(out.stdout)
    st = run.status()
    assert there["states"] == [r["state"] for r in st.rows]
    assert there["jobs"] == [r["job_name"] for r in st.rows]
    assert there["rows"] == here[["recordId", "status", "job", "title_en"]].values.tolist()


def test_a_second_driver_is_refused_while_the_first_holds_the_lease(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 200, "l")
    run = make(emu, "lease", source, tmp_path)
    store = run._store
    # Another host's driver holds a fresh lease.
    import time

    from bedrock_batch.run._store import lease_doc

    doc = lease_doc(host="elsewhere", pid=4242, now=time.time())
    bb.run.run_sync(store.put("lease.json", doc))
    with pytest.raises(LeaseHeldError, match="being driven by elsewhere pid 4242 since"):
        run.start()
    # Expired: taken over without a manual step.
    bb.run.run_sync(
        store.put("lease.json", lease_doc(host="elsewhere", pid=4242, now=time.time() - 120))
    )
    run.start()
    # On this host, a holder whose process is gone is taken over at once.
    bb.run.run_sync(store.put("lease.json", lease_doc(pid=dead_pid(), now=time.time())))
    run.wait(progress=False, timeout=60)
    assert keys(emu, "runs/lease/lease.json") == []  # released at the end


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_bad_names_sources_and_a_missing_run(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="run name 'bad name'"):
        make(emu, "bad name", rows(articles, 200), tmp_path)
    with pytest.raises(InputError, match="at least 100"):
        make(emu, "tiny", rows(articles, 50), tmp_path).plan()
    with pytest.raises(NotFoundError, match="no run named 'ghost'"):
        bb.Run("ghost", s3=f"s3://{BUCKET}/runs/", client=emu.client())
    with pytest.raises(NotFoundError):
        bb.Run.open(f"s3://{BUCKET}/runs/ghost/", client=emu.client())
    with pytest.raises(InputError, match="not an S3 URI"):
        bb.Run.open("https://example.invalid/x", client=emu.client())


def test_a_pilot_below_its_success_rate_holds_the_rest(
    tmp_path: Path, articles: list[dict[str, Any]]
) -> None:
    with bb.emulator.start(time_scale=0.01, invalid_input_rate=0.3) as e:
        e.create_bucket(BUCKET)
        run = make(e, "weak-pilot", rows(articles, 500, "w"), tmp_path, pilot=100)
        run.start()
        with pytest.raises(PilotFailedError, match=r"succeeded on \d+ of 100 records"):
            run.wait(progress=False, timeout=60)
        assert [j["jobName"].rsplit("-", 2)[-2] for j in jobs_of(e, "weak-pilot-")] == ["pilot"]
        run.approve_pilot()
        run.wait(progress=False, timeout=60)
        assert len(jobs_of(e, "weak-pilot-")) == 3
        df = run.results().to_pandas()
        assert len(df) == 500 and (df["status"] == "failed").sum() > 50


def test_stop_keeps_what_finished_and_start_goes_on(
    articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    with bb.emulator.start(time_scale=0.5) as e:
        e.create_bucket(BUCKET)
        run = make(
            e,
            "stopper",
            rows(articles, 600, "s"),
            tmp_path,
            quotas=bb.Quotas(max_records_per_job=200, max_concurrent_jobs=1),
        )
        run.start()
        run.stop()
        run.wait(progress=False, timeout=60)  # ends once the stopped job is final
        listed = jobs_of(e, "stopper-")
        assert len(listed) == 1 and listed[0]["status"] == "Stopped"
        df = run.results().to_pandas()
        assert len(df) == 600 and (df["status"] == "missing").sum() >= 400
        e.time_scale = 0.01
        run.start()
        run.wait(progress=False, timeout=60)
        # The stopped job's unfinished records went again in a retry round's job.
        names = sorted(j["jobName"].split("-", 2)[2] for j in jobs_of(e, "stopper-"))
        assert names == ["r1-0001-a0", "s0001-a0", "s0002-a0", "s0003-a0"], names
        final = run.results().to_pandas()
        assert len(final) == 600 and set(final["status"]) == {"succeeded"}


def test_a_pilot_bigger_than_a_job_is_several_pilot_jobs(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 700, "p")
    run = make(emu, "bigpilot", source, tmp_path, pilot=300)
    plan = run.plan()
    assert [s.shard for s in plan.shards][:2] == ["pilot", "pilot-2"]
    assert plan.shards[0].records + plan.shards[1].records == 300
    run.start()
    started = {j["jobName"].rsplit("-", 2)[-2] for j in jobs_of(emu, "bigpilot-")}
    assert started == {"pilot", "2"} or started == {"pilot", "pilot-2"} or len(started) == 2
    run.wait(progress=False, timeout=120)
    df = run.results().to_pandas()
    assert len(df) == 700 and set(df["status"]) == {"succeeded"}


def test_progress_without_tqdm_and_sync_calls_in_a_running_loop(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    run = make(emu, "notqdm", rows(articles, 200, "q"), tmp_path)

    async def in_a_notebook() -> None:
        asyncio.get_running_loop()
        run.start()
        run.wait(timeout=60)  # progress=True by default: no bar without tqdm, no error

    asyncio.run(in_a_notebook())
    assert len(run.results()) == 200


def test_interrupting_a_sync_call_in_a_running_loop_cleans_up() -> None:
    import _thread
    import asyncio
    import threading

    from bedrock_batch.run import run_sync

    cleaned = threading.Event()

    async def long() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.set()

    async def in_a_notebook() -> None:
        threading.Timer(0.3, _thread.interrupt_main).start()
        with pytest.raises(KeyboardInterrupt):
            run_sync(long())

    # A loop as Jupyter's kernel runs it: Ctrl-C raises KeyboardInterrupt in the cell (asyncio.run
    # would turn it into a cancellation of its own task instead).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(in_a_notebook())
    finally:
        loop.close()
    assert cleaned.is_set(), "the interrupted coroutine's cleanup ran before the interrupt"


def test_source_files_with_bad_bytes_name_the_line(tmp_path: Path) -> None:
    from bedrock_batch.run._config import read_source

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a"}\n{"id": "\xff"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not UTF-8"):
        read_source(bad)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b'\xef\xbb\xbf{"id": "a"}\n')
    assert read_source(bom) == [{"id": "a"}]
    csv_bad = tmp_path / "bad.csv"
    csv_bad.write_bytes(b'id,content\na,"x\n')
    with pytest.raises(InputError, match=r"bad.csv:\d+: not valid CSV"):
        read_source(csv_bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,content\na,caf\xe9\n")
    with pytest.raises(InputError, match=r"latin\.csv: not UTF-8"):
        read_source(latin)


def test_a_parquet_file_streams_into_the_same_plan_as_its_table(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = rows(articles, 900, tag="pq")
    path = tmp_path / "posts.parquet"
    pq.write_table(pa.Table.from_pylist(source), path, row_group_size=128)
    kw: dict[str, Any] = {"pilot": 120, "id_column": "id"}
    from_table = make(emu, "pq-table", source, tmp_path, **kw).plan()
    run = make(emu, "pq-file", str(path), tmp_path, **kw)
    plan = run.plan()
    # Packed batch by batch as the file is read, and the same shards, byte for byte.
    assert [s.shard for s in plan.shards] == ["pilot", "s0001", "s0002", "s0003", "s0004"]
    assert plan.ids == [r["id"] for r in source]
    assert plan.digests() == from_table.digests()
    assert plan.token_counts == from_table.token_counts
    assert plan.estimate["input_tokens"] == from_table.estimate["input_tokens"]
    run.wait(progress=False, timeout=120)
    df = run.results().to_pandas()
    assert sorted(df["recordId"]) == sorted(r["id"] for r in source)
    assert set(df["status"]) == {"succeeded"}


def test_a_folder_of_shards_is_run_as_its_jobs(
    emu: Emulator, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    source = rows(articles, 700, tag="sh")
    q = bb.Quotas(max_records_per_job=300, max_records_per_file=120, max_concurrent_jobs=3)
    recs = bb.pack(source, prompt=PROMPT, model=MODEL, id_column="id")
    recs.write(tmp_path / "shards", quotas=q)
    run = make(emu, "from-shards", str(tmp_path / "shards"), tmp_path, quotas=q)
    plan = run.plan()
    assert [s.shard for s in plan.shards] == ["s0001", "s0002", "s0003"]
    assert [s.records for s in plan.shards] == [233, 233, 234]
    assert plan.ids == [r["id"] for r in source]
    # Tokens as the validator estimates them from the lines (the prompt is not known here).
    assert plan.estimate["input_tokens"] == bb.validate(tmp_path / "shards").input_tokens
    run.wait(progress=False, timeout=120)
    assert len(run.results().to_pandas()) == 700
    # A folder without job folders, and shards whose lines lack a recordId, are refused.
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no job folders"):
        make(emu, "no-jobs", str(tmp_path / "empty"), tmp_path).plan()
    with pytest.raises(InputError, match="pilot= does not apply"):
        make(emu, "no-pilot", str(tmp_path / "shards"), tmp_path, quotas=q, pilot=100).plan()
    bad = tmp_path / "bad" / "job-0001"
    bad.mkdir(parents=True)
    lines = [json.loads(x) for x in recs.to_jsonl().decode().splitlines()[:150]]
    del lines[7]["recordId"]
    (bad / "part-00001.jsonl").write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"part-00001.jsonl:8: the record has no recordId"):
        make(emu, "no-ids", str(tmp_path / "bad"), tmp_path).plan()
