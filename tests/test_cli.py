"""The command line: the README's main command (`bedrock-batch demo`), `clean`, and the run's
commands on a TOML file against the local emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock_batch.cli import main


def test_demo_is_a_small_run_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--time-scale", "0.02", "--head", "3"]) == 0
    out = capsys.readouterr().out
    assert "Plan 'demo-summaries': 320 records" in out and "in 3 job(s) (the first a pilot)" in out
    assert "validation: ok" in out
    assert "320 of 320 records processed; jobs: 3 Completed" in out
    assert "320 records: " in out and " 0 missing" in out
    assert "on demand $" in out and "batch     $" in out


def test_clean_on_the_sample_and_on_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clean", "--head", "2"]) == 0
    assert "cleaned 40 documents from the bundled sample" in capsys.readouterr().out
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "content": "<p>x &amp; y</p>"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["clean", str(src), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == '{"id": "a", "title": null, "text": "x & y"}\n'
    src.write_text('{"id": "a", "content": "x"}\nnot json\n', encoding="utf-8")
    assert main(["clean", str(src)]) == 2
    assert f"{src}:2: not JSON" in capsys.readouterr().err


# --- the run's commands ----------------------------------------------------------------------


def run_toml(tmp_path: Path, endpoint: str, **over: str) -> Path:
    body = {
        "name": '"cli-run"',
        "s3": '"s3://bb-cli/runs/"',
        "model": '"us.anthropic.claude-haiku-4-5-20251001-v1:0"',
        "role_arn": '"arn:aws:iam::123456789012:role/BedrockBatchRole"',
        "region": '"us-east-1"',
        "endpoint_url": f'"{endpoint}"',
        "schema": '["title_en", "summary_ja"]',
        "poll_interval": "0.05",
        "cache_dir": '"cache"',
    }
    body.update(over)
    lines = [f"{k} = {v}" for k, v in body.items()]
    lines += [
        "[source]",
        'path = "posts.jsonl"',
        "[prompt]",
        'system = "JSON: {{\\"title_en\\": ..., \\"summary_ja\\": ...}}"',
        'user = "タイトル: {title}\\n\\n{content}"',
        "max_tokens = 200",
        'prefill = "{"',
        "[quotas]",
        "max_records_per_job = 150",
        "max_concurrent_jobs = 2",
    ]
    path = tmp_path / "run.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_init_plan_run_status_results_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import pyarrow.parquet as pq

    import bedrock_batch as bb

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert main(["init", str(tmp_path / "example.toml")]) == 0
    from bedrock_batch.run._config import load

    example = load(tmp_path / "example.toml")
    assert example["pilot"] == 1000 and "{content}" in example["prompt"]["user"]
    assert main(["init", str(tmp_path / "example.toml")]) == 2  # no overwrite without --force
    assert "exists" in capsys.readouterr().err
    with bb.emulator.start(time_scale=0.01, invalid_input_rate=0.05) as emu:
        emu.create_bucket("bb-cli")
        with open(tmp_path / "posts.jsonl", "w", encoding="utf-8") as f:
            for i in range(400):
                f.write(
                    json.dumps({"id": f"p{i:04d}", "title": f"T{i}", "content": f"<p>本文 {i}</p>"})
                    + "\n"
                )
        toml = run_toml(tmp_path, emu.endpoint_url)
        assert main(["plan", str(toml)]) == 0
        out = capsys.readouterr().out
        assert "Plan 'cli-run': 400 records" in out and "in 3 job(s)" in out
        assert emu.boto3_client("s3").list_objects_v2(Bucket="bb-cli").get("KeyCount", 0) == 0
        # 5% of records fail in the emulator: done, but exit code 1.
        assert main(["run", str(toml), "--no-progress"]) == 1
        out = capsys.readouterr().out
        assert "3 Completed" in out and "failed" in out
        assert main(["status", str(toml)]) == 0
        assert "cli-run-" in capsys.readouterr().out
        for suffix in ("parquet", "csv", "jsonl"):
            dest = tmp_path / f"results.{suffix}"
            assert main(["results", str(toml), "-o", str(dest)]) == 1
            assert "wrote 400 rows" in capsys.readouterr().out
        table = pq.read_table(tmp_path / "results.parquet")
        assert sorted(table.column("recordId").to_pylist()) == [f"p{i:04d}" for i in range(400)]
        assert "job" in table.column_names and "title_en" in table.column_names
        lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 400 and json.loads(lines[0])["status"] in ("succeeded", "failed")
        assert (tmp_path / "results.csv").read_text(encoding="utf-8").count("\n") == 401
        assert main(["stop", str(toml)]) == 0
        assert main(["results", str(toml), "-o", str(tmp_path / "x.txt")]) == 2
        assert "use a .parquet, .csv or .jsonl file" in capsys.readouterr().err


def test_run_file_errors_name_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = run_toml(tmp_path, "http://127.0.0.1:9", modle='"x"')
    assert main(["plan", str(toml)]) == 2
    assert f"{toml}: unknown key 'modle' (did you mean 'model'?)" in capsys.readouterr().err
    toml = run_toml(tmp_path, "http://127.0.0.1:9", pilot='"many"')
    assert main(["plan", str(toml)]) == 2
    assert "pilot must be int, got str" in capsys.readouterr().err
    toml.write_text("name = [\n", encoding="utf-8")
    assert main(["plan", str(toml)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    toml = run_toml(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "posts.jsonl").write_text(
        '{"id": "a", "title": "t", "content": "c"}\n{oops\n', encoding="utf-8"
    )
    assert main(["plan", str(toml)]) == 2
    assert f"{tmp_path / 'posts.jsonl'}:2: not JSON" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "missing.toml")]) == 2
    assert "no such file (bedrock-batch init writes an example)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["run"])
    assert e.value.code == 2
