"""The end-of-session report: one dict for JSON, and the same figures as text.

Money is reported both as integer micro units (`*_micro`-free keys hold integers) and
rendered with `format_units` in the text; nothing is converted through floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.ledger import Ledger, LedgerError
from engine.messages import MarketInfo
from engine.stats import EngineStats
from engine.units import format_units


@dataclass(frozen=True, slots=True)
class SessionFacts:
    seed: int
    windows: int
    simulated_s: float
    wall_s: float
    venue_cash: int | None
    shutdown_reason: str


IDENTITY = "final_cash = initial_cash + realized_pnl - fees + settlement.pnl - open_cost"


def build_report(
    ledger: Ledger,
    stats: EngineStats,
    markets: Mapping[str, MarketInfo],
    facts: SessionFacts,
) -> dict[str, Any]:
    try:
        ledger.check_identity()
        identity_ok, identity_error = True, ""
    except LedgerError as exc:
        identity_ok, identity_error = False, str(exc)
    fills_by_strategy: dict[str, int] = {}
    for fill in ledger.fills:
        fills_by_strategy[fill.strategy] = fills_by_strategy.get(fill.strategy, 0) + 1
    slug = {cid: m.slug for cid, m in markets.items()}
    return {
        "session": {
            "seed": facts.seed,
            "windows": facts.windows,
            "simulated_s": round(facts.simulated_s, 3),
            "wall_s": round(facts.wall_s, 3),
            "shutdown_reason": facts.shutdown_reason,
        },
        "units": "integers in micro-USDC and micro-shares (1.00 = 1000000)",
        "initial_cash": ledger.initial_cash,
        "final_cash": ledger.cash,
        "realized_pnl": ledger.realized_pnl,
        "fees": ledger.fees,
        "open_cost": ledger.open_cost,
        "settlement": {
            "pnl": ledger.settlement_pnl,
            "payout": ledger.settlement_payout,
            "markets": [
                {
                    "condition_id": s.condition_id,
                    "slug": slug.get(s.condition_id, ""),
                    "winner": markets[s.condition_id].outcomes[s.winner]
                    if s.winner is not None and s.condition_id in markets
                    else "50/50",
                    "payout": s.payout,
                    "pnl": s.pnl,
                }
                for s in ledger.settlements
            ],
        },
        "ledger_identity": {
            "holds": identity_ok,
            "equation": IDENTITY,
            "error": identity_error,
        },
        "venue_cash": facts.venue_cash,
        "venue_cash_matches": facts.venue_cash == ledger.cash
        if facts.venue_cash is not None
        else None,
        "fills_total": len(ledger.fills),
        "fills_by_strategy": fills_by_strategy,
        "pnl_by_strategy": {
            name: _attribution(a) for name, a in sorted(ledger.by_strategy.items())
        },
        "pnl_by_market": {
            slug.get(cid, cid): _attribution(a) for cid, a in sorted(ledger.by_market.items())
        },
        "fills": [
            {
                "trade_id": f.trade_id,
                "order_id": f.order_id,
                "strategy": f.strategy,
                "market": slug.get(f.condition_id, f.condition_id),
                "token_id": f.token_id,
                "side": f.side.name,
                "price": f.price,
                "size": f.size,
                "fee": f.fee,
                "liquidity": f.liquidity.value,
            }
            for f in ledger.fills
        ],
        "frames_processed": stats.frames,
        "market_events": stats.market_events,
        "malformed_frames": stats.malformed_frames,
        "resyncs": {"integrity": stats.integrity_resyncs, "overflow": stats.overflow_resyncs},
        "orders": {
            "sent": stats.orders_sent,
            "rejected": stats.orders_rejected,
            "denied_by_risk": stats.orders_denied,
            "cancels_sent": stats.cancels_sent,
            "rejections": dict(sorted(stats.rejections.items())),
        },
        "latency_ns": {
            "frame_to_order": stats.frame_to_order.summary(),
            "order_round_trip": stats.order_round_trip.summary(),
        },
    }


def _attribution(a: Any) -> dict[str, int]:
    return {
        "fills": a.fills,
        "volume": a.volume,
        "fees": a.fees,
        "realized_pnl": a.realized_pnl,
        "settlement_pnl": a.settlement_pnl,
        "net_pnl": a.net_pnl,
    }


def _usd(value: int) -> str:
    return f"{'-' if value < 0 else ''}${format_units(abs(value))}"


def render_text(report: Mapping[str, Any]) -> str:
    """The report as a few aligned lines for a terminal."""
    s = report["session"]
    lat = report["latency_ns"]["frame_to_order"]
    trip = report["latency_ns"]["order_round_trip"]
    lines = [
        "",
        f"polyengine paper session: seed {s['seed']}, {s['windows']} windows, "
        f"{s['simulated_s']:.0f} s simulated in {s['wall_s']:.1f} s ({s['shutdown_reason']})",
        "",
        f"  cash          {_usd(report['initial_cash'])} -> {_usd(report['final_cash'])}",
        f"  realized PnL  {_usd(report['realized_pnl'])}   settlement PnL "
        f"{_usd(report['settlement']['pnl'])}   fees {_usd(report['fees'])}",
        "  ledger        "
        + ("reconciles exactly" if report["ledger_identity"]["holds"] else "DOES NOT RECONCILE")
        + (
            ""
            if report["venue_cash_matches"] is None
            else f"; venue cash {'matches' if report['venue_cash_matches'] else 'DIFFERS'}"
        ),
        "",
        "  strategy      fills   volume        fees        net PnL",
    ]
    for name, a in report["pnl_by_strategy"].items():
        lines.append(
            f"  {name:<12} {a['fills']:>6}   {_usd(a['volume']):>11} {_usd(a['fees']):>11} "
            f"{_usd(a['net_pnl']):>12}"
        )
    lines += ["", "  market                          fills        net PnL   settled"]
    winners = {m["slug"]: m["winner"] for m in report["settlement"]["markets"]}
    for market, a in report["pnl_by_market"].items():
        won = winners.get(market, "-")
        lines.append(f"  {market:<30} {a['fills']:>6}   {_usd(a['net_pnl']):>12}   {won}")
    o = report["orders"]
    lines += [
        "",
        f"  frames {report['frames_processed']}, market events {report['market_events']}, "
        f"malformed {report['malformed_frames']}, resyncs {report['resyncs']}",
        f"  orders sent {o['sent']}, rejected {o['rejected']}, denied by risk "
        f"{o['denied_by_risk']}, cancels {o['cancels_sent']}",
        _latency_line("frame received -> order sent (engine)", lat),
        _latency_line("order sent -> venue answer (round trip)", trip),
        "",
    ]
    return "\n".join(lines)


def _latency_line(what: str, lat: Mapping[str, int]) -> str:
    return (
        f"  {what} (n={lat['count']}): p50 {lat['p50'] / 1000:.1f} us, "
        f"p90 {lat['p90'] / 1000:.1f} us, p99 {lat['p99'] / 1000:.1f} us, "
        f"max {lat['max'] / 1000:.1f} us"
    )
