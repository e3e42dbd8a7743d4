"""The emulator in a process of its own, so that it outlives the clients a test kills: in
``with bb.emulator.spawn(time_scale=0) as emu:``, run client processes with
``env={**os.environ, **emu.env()}`` and kill them at will; the jobs go on."""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from ..exceptions import BedrockBatchError
from ._base import EmulatorClients
from ._cli import READY


class EmulatorProcess(EmulatorClients):
    """A running ``bedrock-batch emulator`` child process: the helpers of :class:`Emulator`
    (``endpoint_url``, ``env()``, ``client()``, ``boto3_client()``, ``create_bucket()``,
    ``role_arn()``, ``stats()`` over HTTP), ``pid``, and :meth:`stop`. Made by :func:`spawn`."""

    def __init__(
        self,
        proc: subprocess.Popen[str],
        readers: list[threading.Thread],
        endpoint_url: str,
        region: str,
    ) -> None:
        self._proc = proc
        self._readers = readers
        self._endpoint_url = endpoint_url
        self.region = region

    @property
    def endpoint_url(self) -> str:
        return self._endpoint_url

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """None while the emulator runs, else its exit status (0 after :meth:`stop`)."""
        return self._proc.poll()

    def stop(self, *, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        return _end(self._proc, self._readers, timeout)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorProcess(pid={self.pid}, endpoint_url={self.endpoint_url!r})"


def _drain(stream: IO[str], lines: collections.deque[str], seen: threading.Event) -> None:
    """Reads a child's pipe to its end (so the child never blocks on a full pipe), keeping the
    last lines; ``seen`` is set at the listening line, and at the end."""
    try:
        for line in stream:
            lines.append(line)
            if line.startswith(READY):
                seen.set()
    finally:
        seen.set()


def _end(proc: subprocess.Popen[str], readers: list[threading.Thread], timeout: float) -> int:
    """SIGTERM, SIGKILL after ``timeout``; then the pipes are read to their end and closed."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for t in readers:
        t.join(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


def spawn(
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
    max_concurrent_jobs: int = 20,
    outcomes: Mapping[str, str] | None = None,
    output_faults: Mapping[str, str] | None = None,
    partial_fraction: float = 0.5,
    model_id_form: str = "as-given",
    seed: int = 0,
    startup_timeout: float = 30.0,
) -> EmulatorProcess:
    """Starts ``python -m bedrock_batch emulator`` with these knobs (those of
    :class:`Emulator` that a command line can carry) and returns once it listens.

    The child runs in its own session (a Ctrl-C meant for the caller's process group does not
    reach it) and exits when the caller's process ends, so a killed test leaves no emulator
    behind. Raises :class:`~bedrock_batch.exceptions.BedrockBatchError` with the child's stderr
    when it is not listening within ``startup_timeout`` seconds.
    """
    cmd = [
        sys.executable,
        "-m",
        "bedrock_batch",
        "emulator",
        "--host",
        host,
        "--port",
        str(port),
        "--region",
        region,
        "--time-scale",
        repr(float(time_scale)),
        "--error-rate",
        repr(float(error_rate)),
        "--invalid-input-rate",
        repr(float(invalid_input_rate)),
        "--invalid-json-rate",
        repr(float(invalid_json_rate)),
        "--truncate-rate",
        repr(float(truncate_rate)),
        "--truncate-tokens",
        str(truncate_tokens),
        "--throttle-rate",
        repr(float(throttle_rate)),
        "--runtime-error-rate",
        repr(float(runtime_error_rate)),
        "--runtime-throttle-rate",
        repr(float(runtime_throttle_rate)),
        "--max-concurrent-jobs",
        str(max_concurrent_jobs),
        "--partial-fraction",
        repr(float(partial_fraction)),
        "--model-id-form",
        model_id_form,
        "--seed",
        str(seed),
        "--exit-with-parent",
    ]
    for name, state in (outcomes or {}).items():
        cmd.append(f"--outcome={name}={state}")  # one word: a name may start with "-"
    for name, fault in (output_faults or {}).items():
        cmd.append(f"--output-fault={name}={fault}")
    env = dict(os.environ)
    # The child imports the same bedrock_batch as this process, installed or not.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out: collections.deque[str] = collections.deque(maxlen=100)
    err: collections.deque[str] = collections.deque(maxlen=200)
    ready = threading.Event()
    readers = [
        threading.Thread(
            target=_drain, args=(proc.stdout, out, ready), name="bb-emulator-stdout", daemon=True
        ),
        threading.Thread(
            target=_drain,
            args=(proc.stderr, err, threading.Event()),
            name="bb-emulator-stderr",
            daemon=True,
        ),
    ]
    for t in readers:
        t.start()
    ready.wait(startup_timeout)
    for line in list(out):
        if line.startswith(READY):
            return EmulatorProcess(proc, readers, line[len(READY) :].strip(), region)
    readers[0].join(timeout=1)
    if not readers[0].is_alive():
        # Its output ended: the child is exiting; its status may lag the end of its pipe.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    running = proc.poll() is None
    _end(proc, readers, timeout=0)
    status = (
        f"was not listening after {startup_timeout:g} s"
        if running
        else f"exited with status {proc.returncode}"
    )
    detail = "".join([*out, *err]).strip() or "(no output)"
    raise BedrockBatchError(f"the emulator (python -m bedrock_batch emulator) {status}:\n{detail}")
