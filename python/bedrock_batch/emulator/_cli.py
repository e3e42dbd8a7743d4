"""``bedrock-batch emulator``: the emulator as a long-running command, with every knob an option.

Its first line is ``bedrock-batch emulator listening on http://127.0.0.1:PORT`` (flushed), for a
parent process to read (:func:`bedrock_batch.emulator.spawn` does); then the environment hints.
It runs until SIGINT or SIGTERM and exits 0 after either.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

READY = "bedrock-batch emulator listening on "
"""The start of the first line the command prints; the endpoint URL follows."""

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _loopback(value: str) -> str:
    if value not in _LOOPBACK:
        raise argparse.ArgumentTypeError(f"{value!r}: the emulator listens on loopback only")
    return value


def _fraction(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= f <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return f


def _non_negative(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if f < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return f


def _positive(value: str) -> int:
    n = _count(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return n


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return n


def _outcome(value: str) -> tuple[str, str]:
    from . import OUTCOMES

    name, sep, state = value.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r}: expected SUBSTRING=STATE")
    if state not in OUTCOMES:
        raise argparse.ArgumentTypeError(f"{value!r}: STATE must be one of {', '.join(OUTCOMES)}")
    return name, state


def _output_fault(value: str) -> tuple[str, str]:
    from . import OUTPUT_FAULTS

    name, sep, fault = value.rpartition("=")
    if not sep or not name or fault not in OUTPUT_FAULTS:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected SUBSTRING=FAULT, FAULT one of {', '.join(OUTPUT_FAULTS)}"
        )
    return name, fault


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's knobs as options (see :class:`bedrock_batch.emulator.Emulator`)."""
    from . import MODEL_ID_FORMS

    parser.add_argument("--host", type=_loopback, default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--time-scale",
        type=_non_negative,
        default=1.0,
        help="seconds per job step (0: as fast as the worker can)",
    )
    parser.add_argument(
        "--error-rate",
        type=_fraction,
        default=0.0,
        help="fraction of records answered with a retryable 429 or 500 error line, drawn per "
        "job (a retry may succeed)",
    )
    parser.add_argument(
        "--invalid-input-rate",
        type=_fraction,
        default=0.0,
        help="fraction of records answered with a 400 validation error, drawn per record (in "
        "every job and on demand)",
    )
    parser.add_argument(
        "--invalid-json-rate",
        type=_fraction,
        default=0.0,
        help="fraction of answers (per job or runtime call) that are not the JSON asked for",
    )
    parser.add_argument(
        "--truncate-rate",
        type=_fraction,
        default=0.0,
        help="fraction of records whose answer needs --truncate-tokens output tokens (cut at a "
        "lower max_tokens)",
    )
    parser.add_argument(
        "--truncate-tokens",
        type=_positive,
        default=600,
        help="output tokens the --truncate-rate records need",
    )
    parser.add_argument(
        "--throttle-rate",
        type=_fraction,
        default=0.0,
        help="fraction of control-plane calls answered 429 ThrottlingException",
    )
    parser.add_argument(
        "--runtime-error-rate",
        type=_fraction,
        default=0.0,
        help="fraction of runtime calls answered 500 InternalServerException or 503 "
        "ServiceUnavailableException",
    )
    parser.add_argument(
        "--runtime-throttle-rate",
        type=_fraction,
        default=0.0,
        help="fraction of runtime calls answered 429 ThrottlingException",
    )
    parser.add_argument(
        "--max-concurrent-jobs",
        type=_count,
        default=20,
        help="active jobs per foundation model before ServiceQuotaExceededException",
    )
    parser.add_argument(
        "--outcome",
        type=_outcome,
        action="append",
        default=[],
        metavar="SUBSTRING=STATE",
        help="jobs whose name contains SUBSTRING end in STATE (Failed, PartiallyCompleted, "
        "Expired, FailedService: an internal error after starting, Stalled: stops moving "
        "until stopped); repeatable",
    )
    parser.add_argument(
        "--output-fault",
        type=_output_fault,
        action="append",
        default=[],
        metavar="SUBSTRING=FAULT",
        help="jobs whose name contains SUBSTRING write broken output: truncated (last line "
        "cut), duplicates (lines written twice), no_manifest; repeatable",
    )
    parser.add_argument(
        "--partial-fraction",
        type=_fraction,
        default=0.5,
        help="fraction of records a PartiallyCompleted or Stalled job leaves unprocessed",
    )
    parser.add_argument(
        "--model-id-form",
        choices=MODEL_ID_FORMS,
        default="as-given",
        help="how Get/List report a job's modelId",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the process that started this one ends (spawn() sets it)",
    )


def main(args: argparse.Namespace) -> int:
    """Runs the emulator until SIGINT or SIGTERM; 0 after either."""
    from . import Emulator
    from ._base import STATS_PATH

    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    # Before anything slow: a signal while moto loads still ends in a clean exit.
    previous: dict[int, Any] = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)
    }
    parent = os.getppid()
    try:
        emu = Emulator(
            host=args.host,
            port=args.port,
            region=args.region,
            time_scale=args.time_scale,
            error_rate=args.error_rate,
            invalid_input_rate=args.invalid_input_rate,
            invalid_json_rate=args.invalid_json_rate,
            truncate_rate=args.truncate_rate,
            truncate_tokens=args.truncate_tokens,
            throttle_rate=args.throttle_rate,
            runtime_error_rate=args.runtime_error_rate,
            runtime_throttle_rate=args.runtime_throttle_rate,
            max_concurrent_jobs=args.max_concurrent_jobs,
            outcomes=dict(args.outcome),
            output_faults=dict(args.output_fault),
            partial_fraction=args.partial_fraction,
            model_id_form=args.model_id_form,
            seed=args.seed,
        ).start()
        try:
            out = sys.stdout
            out.write(f"{READY}{emu.endpoint_url}\n")
            out.flush()
            out.write("point any AWS SDK at it with:\n")
            for k, v in emu.env().items():
                out.write(f"  export {k}={v}\n")
            out.write(f"what it served: GET {emu.endpoint_url}{STATS_PATH}\n")
            out.flush()
            while not stopping:
                if args.exit_with_parent and os.getppid() != parent:
                    break
                time.sleep(0.1)
        finally:
            emu.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
