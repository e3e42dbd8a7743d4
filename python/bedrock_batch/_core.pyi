"""The compiled core of bedrock-batch (Rust). Use the functions re-exported by ``bedrock_batch``."""

import builtins
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, final

__all__ = [
    "ArticleStream",
    "Prompt",
    "Quotas",
    "Records",
    "Shard",
    "_AwsClient",
    "_Results",
    "__version__",
    "base_model_id",
    "clean_arrow",
    "clean_batch",
    "clean_html",
    "clean_markdown",
    "cost_estimate",
    "detect_format",
    "estimate_tokens",
    "model_info",
    "pack_columns",
    "price_table",
    "read_results_core",
    "read_wxr",
    "simd_paths",
    "valid_job_name",
    "validate_input",
]

__version__: str

def clean_html(
    html: str | bytes,
    /,
    *,
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
) -> str:
    """Cleans one HTML document (WordPress ``post_content`` or a whole page) to plain text.

    ``bytes`` are decoded from a BOM or the ``<meta charset>`` the page declares, else as UTF-8
    with replacement characters. Never raises on document content.
    """

def clean_markdown(
    md: str,
    /,
    *,
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
) -> str:
    """Cleans one Markdown document (CommonMark, GFM, Jekyll/Hugo front matter, Zenn, MDX)."""

def detect_format(doc: str) -> Literal["html", "markdown", "text"]:
    """Guesses a document's format: "html", "markdown" or "text"."""

def clean_batch(
    docs: Iterable[object],
    /,
    *,
    format: str = "auto",
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[str | None]:
    """Cleans a batch of documents in parallel with the GIL released. Missing values stay ``None``.

    ``progress``, when given, is called with the number of documents finished after each chunk.
    """

def clean_arrow(
    docs: object,
    /,
    *,
    format: str = "auto",
    drop_code: bool = True,
    drop_images: bool = True,
    keep_paragraphs: bool = False,
    max_chars: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> Any:
    """Cleans an Arrow text column (any object with ``__arrow_c_array__`` or
    ``__arrow_c_stream__``: pyarrow, polars, pandas with Arrow-backed strings, DuckDB) in
    parallel with the GIL released, reading the text in place: an Arrow ``large_string`` array
    back (an object with ``__arrow_c_array__``), nulls kept."""

@final
class Quotas:
    """Batch inference quotas, per model and Region. Defaults are AWS's (Amazon Bedrock service
    quotas): minimum 100 records per job (not adjustable), 50,000 records per job and per file,
    1 GB per file, 5 GB per job, 20 submitted + in-progress jobs per base model."""

    def __new__(
        cls,
        *,
        min_records_per_job: int = 100,
        max_records_per_job: int = 50_000,
        max_records_per_file: int = 50_000,
        max_bytes_per_file: int = 1_000_000_000,
        max_bytes_per_job: int = 5_000_000_000,
        max_concurrent_jobs: int = 20,
    ) -> Quotas: ...
    @property
    def min_records_per_job(self) -> int: ...
    @property
    def max_records_per_job(self) -> int: ...
    @property
    def max_records_per_file(self) -> int: ...
    @property
    def max_bytes_per_file(self) -> int: ...
    @property
    def max_bytes_per_job(self) -> int: ...
    @property
    def max_concurrent_jobs(self) -> int: ...
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]: ...

@final
class Prompt:
    """A prompt: ``{column}`` templates for the system and user turns (``{{``/``}}`` are literal
    braces), ``max_tokens``, sampling settings, stop sequences and an assistant ``prefill`` (e.g.
    ``"{"`` to make Claude answer in JSON; the collect stage puts it back). A malformed template
    is an error here, before any row is read."""

    def __new__(
        cls,
        *,
        user: str,
        system: str | None = None,
        max_tokens: int = 4096,
        temperature: float | None = None,
        top_p: float | None = None,
        stop_sequences: list[str] | None = None,
        prefill: str | None = None,
    ) -> Prompt: ...
    @property
    def fields(self) -> list[str]:
        """The columns the templates read."""
    @property
    def system(self) -> str | None: ...
    @property
    def user(self) -> str: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def temperature(self) -> float | None: ...
    @property
    def top_p(self) -> float | None: ...
    @property
    def stop_sequences(self) -> list[str]: ...
    @property
    def prefill(self) -> str | None: ...
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]: ...

@final
class Shard:
    """One written shard file; its folder is one job's S3 input prefix."""

    @property
    def path(self) -> Path: ...
    @property
    def job(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def job_dir(self) -> Path:
        """The job's folder: one job's S3 input prefix."""

@final
class Records:
    """Packed batch records held in Rust, in input order."""

    def __len__(self) -> int: ...
    @property
    def ids(self) -> list[str]:
        """The recordIds, in order."""
    @property
    def model(self) -> str:
        """The model id the records were packed for."""
    @property
    def family(self) -> str:
        """The request family: "claude", "nova", "titan-embed", "llama3" or "llama4"."""
    @property
    def invocation(self) -> str:
        """The job's ``modelInvocationType``: "InvokeModel" or "Converse"."""
    @property
    def input_tokens(self) -> int:
        """Estimated input tokens of every record."""
    def line_sizes(self) -> list[int]:
        """Each record's JSONL line in bytes, its newline included."""
    def append_to(
        self, path: str | os.PathLike[str], start: int = 0, stop: int | None = None
    ) -> tuple[int, int, int]:
        """Appends records ``start..stop`` to the file at ``path`` as JSONL (created when
        missing): ``(records, bytes, input_tokens)`` written."""
    def token_counts(self) -> list[int]:
        """Each record's estimated input tokens, in order."""
    def head(self, n: int = 5) -> list[dict[str, Any]]:
        """The first ``n`` records as dicts (``recordId``, ``modelInput``), to inspect."""
    def to_jsonl(self) -> bytes:
        """All records as JSONL bytes (UTF-8, one record per line)."""
    def exclude(self, ids: Iterable[str | int]) -> Records:
        """The records whose id is not in ``ids``: the "remaining" batch after a run."""
    def estimate(
        self, *, prices: Mapping[str, float] | None = None, output_tokens: int | None = None
    ) -> dict[str, Any]:
        """Records, estimated input tokens, output tokens and the cost at batch and on-demand
        prices. Output tokens are ``output_tokens`` per record when given, else ``max_tokens``
        per record (an upper bound). ``prices={"input": .., "output": ..}`` (dollars per million
        tokens, on demand) overrides the shipped table; batch is half of on-demand."""
    def write(
        self,
        out_dir: str | os.PathLike[str],
        *,
        quotas: Quotas | None = None,
        overwrite: bool = False,
    ) -> list[Shard]:
        """Writes ``out_dir/job-0001/part-00001.jsonl``, ... within ``quotas``: balanced jobs
        (none below the minimum), files written atomically. Existing ``job-*`` folders are an
        error unless ``overwrite=True``."""

def pack_columns(
    columns: Mapping[str, Iterable[object]] | list[dict[str, object]] | object,
    rows: int,
    *,
    prompt: Prompt,
    model: str,
    ids: Iterable[object] | None = None,
    invocation: str = "auto",
    clean: Mapping[str, object] | None = None,
    family: str | None = None,
    missing: str = "error",
    extra: str | None = None,
    fields: list[str] | None = None,
    id_field: str | None = None,
) -> Records:
    """Packs table columns into records (the ``bb.pack`` core; ``bedrock_batch.pack`` adapts
    tables).

    ``columns`` is a dict of column name to values, a list of plain dicts (rows) whose
    ``fields`` are read in one pass over the rows, or an Arrow table (any object with
    ``__arrow_c_stream__`` or ``__arrow_c_array__``) whose ``fields`` columns are read in place
    from its buffers (``rows`` is then its length); the ids from ``id_field`` when given."""

def validate_input(
    source: str | bytes,
    *,
    model: str | None = None,
    family: str | None = None,
    quotas: Quotas | None = None,
    invocation: str | None = None,
    max_problems: int = 100,
) -> dict[str, Any]:
    """Validates batch input (a file, a folder of job folders, or bytes); returns a report
    dict."""

def price_table() -> list[tuple[str, float, float, str]]:
    """The shipped price table: (model prefix, input $/Mtok, output $/Mtok, source)."""

def estimate_tokens(text: str) -> int:
    """Estimated tokens of a text (see the ``tokens`` heuristic and its expected error)."""

def base_model_id(model: str) -> str:
    """The foundation model behind a model id, inference-profile id or ARN (what Bedrock's
    per-model job quota counts): ``us.anthropic.x`` and ``arn:...:foundation-model/anthropic.x``
    both give ``anthropic.x``."""

def model_info(model: str, *, family: str | None = None) -> dict[str, Any]:
    """The family and limits the library knows for a model id, inference profile or ARN."""

@final
class _Results:
    """Batch results held in Rust: one row per record."""

    def __len__(self) -> int: ...
    def columns(self) -> dict[str, list[Any]]:
        """The table as columns: recordId, status, text, the schema fields, stop_reason,
        input_tokens, output_tokens, error_code, error_message (and embedding, json, file, line)."""
    def arrow_table(self) -> Any:
        """The same columns as one Arrow table (an object with ``__arrow_c_stream__``): text as
        ``large_string``, counts as ``int64``, schema fields as the type their values share
        (else JSON text, marked in the field's metadata)."""
    @property
    def problems(self) -> list[tuple[str, int, str | None, str]]:
        """Problems that are not rows: (file, line, recordId, message)."""
    @property
    def manifests(self) -> list[tuple[str, Any]]:
        """Each manifest.json.out found: (path, its fields as a dict)."""
    def summary(self) -> dict[str, int]:
        """Record counts by status and token totals of the rows."""
    def retry_ids(self, statuses: list[str] = ...) -> list[str]:
        """The ids to run again: rows whose status is in ``statuses``."""

def read_results_core(
    source: str | bytes,
    *,
    inputs: Iterable[object] | None = None,
    json: bool = False,
    schema: Iterable[str] | Mapping[str, Any] | None = None,
    prefill: str | None = None,
    attempts: bool = False,
) -> _Results:
    """Reads batch outputs (a ``.jsonl.out`` file, a folder of job folders, or bytes). With
    ``attempts``, records sent more than once keep their best outcome and an ``attempts``
    column counts their lines."""

def cost_estimate(
    model: str,
    records: int,
    input_tokens: int,
    output_tokens: int,
    *,
    prices: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Cost of token counts at on-demand and batch prices (the cost report's arithmetic)."""

@final
class _AwsClient:
    """S3, Bedrock and Bedrock runtime clients (the Rust core of ``bedrock_batch.Client``).
    Each call has an ``_async`` twin returning an awaitable."""

    def __new__(
        cls,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> _AwsClient: ...
    @property
    def region(self) -> str | None:
        """The region the client resolved (None when none is configured)."""
    @property
    def endpoint_url(self) -> str | None:
        """The endpoint override, if any."""
    def upload(self, local: str, uri: str) -> list[tuple[str, int, str]]:
        """Uploads a file or folder to an S3 URI: [(key, bytes, etag)]."""
    def upload_async(self, local: str, uri: str) -> Awaitable[list[tuple[str, int, str]]]: ...
    def download(self, uri: str, dir: str) -> list[str]:
        """Downloads every object under an S3 URI into a folder: the local paths."""
    def download_async(self, uri: str, dir: str) -> Awaitable[list[str]]: ...
    def submit(
        self,
        local: str,
        *,
        name: str,
        role_arn: str,
        model_id: str,
        input_uri: str,
        output_uri: str,
        client_request_token: str | None = None,
        kms_key: str | None = None,
        timeout_hours: int | None = None,
        tags: list[tuple[str, str]] | None = None,
        converse: bool = False,
        subnet_ids: list[str] | None = None,
        security_group_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Uploads a job folder to ``input_uri`` and creates the job."""
    def submit_async(
        self,
        local: str,
        *,
        name: str,
        role_arn: str,
        model_id: str,
        input_uri: str,
        output_uri: str,
        client_request_token: str | None = None,
        kms_key: str | None = None,
        timeout_hours: int | None = None,
        tags: list[tuple[str, str]] | None = None,
        converse: bool = False,
        subnet_ids: list[str] | None = None,
        security_group_ids: list[str] | None = None,
    ) -> Awaitable[dict[str, Any]]: ...
    def create_job(
        self,
        *,
        name: str,
        role_arn: str,
        model_id: str,
        input_uri: str,
        output_uri: str,
        client_request_token: str,
        kms_key: str | None = None,
        timeout_hours: int | None = None,
        tags: list[tuple[str, str]] | None = None,
        converse: bool = False,
        subnet_ids: list[str] | None = None,
        security_group_ids: list[str] | None = None,
    ) -> str:
        """CreateModelInvocationJob for input already in S3: the job ARN."""
    def create_job_async(
        self,
        *,
        name: str,
        role_arn: str,
        model_id: str,
        input_uri: str,
        output_uri: str,
        client_request_token: str,
        kms_key: str | None = None,
        timeout_hours: int | None = None,
        tags: list[tuple[str, str]] | None = None,
        converse: bool = False,
        subnet_ids: list[str] | None = None,
        security_group_ids: list[str] | None = None,
    ) -> Awaitable[str]: ...
    def get_object(self, uri: str) -> tuple[bytes, str] | None:
        """GetObject: ``(bytes, etag)``, or None when there is no object."""
    def get_object_async(self, uri: str) -> Awaitable[tuple[bytes, str] | None]: ...
    def put_object(
        self, uri: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """PutObject: the new ETag. ``if_none_match=True`` writes only where no object is;
        ``if_match=etag`` only over that version (else ``ConflictError``, code
        ``PreconditionFailed``)."""
    def put_object_async(
        self, uri: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> Awaitable[str]: ...
    def delete_object(self, uri: str, *, if_match: str | None = None) -> None:
        """DeleteObject (with ``if_match``, only while the object has that ETag)."""
    def delete_object_async(self, uri: str, *, if_match: str | None = None) -> Awaitable[None]: ...
    def get_job(self, job: str) -> dict[str, Any]:
        """GetModelInvocationJob as a dict."""
    def get_job_async(self, job: str) -> Awaitable[dict[str, Any]]: ...
    def list_jobs(
        self,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        submitted_after: float | None = None,
        max_results: int | None = None,
    ) -> list[dict[str, Any]]:
        """ListModelInvocationJobs (all pages) as dicts."""
    def list_jobs_async(
        self,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        submitted_after: float | None = None,
        max_results: int | None = None,
    ) -> Awaitable[list[dict[str, Any]]]: ...
    def stop_job(self, job: str) -> None:
        """StopModelInvocationJob."""
    def stop_job_async(self, job: str) -> Awaitable[None]: ...
    def invoke_model(self, model_id: str, body: bytes) -> bytes:
        """InvokeModel with a JSON body (content type and accept ``application/json``): the
        response body unchanged."""
    def invoke_model_async(self, model_id: str, body: bytes) -> Awaitable[bytes]: ...
    def converse(self, model_id: str, body: bytes) -> bytes:
        """Converse with a body as a Converse batch record's ``modelInput`` (JSON, text blocks
        only): the response as JSON, as a Converse job's ``modelOutput`` holds it."""
    def converse_async(self, model_id: str, body: bytes) -> Awaitable[bytes]: ...
    def count_tokens(self, model_id: str, body: bytes, *, converse: bool = False) -> int:
        """CountTokens: the input tokens of an InvokeModel body, or with ``converse=True`` of a
        Converse body (its ``inferenceConfig`` is not counted)."""
    def count_tokens_async(
        self, model_id: str, body: bytes, *, converse: bool = False
    ) -> Awaitable[int]: ...
    def probe(self, uri: str) -> list[tuple[str, bool, str]]:
        """Write, read, list and delete a probe object under an S3 URI: [(step, ok, error)]."""
    def probe_async(self, uri: str) -> Awaitable[list[tuple[str, bool, str]]]: ...
    def list(self, uri: str) -> list[tuple[str, int]]:
        """Objects under an S3 URI: [(key, size)]."""
    def list_async(self, uri: str) -> Awaitable[builtins.list[tuple[str, int]]]: ...

def simd_paths() -> list[str]:
    """The vector instruction paths the stages use here: e.g. ``["vector", "sse2", "avx2"]``;
    empty on a CPU without them or when ``BEDROCK_BATCH_SIMD=off`` was set before the first
    call."""

def valid_job_name(name: str) -> str:
    """A job name made valid for Bedrock."""

@final
class ArticleStream:
    """Articles read from a file as a stream of Arrow record batches, for any reader of the
    Arrow PyCapsule interface: ``pa.table(s)``, ``pa.RecordBatchReader.from_stream(s)``,
    ``pl.DataFrame(s)``, ``duckdb.sql("from s")``, ``bb.pack(s, ...)``. It can be read once."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Exports the stream (the Arrow PyCapsule interface); the stream is then used up."""
    def __arrow_c_schema__(self) -> object:
        """The schema (the Arrow PyCapsule interface): ``pa.schema(stream)``."""
    @property
    def column_names(self) -> list[str]:
        """The column names, in order."""
    @property
    def path(self) -> str:
        """The file read."""
    @property
    def closed(self) -> bool:
        """Whether the stream was read (exported) already."""

def read_wxr(
    path: str | os.PathLike[str],
    *,
    columns: list[str] | None = None,
    filter: str | Mapping[str, str | list[str]] | None = None,
    batch_size: int = 1024,
) -> ArticleStream:
    """Reads a WordPress export (WXR) as a stream of Arrow record batches of ``batch_size``
    items: ``id``, ``title``, ``content``, ``excerpt``, ``date``, ``status``, ``post_type``,
    ``link`` (``large_string``, null where the item has no such field) and ``categories``,
    ``tags`` (``list<large_string>``). ``filter``: "published" (published posts and pages),
    "all" or None (every item), or ``{column: [values]}``. The first batch is read here, so a
    file that is malformed early raises at once."""
