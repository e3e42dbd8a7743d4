"""The run's objects under ``<s3>/<name>/`` and the lease that lets one process drive it.

Every object is JSON written with S3 conditional writes: ``run.json`` once (``If-None-Match:
*``), ``state.json`` and ``lease.json`` over the version last read (``If-Match``). Bedrock's own
job list can rebuild the attempts; see the README's "Run state" section for the format.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..exceptions import AwsError, ConflictError, LeaseHeldError, LeaseLostError

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
            raise AwsError(f"{self.uri(key)} is not JSON ({e}); was it edited by hand?") from None
        if not isinstance(doc, dict):
            raise AwsError(f"{self.uri(key)} does not hold a JSON object")
        return doc, str(etag)

    async def create(self, key: str, doc: dict[str, Any]) -> str | None:
        """Writes ``doc`` where no object is: its ETag, or None when one already is."""
        try:
            return str(
                await self.core.put_object_async(self.uri(key), _dump(doc), if_none_match=True)
            )
        except ConflictError as e:
            if _precondition(e):
                return None
            raise

    async def replace(self, key: str, doc: dict[str, Any], etag: str) -> str | None:
        """Writes ``doc`` over the version ``etag``: the new ETag, or None when it changed."""
        try:
            return str(await self.core.put_object_async(self.uri(key), _dump(doc), if_match=etag))
        except ConflictError as e:
            if _precondition(e):
                return None
            raise

    async def put(self, key: str, doc: dict[str, Any]) -> str:
        return str(await self.core.put_object_async(self.uri(key), _dump(doc)))

    async def delete(self, key: str, etag: str | None = None) -> None:
        try:
            await self.core.delete_object_async(self.uri(key), if_match=etag)
        except ConflictError as e:
            if not _precondition(e):
                raise


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode()


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with this pid is running."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
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
    same host, a holder whose process is gone loses it at once."""

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
        same_host = held.get("host") == socket.gethostname()
        return same_host and not pid_alive(int(held.get("pid", 0)))

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
        import asyncio

        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self.renew()
            except LeaseLostError as e:
                self.lost = e
                return
            except AwsError:
                continue  # a failed renewal is tried again; the lease lasts LEASE_TTL

    def check(self) -> None:
        """Raises the lease's loss, if the heartbeat found one."""
        if self.lost is not None:
            raise self.lost

    async def release(self) -> None:
        if self.etag:
            await self.store.delete("lease.json", self.etag)
            self.etag = ""


def lease_doc(
    *,
    now: float,
    host: str | None = None,
    pid: int | None = None,
    token: str = "",
    since: float | None = None,
) -> dict[str, Any]:
    """What ``lease.json`` holds: the holder (this host and process by default), its token,
    when it took the lease, when it last renewed it and when the lease expires."""
    return {
        "host": host if host is not None else socket.gethostname(),
        "pid": pid if pid is not None else os.getpid(),
        "token": token,
        "since": since if since is not None else now,
        "renewed": now,
        "expires": now + LEASE_TTL,
    }


def _held_message(name: str, held: dict[str, Any], now: float) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(held.get("since", now))))
    left = max(0.0, float(held.get("expires", now)) - now)
    return (
        f"run {name!r} is being driven by {held.get('host', '?')} pid {held.get('pid', '?')} "
        f"since {since} (its lease expires in {left:.0f} s unless renewed); stop that process "
        "or wait for it"
    )
