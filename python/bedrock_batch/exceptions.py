"""The exception tree of bedrock-batch.

Every error the library raises is a :class:`BedrockBatchError`. Problems with the caller's input
also subclass the builtin a Python user would catch: :class:`InputError` is a ``ValueError``,
:class:`InputTypeError` a ``TypeError``, :class:`NotFoundError` a ``FileNotFoundError``.
Messages name the record, line and field concerned.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AwsConnectionError",
    "AwsError",
    "AwsNotFoundError",
    "AwsValidationError",
    "BedrockBatchError",
    "BudgetExceededError",
    "ConflictError",
    "GeneratedIdsWarning",
    "InputError",
    "InputTypeError",
    "LeaseHeldError",
    "LeaseLostError",
    "NotFoundError",
    "PilotFailedError",
    "QuotaExceededError",
    "RunMismatchError",
    "ThrottlingError",
    "ValidationError",
]


class BedrockBatchError(Exception):
    """Base class of every bedrock-batch error."""


class InputError(BedrockBatchError, ValueError):
    """A bad value: an argument, a record, a line or a field."""


class InputTypeError(BedrockBatchError, TypeError):
    """A value of the wrong type, e.g. an ``int`` where a document's text is expected."""


class NotFoundError(BedrockBatchError, FileNotFoundError):
    """A file, folder or object that does not exist."""


class ValidationError(InputError):
    """Batch input that breaks Bedrock's rules; ``report`` is the full ValidationReport."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class AwsError(BedrockBatchError):
    """An AWS call failed. ``code`` is the service's error code; the message says what to fix."""

    code: str = "Unknown"


class AccessDeniedError(AwsError, PermissionError):
    """AccessDenied: the caller (or the job's role) lacks a permission; the message names it."""


class ThrottlingError(AwsError):
    """Still throttled after the retries with backoff."""


class AwsValidationError(AwsError, ValueError):
    """Bedrock rejected a request value (a name, ARN, URI, timeout...)."""


class ConflictError(AwsError):
    """The job's state does not allow this (already stopping, finished...)."""


class QuotaExceededError(AwsError):
    """Too many submitted + in-progress jobs for the model."""


class AwsNotFoundError(AwsError, NotFoundError):
    """No such job, bucket or object."""


class AwsConnectionError(AwsError, ConnectionError):
    """The endpoint could not be reached (refused, unresolvable, timed out)."""


class GeneratedIdsWarning(UserWarning):
    """The table has no ``id`` column, so records got ids from their row order
    (``R0000000001``, ...): they do not join back after a rerun on a reordered or filtered
    table. Pass ``id_column=`` the table's key, or ``id_column=None`` to accept row order."""


class RunMismatchError(InputError):
    """A run of this name exists under the prefix with another plan (ids, prompt, model,
    quotas or content); the message names the difference. Use a new name to start afresh."""


class LeaseHeldError(BedrockBatchError):
    """Another process drives this run; the message names its host, pid and since when."""


class LeaseLostError(BedrockBatchError):
    """This process's lease on the run was taken over (it stopped renewing it for too long)."""


class PilotFailedError(BedrockBatchError):
    """The pilot job's success rate is below ``pilot_min_success``: the rest of the run waits.
    The message shows the pilot's problems; ``Run.approve_pilot()`` goes on regardless."""


class BudgetExceededError(BedrockBatchError):
    """A run's estimated or spent cost would pass ``max_cost``: before anything is uploaded
    (the message shows the estimate in dollars), or during the run, which then pauses until it
    is resumed with a higher ``max_cost``."""
