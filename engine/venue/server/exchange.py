"""The venue server's accounts and bookkeeping over a SimVenue, without any HTTP.

SimVenue steps the scenario and matches; this adds what the protocol needs around it:
API keys and the wallets they may trade for, one paper account per wallet (funded with
the initial balance when its key or wallet appears), order authorization (owner, signer,
signature type, EIP-712 domain), the trade log with its settlement statuses
(MATCHED -> MINED -> CONFIRMED, or -> RETRYING -> FAILED under the `trades-failed`
fault, which voids the trade's balance movements), the heartbeat dead-man switch and
the end-of-run ledger.

Engine accounts of API users are their lower-cased wallet addresses; on the wire every
account appears by API key and checksummed address (`identity_of`), scenario traders by
a key and address derived from their names, never by the internal name.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import trio
from eth_utils.address import to_checksum_address

from engine.units import Side
from engine.venue.matching import (
    ERR_MARKET_NOT_FOUND,
    OrderRequest,
    OrderStatus,
    OrderView,
    SubmitResult,
    TradeExecuted,
    VenueEvent,
    VoidError,
)
from engine.venue.server.auth import Credentials, KeyRegistry, L1Request
from engine.venue.server.faults import FaultPlan
from engine.venue.server.orders import (
    ERR_OWNER,
    ERR_SIGNATURE,
    ERR_SIGNER,
    ERR_VERSION_MISMATCH,
    ERR_WALLET,
    OrderRejected,
    SignedOrder,
    order_terms,
)
from engine.venue.server.signing import (
    EXCHANGE_V3_DOMAIN,
    NEG_RISK_V2,
    STANDARD_V2,
    OrderDomain,
    SignatureError,
    order_digest,
    order_domain,
    recover_order_signer,
    recover_wallet_signature,
)
from engine.venue.sim import SimVenue
from engine.venue.wire import Identity, TradeStatus, fake_transaction_hash

HEARTBEAT_TIMEOUT_S = 10.0
"""Once started, a heartbeat session that goes this long without one cancels all orders."""

SETTLE_STEP_S = 0.05
"""Delay between a trade's statuses (MATCHED -> MINED -> CONFIRMED): prompt, but ordered."""

# A signature made under another protocol version's domain (V1 "1", ExchangeV3 "3")
# is a version mismatch, not a bad signature.
_V1_DOMAINS = (
    OrderDomain("1", "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"),
    OrderDomain("1", "0xC5d563A36AE78145C45a50134d48A1215220f80a"),
)
_ALL_DOMAINS = (STANDARD_V2, NEG_RISK_V2, EXCHANGE_V3_DOMAIN, *_V1_DOMAINS)


@dataclass(frozen=True, slots=True)
class Wallet:
    """A proxy, Safe or deposit wallet that an EOA (`owner`) may sign orders for."""

    address: str
    owner: str
    signature_type: int


@dataclass(slots=True)
class TradeRecord:
    """One trade and where its settlement stands."""

    trade: TradeExecuted
    status: TradeStatus
    updated_ms: int
    transaction_hash: str
    """Empty until the trade is MINED; a failed trade never gets one."""
    fails: bool = False

    @property
    def accounts(self) -> list[str]:
        legs = [leg.account for leg in self.trade.maker_legs]
        return list(dict.fromkeys([self.trade.taker_account, *legs]))


@dataclass(slots=True)
class HeartbeatSession:
    heartbeat_id: str
    last_s: float


class HeartbeatMismatch(Exception):
    """A heartbeat with the wrong id: the reply names the id the venue expects."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


@dataclass(slots=True)
class CancelResult:
    canceled: list[str] = field(default_factory=list)
    not_canceled: dict[str, str] = field(default_factory=dict)

    def reply(self) -> dict[str, Any]:
        return {"canceled": self.canceled, "not_canceled": self.not_canceled}


ERR_NOT_FOUND = "order not found"
ERR_NOT_LIVE = "already canceled or matched"


def _derived_identity(name: str) -> Identity:
    digest = hashlib.sha256(f"polyengine-venue-identity|{name}".encode()).digest()
    owner = str(uuid.UUID(bytes=digest[:16], version=4))
    return Identity(owner=owner, address=to_checksum_address("0x" + digest[12:32].hex()))


class Exchange:
    """Accounts, keys, wallets, trades and heartbeats of one venue server."""

    def __init__(
        self,
        venue: SimVenue,
        *,
        seed: int,
        initial_balance: int,
        faults: FaultPlan | None = None,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
        settle_step_s: float = SETTLE_STEP_S,
    ) -> None:
        self.venue = venue
        self.engine = venue.engine
        self.clock = venue.clock
        self.seed = seed
        self.initial_balance = initial_balance
        self.faults = faults if faults is not None else FaultPlan.none(seed)
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.settle_step_s = settle_step_s
        self.keys = KeyRegistry(seed)
        self.wallets: dict[str, Wallet] = {}
        self.funded: dict[str, int] = {}
        self.trades: dict[str, TradeRecord] = {}
        self.account_trades: dict[str, list[str]] = {}
        self.last_trade: dict[str, tuple[int, Side]] = {}
        self.heartbeats: dict[str, HeartbeatSession] = {}
        self._identities: dict[str, Identity] = {}
        self._ids = itertools.count(1)
        self._settlements: list[tuple[float, int, str, TradeStatus]] = []
        self._settle_wakeup = trio.Event()
        venue.identity_of = self.identity_of
        venue.settle_trades = False
        venue.listeners.append(self._on_events)

    # Identities and accounts.

    @staticmethod
    def account_of(address: str) -> str:
        """The engine account of a wallet address."""
        return address.lower()

    def identity_of(self, account: str) -> Identity:
        """How an engine account appears on the wire: API key and checksummed address.

        A wallet's key is its owner's first API key (an owner with keys under several
        nonces appears under the first).
        """
        known = self._identities.get(account)
        if known is not None:
            return known
        if account.startswith("0x") and len(account) == 42:
            wallet = self.wallets.get(account)
            owner_address = wallet.owner if wallet is not None else account
            keys = self.keys.keys_of(owner_address)
            if not keys:
                return Identity(owner="", address=to_checksum_address(account))
            identity = Identity(owner=keys[0].key, address=to_checksum_address(account))
        else:
            identity = _derived_identity(account)
        self._identities[account] = identity
        return identity

    def _fund(self, address: str) -> None:
        account = self.account_of(address)
        if account not in self.funded and self.initial_balance > 0:
            self.engine.deposit(account, self.initial_balance)
            self.funded[account] = self.initial_balance

    def create_api_key(self, request: L1Request) -> Credentials | None:
        """POST /auth/api-key: a new key (None if this address and nonce have one)."""
        creds = self.keys.create(request.address, request.nonce)
        if creds is not None:
            self._fund(request.address)
            self._identities.clear()
        return creds

    def derive_api_key(self, request: L1Request) -> Credentials | None:
        """GET /auth/derive-api-key: the existing key of this address and nonce."""
        return self.keys.existing(request.address, request.nonce)

    def register_wallet(self, wallet: str, owner: str, signature_type: int) -> Wallet:
        """Let `owner` (an EOA) sign orders for `wallet` (types 1 proxy, 2 Safe, 3 deposit)."""
        if signature_type not in (1, 2, 3):
            raise ValueError(f"wallet signature type must be 1, 2 or 3, got {signature_type}")
        entry = Wallet(to_checksum_address(wallet), to_checksum_address(owner), signature_type)
        self.wallets[self.account_of(wallet)] = entry
        self._identities.clear()
        self._fund(wallet)
        return entry

    def accounts_of(self, creds: Credentials) -> list[str]:
        """Every engine account this key trades for: its EOA and the wallets it owns."""
        owner = creds.address.lower()
        wallets = [a for a, w in self.wallets.items() if w.owner.lower() == owner]
        return [owner, *wallets]

    def account_for(self, creds: Credentials, signature_type: int) -> str:
        """The account a balance query means: the EOA (type 0) or the owned wallet."""
        if signature_type == 0:
            return self.account_of(creds.address)
        for account, wallet in self.wallets.items():
            if wallet.owner == creds.address and wallet.signature_type == signature_type:
                return account
        return self.account_of(creds.address)

    # Orders.

    def place(self, creds: Credentials, order: SignedOrder) -> SubmitResult:
        """Authorize, price and submit one order; OrderRejected before the engine.

        Rejections by the engine come back as `success=False` with the venue's text.
        """
        if order.owner != creds.key:
            raise OrderRejected(ERR_OWNER)
        spec = self.engine.market_for_token(order.token_id)
        if spec is None:
            raise OrderRejected(ERR_MARKET_NOT_FOUND)
        domain = order_domain(order.struct.token_id, spec.neg_risk)
        account = self._authorize(creds, order, domain)
        tick = self.engine.market(spec.condition_id).tick
        price, size = order_terms(order, tick)
        request = OrderRequest(
            account=account,
            token_id=order.token_id,
            side=order.side,
            price=price,
            size=size,
            order_type=order.order_type,
            post_only=order.post_only,
            expiration=order.expiration,
        )
        order_id = self._order_id(order, domain)
        result = self.engine.submit(request, self.clock.now_ms(), order_id=order_id)
        self.venue.flush()
        return result

    def order_id(self, order: SignedOrder) -> str | None:
        """The id the venue gives `order` (its EIP-712 hash); None for an unknown token."""
        spec = self.engine.market_for_token(order.token_id)
        if spec is None:
            return None
        return self._order_id(order, order_domain(order.struct.token_id, spec.neg_risk))

    @staticmethod
    def _order_id(order: SignedOrder, domain: OrderDomain) -> str:
        return "0x" + order_digest(order.struct, domain).hex()

    def _authorize(self, creds: Credentials, order: SignedOrder, domain: OrderDomain) -> str:
        """Check who signed for whom; the engine account the order trades for."""
        struct = order.struct
        kind = struct.signature_type
        owner = creds.address.lower()
        if kind == 3:
            if struct.maker != struct.signer:
                raise OrderRejected(ERR_SIGNER)
            self._require_wallet(creds, struct.maker, kind)
            try:
                signed = recover_wallet_signature(struct, domain, order.signature)
            except SignatureError:
                raise OrderRejected(self._signature_error_v3(order, domain)) from None
            if signed.owner.lower() != owner:
                raise OrderRejected(ERR_SIGNATURE)
            return self.account_of(struct.maker)
        if struct.signer != owner:
            raise OrderRejected(ERR_SIGNER)
        if kind == 0:
            if struct.maker != struct.signer:
                raise OrderRejected(ERR_SIGNER)
        else:
            self._require_wallet(creds, struct.maker, kind)
        struct_hash = struct.struct_hash()
        if self._recovers(domain, struct_hash, order.signature, struct.signer):
            return self.account_of(struct.maker)
        for other in _ALL_DOMAINS:
            if other.version != domain.version and self._recovers(
                other, struct_hash, order.signature, struct.signer
            ):
                raise OrderRejected(ERR_VERSION_MISMATCH)
        raise OrderRejected(ERR_SIGNATURE)

    @staticmethod
    def _recovers(domain: OrderDomain, struct_hash: bytes, signature: bytes, signer: str) -> bool:
        try:
            recovered = recover_order_signer(domain.separator, struct_hash, signature)
            return recovered.lower() == signer
        except SignatureError:
            return False

    @staticmethod
    def _signature_error_v3(order: SignedOrder, domain: OrderDomain) -> str:
        """A type-3 signature made for another known domain is a version mismatch."""
        for other in _ALL_DOMAINS:
            if other.version == domain.version:
                continue
            try:
                recover_wallet_signature(order.struct, other, order.signature)
            except SignatureError:
                continue
            return ERR_VERSION_MISMATCH
        return ERR_SIGNATURE

    def _require_wallet(self, creds: Credentials, maker: str, kind: int) -> None:
        wallet = self.wallets.get(self.account_of(maker))
        if wallet is None or wallet.owner != creds.address or wallet.signature_type != kind:
            raise OrderRejected(ERR_WALLET)

    def own_order(self, creds: Credentials, order_id: str) -> OrderView | None:
        view = self.engine.order(order_id)
        if view is None or view.account not in self.accounts_of(creds):
            return None
        return view

    def open_orders(self, creds: Credentials) -> list[OrderView]:
        accounts = self.accounts_of(creds)
        return [o for o in self.engine.open_orders() if o.account in accounts]

    def cancel(self, creds: Credentials, order_ids: Iterable[str]) -> CancelResult:
        """Cancel own live orders by id; the rest are reported with the venue's reason."""
        result = CancelResult()
        accounts = self.accounts_of(creds)
        live: dict[str, list[str]] = {}
        for order_id in dict.fromkeys(order_ids):
            view = self.engine.order(order_id)
            if view is None or view.account not in accounts:
                result.not_canceled[order_id] = ERR_NOT_FOUND
            elif view.remaining == 0 or view.status is not OrderStatus.LIVE:
                result.not_canceled[order_id] = ERR_NOT_LIVE
            else:
                live.setdefault(view.account, []).append(order_id)
        now_ms = self.clock.now_ms()
        for account, ids in live.items():
            result.canceled.extend(self.engine.cancel_orders(account, ids, now_ms=now_ms))
        self.venue.flush()
        return result

    def cancel_all(self, creds: Credentials) -> CancelResult:
        now_ms = self.clock.now_ms()
        result = CancelResult()
        for account in self.accounts_of(creds):
            result.canceled.extend(self.engine.cancel_all(account, now_ms=now_ms))
        self.venue.flush()
        return result

    def cancel_market(self, creds: Credentials, market: str, asset_id: str) -> CancelResult:
        now_ms = self.clock.now_ms()
        result = CancelResult()
        for account in self.accounts_of(creds):
            result.canceled.extend(
                self.engine.cancel_market(account, market or None, asset_id or None, now_ms=now_ms)
            )
        self.venue.flush()
        return result

    # Trades and settlement.

    def _on_events(self, events: list[VenueEvent]) -> None:
        for event in events:
            if not isinstance(event, TradeExecuted):
                continue
            fails = self.faults.trade_fails(event.trade_id) and self._void(event)
            record = TradeRecord(event, "MATCHED", event.ts_ms, "", fails)
            self.trades[event.trade_id] = record
            for account in record.accounts:
                self.account_trades.setdefault(account, []).append(event.trade_id)
            self.last_trade[event.token_id] = (event.price, event.side)
            crossed = [leg for leg in event.maker_legs if leg.match_kind != "complementary"]
            if crossed:
                # A mint or merge is also a trade on the other outcome, at the maker's price.
                other = self.venue.specs[event.condition_id].other_token(event.token_id)
                self.last_trade[other] = (crossed[-1].price, crossed[-1].side)
            steps: tuple[TradeStatus, TradeStatus] = (
                ("RETRYING", "FAILED") if fails else ("MINED", "CONFIRMED")
            )
            now = trio.current_time()
            for index, status in enumerate(steps, start=1):
                due = now + index * self.settle_step_s
                heapq.heappush(self._settlements, (due, next(self._ids), event.trade_id, status))
            self._settle_wakeup.set()

    def _void(self, trade: TradeExecuted) -> bool:
        """Undo a trade the fault fails, at once, before its proceeds can move.

        Voiding at MATCHED time (not when FAILED is published) is what makes the fault
        faithful: later orders cannot spend what the trade gave, so the reversal always
        applies, and a client that reverses the fill on FAILED agrees with the venue.
        A trade that cannot be voided (its proceeds already moved within the same batch
        of events) is not failed.
        """
        try:
            self.engine.void_trade(trade.trade_id, trade.ts_ms)
        except VoidError:
            return False
        return True

    def trades_of(self, creds: Credentials) -> list[tuple[TradeRecord, str]]:
        """(trade, the caller's account in it), oldest first; one row per trade."""
        rows: list[tuple[TradeRecord, str]] = []
        seen: set[str] = set()
        for account in self.accounts_of(creds):
            for trade_id in self.account_trades.get(account, ()):
                if trade_id not in seen:
                    seen.add(trade_id)
                    rows.append((self.trades[trade_id], account))
        rows.sort(key=lambda row: (row[0].trade.ts_ms, row[0].trade.trade_id))
        return rows

    async def _settle(self) -> None:
        """Move trades through their statuses on time, publishing each on the user channel."""
        while True:
            if not self._settlements:
                self._settle_wakeup = trio.Event()
                await self._settle_wakeup.wait()
                continue
            due, _, trade_id, status = self._settlements[0]
            if trio.current_time() < due:
                with trio.move_on_at(due):
                    self._settle_wakeup = trio.Event()
                    await self._settle_wakeup.wait()
                continue
            heapq.heappop(self._settlements)
            record = self.trades[trade_id]
            record.status = status
            record.updated_ms = self.clock.now_ms()
            if status == "MINED":
                record.transaction_hash = fake_transaction_hash(trade_id)
            self.venue.publish_trade_status(
                record.trade, status, record.updated_ms, record.transaction_hash
            )

    # Heartbeats (dead-man switch).

    def heartbeat(self, creds: Credentials, heartbeat_id: str | None) -> str:
        """Record a heartbeat; returns the id to send next, or HeartbeatMismatch.

        The first heartbeat starts the session (whatever id it carries: "" or null from
        the clients, or a stale id after the switch fired). From then on each must carry
        the id the previous reply gave.
        """
        now = trio.current_time()
        session = self.heartbeats.get(creds.key)
        if session is not None and heartbeat_id != session.heartbeat_id:
            raise HeartbeatMismatch(session.heartbeat_id)
        digest = hashlib.sha256(f"{self.seed}|heartbeat|{next(self._ids)}".encode()).digest()
        new_id = str(uuid.UUID(bytes=digest[:16], version=4))
        self.heartbeats[creds.key] = HeartbeatSession(new_id, now)
        return new_id

    async def _watch_heartbeats(self) -> None:
        """Cancel every order of a key whose heartbeats stopped (checked every 0.25 s)."""
        while True:
            await trio.sleep(min(0.25, self.heartbeat_timeout_s / 4))
            now = trio.current_time()
            for key, session in list(self.heartbeats.items()):
                if now - session.last_s <= self.heartbeat_timeout_s:
                    continue
                del self.heartbeats[key]
                creds = self.keys.get(key)
                if creds is not None:
                    self.cancel_all(creds)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Settlement and the heartbeat watchdog; runs until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._settle)
            nursery.start_soon(self._watch_heartbeats)
            task_status.started()

    # The end-of-run ledger.

    def ledger(self) -> dict[str, Any]:
        """Every account's balances, positions, open orders and trades (ids, statuses).

        Money is integer micro units. Accounts appear by address; no key or secret is
        included.
        """
        from engine.venue.server.payloads import ledger_order, ledger_trade

        accounts: list[dict[str, Any]] = []
        for account in sorted(self.engine.accounts()):
            balance = self.engine.balance(account)
            identity = self.identity_of(account)
            accounts.append(
                {
                    "account": identity.address,
                    "kind": "api" if account in self.funded else "scenario",
                    "funded": self.funded.get(account, 0),
                    "collateral": {
                        "free": balance.collateral_free,
                        "reserved": balance.collateral_reserved,
                        "total": balance.collateral_total,
                    },
                    "rebates": {
                        "accrued": balance.rebates_accrued,
                        "paid": balance.rebates_paid,
                    },
                    "positions": {
                        token: {"free": pos.free, "reserved": pos.reserved, "total": pos.total}
                        for token, pos in sorted(balance.positions.items())
                    },
                    "open_orders": [ledger_order(o) for o in self.engine.open_orders(account)],
                    "trades": [
                        ledger_trade(self.trades[t], account, self.identity_of)
                        for t in self.account_trades.get(account, ())
                    ],
                }
            )
        return {
            "seed": self.seed,
            "now_ms": self.clock.now_ms(),
            "fees_collected": self.engine.fees_collected,
            "rebates_accrued": self.engine.rebates_accrued(),
            "total_deposited": self.engine.total_deposited,
            "accounts": accounts,
        }
