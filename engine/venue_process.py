"""A `polyengine venue` child process for the paper session, on loopback.

Paper mode trades against the same server a user can start by hand, in its own process
(so the venue's work does not share the engine's event loop or core), over real HTTP
and WebSockets. The child prints `NAME URL` lines then `ready` (engine/venue/server/
runner.py); on SIGINT it writes its ledger (--ledger-json) and exits 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import trio

STARTUP_TIMEOUT_S = 60.0
"""Real seconds the child may take to print `ready` (imports and binding)."""


class VenueProcessError(RuntimeError):
    """The venue child could not start or stopped badly; the message says why."""


@dataclass
class VenueProcess:
    """A running venue child: its service URLs, and its ledger once stopped."""

    urls: dict[str, str]
    process: trio.Process
    ledger_path: Path
    ledger: dict[str, Any] | None = None

    @property
    def base_url(self) -> str:
        return self.urls["clob"]


def venue_command(
    *,
    seed: int,
    windows: int,
    start_ts: int,
    clock_start: float,
    clock_rate: float,
    initial_balance: str,
    book_model: str,
    ledger_path: Path,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of the paper session's venue (15-minute series, no rebates)."""
    return [
        sys.executable, "-m", "engine.cli", "venue",
        "--host", "127.0.0.1", "--port", "0",
        "--seed", str(seed),
        "--windows", str(windows),
        "--series", "15m",
        "--start-ts", str(start_ts),
        "--clock-start", repr(clock_start),
        "--clock-rate", repr(clock_rate),
        "--initial-balance", initial_balance,
        "--book-model", book_model,
        "--no-rebates",
        "--ledger-json", str(ledger_path),
        *extra,
    ]  # fmt: skip


async def _read_urls(stdout: trio.abc.ReceiveStream) -> dict[str, str]:
    urls: dict[str, str] = {}
    buffer = b""
    while True:
        chunk = await stdout.receive_some(4096)
        if not chunk:
            raise VenueProcessError("the venue exited before it was ready")
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            text = line.decode().strip()
            if text == "ready":
                return urls
            name, _, url = text.partition(" ")
            if url:
                urls[name] = url


@asynccontextmanager
async def venue_process(
    command: list[str], ledger_path: Path, log_path: Path
) -> AsyncIterator[VenueProcess]:
    """Start the child, yield once it serves, and on exit stop it with SIGINT (then
    read its ledger). Its stderr goes to `log_path` (a pipe nobody drains would stall
    it). If the block is cancelled or fails, the child is still stopped."""
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(command, stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None
    try:
        urls: dict[str, str] | None = None
        with trio.move_on_after(STARTUP_TIMEOUT_S):
            try:
                urls = await _read_urls(process.stdout)
            except VenueProcessError:
                await process.wait()
        if urls is None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            why = "; ".join(tail) or f"no `ready` within {STARTUP_TIMEOUT_S:g} s"
            raise VenueProcessError(f"the venue did not start: {why}")
        running = VenueProcess(urls, process, ledger_path)
        yield running
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                with trio.move_on_after(30):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    if ledger_path.exists():
        running.ledger = orjson.loads(ledger_path.read_bytes())
