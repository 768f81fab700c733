"""`polyengine venue`: the venue server standalone, on the real clock.

It prints each service's URL as `NAME URL`, one per line, then `ready`; on SIGINT or
SIGTERM it writes the ledger (--ledger-json) and exits 0. With the same seed, start
window (--start-ts) and client actions at the same times, a run is the same run: the
scenario, ids, keys and faults are all derived from the seed.
"""

from __future__ import annotations

import argparse
import signal
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import trio
import trio.testing
from eth_utils.address import is_hex_address

from engine.units import parse_units
from engine.venue.scenario import CRYPTO_FEES, CRYPTO_FEES_WITH_REBATES, SERIES_S
from engine.venue.server.app import ServerConfig, VenueServer
from engine.venue.server.faults import FaultPlan
from engine.venue.server.ratelimit import RateLimiter, parse_rule


class UsageError(ValueError):
    """A bad option value, reported as one line with exit status 2."""


def _limiter(rules: list[str]) -> RateLimiter:
    if "off" in rules:
        return RateLimiter.off()
    try:
        return RateLimiter().with_rules(*(parse_rule(rule) for rule in rules))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _wallets(specs: list[str]) -> list[tuple[str, str, int]]:
    wallets = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise UsageError(f"--deposit-wallet {spec!r}: expected OWNER:WALLET[:TYPE]")
        kind = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 3
        if not (is_hex_address(parts[0]) and is_hex_address(parts[1])) or kind not in (1, 2, 3):
            raise UsageError(f"--deposit-wallet {spec!r}: expected two addresses and type 1-3")
        wallets.append((parts[0], parts[1], kind))
    return wallets


def server_config(args: argparse.Namespace) -> ServerConfig:
    """ServerConfig from the parsed options; UsageError with one line if any is bad."""
    try:
        balance = parse_units(Decimal(args.initial_balance))
    except (InvalidOperation, ValueError):
        raise UsageError(f"--initial-balance: not an amount: {args.initial_balance!r}") from None
    if balance < 0:
        raise UsageError("--initial-balance must not be negative")
    if args.start_ts is not None and args.start_ts % 900:
        raise UsageError("--start-ts must be a multiple of 900")
    if not 1 <= args.windows <= 10_000:
        raise UsageError("--windows must be between 1 and 10000")
    series = tuple(name.strip() for name in args.series.split(",") if name.strip())
    if not series or len(set(series)) != len(series) or not set(series) <= set(SERIES_S):
        raise UsageError(f"--series: expected distinct names from 15m, 5m: {args.series!r}")
    try:
        faults = FaultPlan.parse(args.faults, args.seed)
    except ValueError as exc:
        raise UsageError(f"--faults: {exc}") from None
    if not 0 < args.clock_rate <= 10_000:
        raise UsageError("--clock-rate must be above 0 and at most 10000")
    if args.post_log is not None and not args.post_log.parent.is_dir():
        raise UsageError(f"--post-log: no such directory: {args.post_log.parent}")
    if args.replay is not None and not args.replay.is_file():
        raise UsageError(f"--replay: no such file: {args.replay}")
    return ServerConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        initial_balance=balance,
        windows=args.windows,
        series=series,
        start_ts=args.start_ts,
        traders=not args.no_traders,
        faults=faults,
        limiter=_limiter(args.rate_limit),
        heartbeat_timeout_s=args.heartbeat_timeout,
        replay=args.replay,
        replay_speed=args.replay_speed,
        book_model="unified" if args.book_model == "unified" else "per_token",
        fees=CRYPTO_FEES if args.no_rebates else CRYPTO_FEES_WITH_REBATES,
        clock_start=args.clock_start,
        keep_alive_s=5.0 * max(1.0, args.clock_rate) + 5.0,
        post_log=args.post_log,
    )


async def serve_until_signalled(
    config: ServerConfig, wallets: list[tuple[str, str, int]], result: dict[str, Any]
) -> None:
    """Serve, print the URLs and `ready`, and on SIGINT/SIGTERM keep the ledger."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            server = VenueServer(config)
            await nursery.start(server.run)
            for owner, wallet, kind in wallets:
                server.exchange.register_wallet(wallet, owner, kind)
            for name, url in server.urls.items():
                print(f"{name} {url}", flush=True)
            print("ready", flush=True)
            async for received in signals:
                result["signal"] = signal.Signals(received).name
                break
            result["ledger"] = server.ledger()
            nursery.cancel_scope.cancel()


def run_venue(args: argparse.Namespace) -> int:
    """`polyengine venue`: 0 after a signal, 2 for bad options."""
    try:
        config = server_config(args)
        wallets = _wallets(args.deposit_wallet)
    except UsageError as exc:
        print(f"polyengine venue: {exc}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {}
    failed: list[OSError] = []
    rate = args.clock_rate
    clock = None if rate == 1.0 else trio.testing.MockClock(rate=rate)
    try:
        trio.run(serve_until_signalled, config, wallets, result, clock=clock)
    except* OSError as group:
        failed.extend(e for e in group.exceptions if isinstance(e, OSError))
    if failed:
        message = f"cannot serve on {args.host}:{args.port}: {failed[0]}"
        print(f"polyengine venue: {message}", file=sys.stderr)
        return 1
    if args.ledger_json is not None and "ledger" in result:
        args.ledger_json.write_bytes(orjson.dumps(result["ledger"], option=orjson.OPT_INDENT_2))
    print(f"stopped ({result.get('signal', 'no signal')})", file=sys.stderr)
    return 0
