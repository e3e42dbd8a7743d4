"""The portable paths: with ``BEDROCK_BATCH_SIMD=off`` every stage gives byte for byte the
output of the vector paths, on the whole corpus (the code an ARM or older x86 CPU runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bedrock_batch import _core

SCRIPT = Path(__file__).with_name("portable_outputs.py")


def outputs(corpus: Path, work: Path, simd: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("BEDROCK_BATCH_SIMD", None)
    if simd is not None:
        env["BEDROCK_BATCH_SIMD"] = simd
    work.mkdir()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(corpus), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_every_stage_is_identical_without_the_vector_paths(corpus: Path, tmp_path: Path) -> None:
    on = outputs(corpus, tmp_path / "on", None)
    off = outputs(corpus, tmp_path / "off", "off")
    assert off["simd"] == []
    if os.environ.get("BEDROCK_BATCH_SIMD", "").lower() != "off":
        assert on["simd"] == _core.simd_paths()
    keys = sorted(set(on) - {"simd"})
    assert keys == sorted(set(off) - {"simd"})
    assert len(keys) >= 10
    differ = [k for k in keys if on[k] != off[k]]
    assert differ == [], f"outputs differ without the vector paths: {differ}"
    # The digests describe real work: records were packed, answered and read back.
    assert on["collect.summary"]["succeeded"] > 600 and on["collect.summary"]["failed"] > 30
    assert on["pack"] != on["pack+clean"]
