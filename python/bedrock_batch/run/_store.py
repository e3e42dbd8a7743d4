"""The run's objects under ``<s3>/<name>/`` and the lease that lets one process drive it.

Every object is JSON written with S3 conditional writes: ``run.json`` once (``If-None-Match:
*``), ``state.json`` and ``lease.json`` over the version last read (``If-Match``). Each write
carries a fresh ``write_id``, so a write whose answer was lost (the SDK then retries it and the
retry finds its own write) is recognised as ours. Bedrock's own job list can rebuild the
attempts; see the README's "Run state" section for the format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..exceptions import (
    AwsError,
    AwsNotFoundError,
    ConflictError,
    InputError,
    LeaseHeldError,
    LeaseLostError,
)

FORMAT = "bedrock-batch/run/1"
LEASE_TTL = 60.0  # seconds a lease lasts without a heartbeat
HEARTBEAT = LEASE_TTL / 4


def _precondition(e: AwsError) -> bool:
    return getattr(e, "code", "") in ("PreconditionFailed", "ConditionalRequestConflict")


class Store:
    """JSON objects under one run's prefix, read and written with their ETags."""

    def __init__(self, core: Any, prefix: str) -> None:
        self.core = core
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"

    def uri(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> tuple[dict[str, Any], str] | None:
        got = await self.core.get_object_async(self.uri(key))
        if got is None:
            return None
        data, etag = got
        try:
            doc = json.loads(bytes(data))
        except ValueError as e:
            raise InputError(
                f"{self.uri(key)} is not JSON ({e}); was it edited by hand? Restore it or "
                "remove it (state.json and lease.json are rebuilt; run.json is the plan)"
            ) from None
        if not isinstance(doc, dict):
            raise InputError(f"{self.uri(key)} does not hold a JSON object")
        return doc, str(etag)

    async def _ours(self, key: str, doc: dict[str, Any]) -> str | None:
        """After a refused write: the ETag of what is there when it is ``doc`` itself (our
        first try landed and its answer was lost), else None."""
        got = await self.get(key)
        if got is not None and got[0].get("write_id") == doc["write_id"]:
            return got[1]
        return None

    async def create(self, key: str, doc: dict[str, Any]) -> str | None:
        """Writes ``doc`` where no object is: its ETag, or None when one already is."""
        doc["write_id"] = uuid.uuid4().hex
        try:
            return str(
                await self.core.put_object_async(self.uri(key), _dump(doc), if_none_match=True)
            )
        except ConflictError as e:
            if _precondition(e):
                return await self._ours(key, doc)
            raise

    async def replace(self, key: str, doc: dict[str, Any], etag: str) -> str | None:
        """Writes ``doc`` over the version ``etag``: the new ETag, or None when it changed."""
        doc["write_id"] = uuid.uuid4().hex
        try:
            return str(await self.core.put_object_async(self.uri(key), _dump(doc), if_match=etag))
        except ConflictError as e:
            if _precondition(e):
                return await self._ours(key, doc)
            raise

    async def put(self, key: str, doc: dict[str, Any]) -> str:
        return str(await self.core.put_object_async(self.uri(key), _dump(doc)))

    async def delete(self, key: str, etag: str | None = None) -> None:
        """Deletes ``key`` (with ``etag``, only that version); nothing to delete is fine."""
        try:
            await self.core.delete_object_async(self.uri(key), if_match=etag)
        except AwsNotFoundError:
            pass
        except ConflictError as e:
            if not _precondition(e):
                raise


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode()


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    """What tells this host and process space apart from others of the same name: the host
    name, and on Linux the boot id and the pid namespace (containers that share a host name
    do not share these)."""
    ident = {"host": socket.gethostname()}
    if sys.platform.startswith("linux"):
        ident["boot"] = _read("/proc/sys/kernel/random/boot_id")
        with contextlib.suppress(OSError):
            ident["pidns"] = os.readlink("/proc/self/ns/pid")
    return ident


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with this pid is running (one we may not signal,
    another user's, counts as running)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
        kernel32.OpenProcess.restype = wintypes.HANDLE
        kernel32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = wintypes.DWORD()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@dataclass
class Lease:
    """This process's hold on a run: ``lease.json`` names the host and pid and is renewed by a
    heartbeat. A holder that stops renewing loses it after :data:`LEASE_TTL` seconds; on the
    same host (and, on Linux, the same boot and pid namespace), a holder whose process is gone
    loses it at once."""

    store: Store
    name: str
    token: str = ""
    etag: str = ""
    since: float = 0.0
    lost: LeaseLostError | None = None

    def _doc(self, now: float) -> dict[str, Any]:
        return lease_doc(token=self.token, since=self.since, now=now)

    async def acquire(self) -> None:
        self.token = uuid.uuid4().hex
        for _ in range(3):
            now = time.time()
            self.since = now
            got = await self.store.get("lease.json")
            if got is None:
                etag = await self.store.create("lease.json", self._doc(now))
            else:
                held, old = got
                if not self._free(held, now):
                    raise LeaseHeldError(_held_message(self.name, held, now))
                etag = await self.store.replace("lease.json", self._doc(now), old)
            if etag is not None:
                self.etag = etag
                return
            # Another process wrote the lease between our read and our write: look again.
        got = await self.store.get("lease.json")
        held = got[0] if got else {}
        raise LeaseHeldError(_held_message(self.name, held, time.time()))

    @staticmethod
    def _free(held: dict[str, Any], now: float) -> bool:
        if float(held.get("expires", 0)) < now:
            return True
        here = machine()
        same = all(held.get(k) == v for k, v in here.items())
        return same and not pid_alive(int(held.get("pid", 0)))

    async def renew(self) -> None:
        etag = await self.store.replace("lease.json", self._doc(time.time()), self.etag)
        if etag is None:
            got = await self.store.get("lease.json")
            raise LeaseLostError(
                f"lost the lease of run {self.name}: "
                + (_held_message(self.name, got[0], time.time()) if got else "it was removed")
            )
        self.etag = etag

    async def keep(self) -> None:
        """Renews the lease every :data:`HEARTBEAT` seconds until cancelled; a loss is kept
        for :meth:`check` (the driving loop raises it on its next pass)."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self.renew()
            except LeaseLostError as e:
                self.lost = e
                return
            except AwsError:
                continue  # a failed renewal is tried again; the lease lasts LEASE_TTL

    def check(self, beat: asyncio.Future[None] | None = None) -> None:
        """Raises the lease's loss, or the heartbeat's own failure, if there was one."""
        if self.lost is not None:
            raise self.lost
        if beat is not None and beat.done() and not beat.cancelled():
            err = beat.exception()
            if err is not None:
                raise LeaseLostError(f"the lease of run {self.name} stopped renewing: {err}")

    async def release(self) -> None:
        """Removes our lease (only ours: a lease another process took over stays)."""
        if not self.etag:
            return
        etag, self.etag = self.etag, ""
        try:
            await self.store.delete("lease.json", etag)
        except AwsError:
            return  # it expires by itself
        got = await self.store.get("lease.json")
        if got is not None and got[0].get("token") == self.token:
            await self.store.delete("lease.json", got[1])  # a renewal raced the first delete


def lease_doc(
    *,
    now: float,
    host: str | None = None,
    pid: int | None = None,
    token: str = "",
    since: float | None = None,
) -> dict[str, Any]:
    """What ``lease.json`` holds: the holder (this machine and process by default), its token,
    when it took the lease, when it last renewed it and when the lease expires."""
    doc: dict[str, Any] = {
        **machine(),
        "pid": pid if pid is not None else os.getpid(),
        "token": token,
        "since": since if since is not None else now,
        "renewed": now,
        "expires": now + LEASE_TTL,
    }
    if host is not None:
        doc["host"] = host
    return doc


def _held_message(name: str, held: dict[str, Any], now: float) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(held.get("since", now))))
    left = max(0.0, float(held.get("expires", now)) - now)
    return (
        f"run {name!r} is being driven by {held.get('host', '?')} pid {held.get('pid', '?')} "
        f"since {since} (its lease expires in {left:.0f} s unless renewed); stop that process "
        "or wait for it"
    )
