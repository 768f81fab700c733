"""The options of `polyengine venue`, kept apart so the CLI can list them cheaply.

Parsing them into a ServerConfig and running the server is runner.py's job.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.venue.server.faults import describe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `venue` subcommand's options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=7, help="scenario, id and fault seed")
    parser.add_argument(
        "--faults",
        default="",
        metavar="NAME[,NAME...]",
        help="faults to inject (listed below)",
    )
    parser.add_argument(
        "--initial-balance",
        default="10000",
        metavar="USDC",
        help="collateral of every new API account (default 10000)",
    )
    parser.add_argument("--ledger-json", type=Path, metavar="PATH", help="ledger written on exit")
    parser.add_argument(
        "--post-log",
        type=Path,
        metavar="PATH",
        help="append one JSON line per order received by POST /order and per leg of "
        "POST /orders (the venue's order id), flushed before the order is processed",
    )
    parser.add_argument(
        "--windows", type=int, default=96, help="15-minute windows to list (default 96)"
    )
    parser.add_argument(
        "--series",
        default="15m,5m",
        metavar="LIST",
        help="up/down series to list, comma-separated from 15m and 5m (default 15m,5m); "
        "each covers the same span as --windows 15-minute windows",
    )
    parser.add_argument(
        "--start-ts",
        type=int,
        metavar="UNIX",
        help="first window start, a multiple of 900 (default: the current window)",
    )
    parser.add_argument(
        "--no-traders", action="store_true", help="no scenario traders: only clients trade"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="RULE",
        help="override a limit, e.g. 'POST /order=10/1'; 'off' disables all",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="dead-man switch delay once heartbeats start (default 10)",
    )
    parser.add_argument(
        "--deposit-wallet",
        action="append",
        default=[],
        metavar="OWNER:WALLET[:TYPE]",
        help="let the EOA OWNER trade for WALLET (type 3 deposit wallet by default; 1 proxy, "
        "2 Safe)",
    )
    parser.add_argument(
        "--book-model",
        choices=("unified", "per-token"),
        default="unified",
        help="unified (default, as production): every order shows in both outcomes' books "
        "and SELLs of the two outcomes merge; per-token: the paper session's separate books",
    )
    parser.add_argument(
        "--clock-rate",
        type=float,
        default=1.0,
        metavar="RATE",
        help="venue seconds per real second (default 1: the real clock); clients must run "
        "at the same rate (the paper session does)",
    )
    parser.add_argument(
        "--clock-start",
        type=float,
        metavar="UNIX",
        help="the venue's time when it starts (default: now); with --start-ts, a run can "
        "begin just before a window of the past or future",
    )
    parser.add_argument(
        "--no-rebates",
        action="store_true",
        help="crypto taker fees without the 20%% maker rebate (as the paper session)",
    )
    parser.add_argument("--replay", type=Path, metavar="JSONL", help="recorded frames to replay")
    parser.add_argument(
        "--replay-speed", type=float, default=1.0, help="replay pace; 0 as fast as possible"
    )
    parser.epilog = "faults:\n" + describe()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
