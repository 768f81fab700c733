"""What the journal costs on the order path: one signed order journaled (encoded,
secret-checked, written, flushed) with fsync "always" (the default: durable before the
order is sent) and with fsync "never" (the OS writes it back later; a power cut can lose
the newest records, a process crash cannot).

The state directory is a temporary one on the same disk as the default state directory
(~/.local/state); what fsync costs depends on that disk far more than on this code.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from benches.harness import Bench
from engine.fees import NO_FEES
from engine.journal import FsyncPolicy, Journal
from engine.units import OrderType, Side

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
CONDITION = "0x" + "ab" * 32


def _journal_signed(fsync: FsyncPolicy) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        home = Path.home() / ".cache"
        home.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="polyengine-bench-", dir=home))
        journal = Journal(state_dir, fsync=fsync)
        atexit.register(shutil.rmtree, state_dir, True)
        atexit.register(journal.close)
        ids = itertools.count(1)

        def journal_one() -> None:
            n = next(ids)
            order_id = f"0x{n:064x}"
            body = (
                b'{"order":{"salt":%d,"tokenId":"%s","timestamp":"1793404800000","side":"BUY"},'
                b'"owner":"00000000-0000-4000-8000-000000000000","orderType":"GTC"}'
                % (n, TOKEN.encode())
            )
            journal.signed(
                order_id, body, strategy="bench", key=f"k{n}", condition_id=CONDITION,
                token_id=TOKEN, side=Side.BUY, price=570_000, size=10_000_000,
                order_type=OrderType.GTC, post_only=False, fees=NO_FEES,
            )  # fmt: skip

        return journal_one

    return make


def benches() -> list[Bench]:
    return [
        Bench("journal.signed.fsync", _journal_signed("always"), unit="ns"),
        Bench("journal.signed.no_fsync", _journal_signed("never"), unit="ns"),
    ]
