"""The validate stage: check batch input locally before anything is uploaded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import _core
from ._core import Quotas
from .exceptions import ValidationError

__all__ = ["Problem", "ValidationReport", "validate"]


class Problem(NamedTuple):
    """One problem: where it is (file, 1-based line, recordId), which field, and what is wrong."""

    file: str
    line: int
    record_id: str | None
    field: str
    message: str
    severity: str
    kind: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rid = f" [{self.record_id}]" if self.record_id else ""
        return f"{where}{rid} {self.field}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The result of :func:`validate`.

    ``problems`` holds the first ``max_problems`` problems in file and line order;
    ``problem_count`` counts them all and ``counts`` groups them by (severity, field, kind), so a
    file with a million bad lines gives a short report.
    """

    ok: bool
    files: int
    jobs: int
    records: int
    bytes: int
    input_tokens: int
    problems: list[Problem]
    problem_count: int
    error_count: int
    counts: list[tuple[str, str, str, int]]

    @property
    def truncated(self) -> bool:
        """True when more problems were found than are listed."""
        return self.problem_count > len(self.problems)

    def raise_for_errors(self) -> None:
        """Raises :class:`ValidationError` listing the first errors when the input has any."""
        if self.ok:
            return
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:20])
        more = self.error_count - min(20, len(errors))
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise ValidationError(
            f"{self.error_count} error(s) in {self.records} records:\n{shown}{tail}", self
        )

    def to_pandas(self) -> Any:
        """The listed problems as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.problems, columns=list(Problem._fields))

    def __str__(self) -> str:
        head = "ok" if self.ok else f"{self.error_count} error(s)"
        lines = [
            f"{head}: {self.records} records in {self.files} file(s), {self.jobs} job(s), "
            f"{self.bytes:,} bytes, ~{self.input_tokens:,} input tokens"
        ]
        for sev, field, kind, n in self.counts:
            lines.append(f"  {n:>7} {sev:<7} {field} ({kind})")
        return "\n".join(lines)


def validate(
    source: str | os.PathLike[str] | bytes,
    *,
    model: str | None = None,
    family: str | None = None,
    quotas: Quotas | None = None,
    invocation: str | None = None,
    max_problems: int = 100,
) -> ValidationReport:
    """Checks batch input: a ``.jsonl`` file, a folder of job folders, or bytes.

    Per line: UTF-8, a JSON object, ``recordId`` (optional; when present a unique string),
    ``modelInput`` shaped as the family expects (required keys and types, ``max_tokens`` within
    the model's limit, non-empty messages with valid roles and content), estimated input tokens
    plus output tokens within the context window. Per file and job (each folder holding files is
    a job): the ``.jsonl`` extension, record counts and bytes within ``quotas``. Without
    ``model`` the family is read from each line's shape and model limits are not checked.

    Streams: a 1 GB file validates in bounded memory.
    """
    d = _core.validate_input(
        os.fspath(source) if not isinstance(source, bytes) else source,
        model=model,
        family=family,
        quotas=quotas,
        invocation=invocation,
        max_problems=max_problems,
    )
    problems = [Problem(*p) for p in d.pop("problems")]
    return ValidationReport(problems=problems, **d)
