"""The `polyengine` command as a user meets it: one-line errors, a report, JSON."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson


def polyengine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_an_unknown_flag_is_one_line_and_exit_2() -> None:
    result = polyengine("run", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unrecognized arguments: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_value_names_the_field_and_what_is_allowed() -> None:
    result = polyengine("run", "--windows", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "polyengine: config error: venue.windows: Input should be greater than or equal to 1 "
        "(got 0)"
    )


def test_a_bad_environment_variable_is_reported_the_same_way() -> None:
    result = polyengine("run", env={"POLYENGINE_STRATEGIES__PARITY__MIN_EDGE": "lots"})
    assert result.returncode == 2
    assert result.stderr.startswith("polyengine: config error: strategies.parity.min_edge:")
    assert result.stderr.strip().count("\n") == 0


def test_run_prints_the_report_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = polyengine(
        "run", "--mode", "sim", "--windows", "1", "--quiet", "--report-json", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "ledger        reconciles exactly; venue cash matches" in result.stdout
    assert "frame received -> order sent (engine)" in result.stdout
    report = orjson.loads(out.read_bytes())
    assert report["session"]["windows"] == 1
    assert report["final_cash"] == (
        report["initial_cash"]
        + report["realized_pnl"]
        - report["fees"]
        + report["settlement"]["pnl"]
        - report["open_cost"]
    )


def test_the_same_seed_gives_the_same_session(tmp_path: Path) -> None:
    reports = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        args = (
            "run", "--mode", "sim", "--windows", "1", "--seed", "11", "--quiet",
            "--report-json", str(out),
        )  # fmt: skip
        result = polyengine(*args)
        assert result.returncode == 0, result.stderr
        reports.append(orjson.loads(out.read_bytes()))
    first, second = reports
    assert first["fills"] and first["fills"] == second["fills"]
    assert first["final_cash"] == second["final_cash"]


def test_sigint_stops_the_session_gracefully_with_a_report() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "--mode", "sim", "--clock-rate", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    header = process.stdout.readline()  # printed once the session is about to start
    assert header.startswith("polyengine: paper session")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "(SIGINT" in out or "SIGINT" in out
    assert "ledger        reconciles exactly; venue cash matches" in out
