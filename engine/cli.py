"""The `polyengine` command line. Errors are one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from engine.config import Config, ConfigError, load_config


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="polyengine", description="An actor-model trading engine for Polymarket.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="run a trading session (paper by default) and print its report",
        description="Run the engine, then print a report. --mode paper (the default) "
        "trades over the network against a venue server on loopback: its own (started "
        "with the session, accelerated) or --venue-url. --mode live trades against the "
        "endpoints in the config (production by default) with the credentials written by "
        "`polyengine account`. --mode sim runs the in-process simulated venue, repeatable "
        "bit for bit. Settings come from --config (TOML), POLYENGINE_* variables "
        "(POLYENGINE_VENUE__SEED=3) and these flags, in that order.",
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    run.add_argument("--mode", choices=("paper", "live", "sim"), help="run.mode (default paper)")
    run.add_argument(
        "--venue-url",
        metavar="URL",
        help="paper mode: trade against this running `polyengine venue` (run.venue_url)",
    )
    run.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many session seconds (run.duration_s)",
    )
    run.add_argument(
        "--report-json", type=Path, metavar="PATH", help="also write the report as JSON"
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="journal of orders and fills; restarting with the same directory resumes after "
        "reconciliation (state.dir; default: a fresh one per own-venue paper run, else "
        "~/.local/state/polyengine/<mode>-<wallet>)",
    )
    run.add_argument("--seed", type=int, help="scenario seed (venue.seed)")
    run.add_argument("--windows", type=int, help="15-minute market windows to run (venue.windows)")
    run.add_argument(
        "--clock-rate",
        type=float,
        metavar="RATE",
        help="simulated seconds per real second; 0 jumps over idle time (clock.rate)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    venue = commands.add_parser(
        "venue",
        help="serve the simulated venue over Polymarket's protocol on loopback",
        description="Serve the simulated venue (CLOB REST and WebSockets, Gamma, price "
        "feeds) on the real clock. Prints `NAME URL` per service, then `ready`; on SIGINT "
        "or SIGTERM writes --ledger-json and exits 0.",
    )
    from engine.venue.server.options import add_arguments

    add_arguments(venue)
    account = commands.add_parser(
        "account",
        help="create or derive API credentials and store them (mode 0600)",
        description="Create (or derive, if they exist) the L2 API credentials of a wallet "
        "through Polymarket's official client, and store them for `run --mode live`. The "
        "key comes from an environment variable or a key file; secrets are never printed.",
    )
    from engine.account import add_account_arguments

    add_account_arguments(account)
    return parser


def _load(args: argparse.Namespace) -> Config:
    return load_config(
        args.config,
        os.environ,
        {
            "venue.seed": args.seed,
            "venue.windows": args.windows,
            "clock.rate": args.clock_rate,
            "run.progress": False if args.quiet else None,
            "run.mode": args.mode,
            "run.venue_url": args.venue_url,
            "run.duration_s": args.duration,
            "state.dir": args.state_dir,
        },
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "account":
        from engine.account import run_account

        logging.basicConfig(level=logging.WARNING, format="polyengine: %(name)s: %(message)s")
        return run_account(args)
    if args.command == "venue":
        from engine.venue.server.runner import run_venue

        logging.basicConfig(level=logging.WARNING, format="polyengine: %(name)s: %(message)s")
        return run_venue(args)
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"polyengine: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="polyengine: %(name)s: %(message)s")
    if args.command == "run" and config.run.mode == "sim":
        from engine.session import run_paper_session

        return run_paper_session(config, args.report_json)
    if args.command == "run":
        from engine.network_session import run_network_session

        return run_network_session(config, args.report_json)
    return 2


if __name__ == "__main__":
    sys.exit(main())
