"""The command line: the README's main command (`bedrock-batch demo`) and `clean`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock_batch.cli import main


def test_demo_runs_the_whole_pipeline_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--time-scale", "0.02", "--head", "3"]) == 0
    out = capsys.readouterr().out
    assert "packed 120 records" in out and "wrote and validated 1 file(s)" in out
    assert "job Completed: {'total': 120, 'processed': 120" in out
    assert "'records': 120" in out and "'missing': 0" in out
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
