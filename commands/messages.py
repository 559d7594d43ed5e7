"""The commands a bot, an operator or the deposit watcher can send: the wire schema of `qd.cmd.*`.

Every command is a frozen, kw-only, tagged `msgspec.Struct`; `Command` is the one tagged union
of the commands stream, so a typed decoder rejects anything else (unknown tag, unknown field,
wrong type). The tag is the class name (`{"type": "PlaceOrder", ...}`).

Schema rules (never break them): new fields get defaults; existing fields never change type;
integers that may exceed 64 bits travel as decimal strings. Money and sizes are integers in
fixed point: price and quote 1e6, base size 1e9, margin ratios and fees in basis points (1e4).
Times are int nanoseconds since the Unix epoch (they are compared with the commands stream's
server timestamp, never with a clock of ours).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import msgspec
from msgspec import Meta, Struct

# Short ASCII identifiers keep the canonical signed bytes unambiguous across JSON encoders.
Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
# A Solana public key, base58 (32 bytes encode to 32..44 characters).
PublicKey = Annotated[str, Meta(min_length=32, max_length=44, pattern=r"^[1-9A-HJ-NP-Za-km-z]+$")]
MarketSymbol = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9\-]+$")]
AssetSymbol = Annotated[str, Meta(min_length=1, max_length=16, pattern=r"^[A-Z0-9]+$")]
PositiveInt = Annotated[int, Meta(gt=0, le=2**63 - 1)]
NonNegativeInt = Annotated[int, Meta(ge=0, le=2**63 - 1)]
BasisPoints = Annotated[int, Meta(ge=-10_000, le=10_000)]
Nanoseconds = Annotated[int, Meta(ge=0, le=2**63 - 1)]
SubAccountNumber = Annotated[int, Meta(ge=0, le=65_535)]

Side = Literal["buy", "sell"]
OrderType = Literal[
    "limit", "market", "stop_market", "stop_limit", "take_profit_market", "take_profit_limit",
    "trailing_stop",
]
TimeInForce = Literal["gtc", "gtt", "ioc", "fok"]
PostOnly = Literal["off", "reject", "slide"]
SelfTradePrevention = Literal["cancel_resting", "cancel_taker"]
MarketStatus = Literal["active", "reduce_only", "paused"]


class _Command(Struct, frozen=True, kw_only=True, tag=True, forbid_unknown_fields=True):
    """Base of every command: tagged by class name, unknown fields refused."""


# --- accounts -------------------------------------------------------------------------------
class OpenAccount(_Command):
    """Open the envelope's (owner, sub_account)."""


class AddDelegate(_Command):
    """Allow `delegate` to trade (never withdraw) for the envelope's account."""

    delegate: PublicKey


class RemoveDelegate(_Command):
    """Revoke a delegate key."""

    delegate: PublicKey


class Deposit(_Command):
    """Credit collateral that arrived on chain (signed by the deposit watcher or admin key)."""

    asset: AssetSymbol
    amount: PositiveInt
    chain_tx: Annotated[str, Meta(max_length=128)] = ""


class RequestWithdrawal(_Command):
    """Ask to withdraw free collateral to the owner's wallet (owner only, never a delegate)."""

    asset: AssetSymbol
    amount: PositiveInt


class Transfer(_Command):
    """Move collateral between two sub-accounts of the same owner."""

    asset: AssetSymbol
    amount: PositiveInt
    to_sub_account: SubAccountNumber


# --- trading --------------------------------------------------------------------------------
class PlaceOrder(_Command):
    """Place an order; for market types `price` is the protective worst price."""

    market: MarketSymbol
    client_order_id: Identifier
    side: Side
    size: PositiveInt
    order_type: OrderType = "limit"
    price: PositiveInt | None = None
    time_in_force: TimeInForce = "gtc"
    post_only: PostOnly = "off"
    reduce_only: bool = False
    expires_at: Nanoseconds | None = None  # for GTT
    trigger_price: PositiveInt | None = None  # stop / take-profit
    trailing_amount: PositiveInt | None = None  # trailing stop, price units
    trailing_bps: Annotated[int, Meta(gt=0, le=10_000)] | None = None
    self_trade_prevention: SelfTradePrevention = "cancel_taker"


class CancelOrder(_Command):
    """Cancel one resting or triggered order by client order id (or exchange order id)."""

    market: MarketSymbol
    client_order_id: Identifier | None = None
    order_id: PositiveInt | None = None  # the seq of the command that placed it


class CancelAll(_Command):
    """Cancel every order of the account, in one market or in all of them."""

    market: MarketSymbol | None = None


class ModifyOrder(_Command):
    """Cancel-replace an order; it keeps priority only when size shrinks at the same price."""

    market: MarketSymbol
    new_price: PositiveInt
    new_size: PositiveInt
    client_order_id: Identifier | None = None
    order_id: PositiveInt | None = None


class SetDeadManSwitch(_Command):
    """Cancel all of the account's orders at `cancel_at` unless renewed; 0 disarms it."""

    cancel_at: Nanoseconds


# --- admin (need the admin key) -------------------------------------------------------------
class CreateMarket(_Command):
    """Create a perpetual market."""

    market: MarketSymbol
    base_asset: AssetSymbol
    tick_size: PositiveInt
    lot_size: PositiveInt
    min_size: PositiveInt
    max_leverage: Annotated[int, Meta(ge=1, le=100)]
    initial_margin_bps: Annotated[int, Meta(gt=0, le=10_000)]
    maintenance_margin_bps: Annotated[int, Meta(gt=0, le=10_000)]
    maker_fee_bps: BasisPoints = 0
    taker_fee_bps: BasisPoints = 0


class ChangeMarket(_Command):
    """Change some parameters of a market (fields left None are unchanged)."""

    market: MarketSymbol
    tick_size: PositiveInt | None = None
    lot_size: PositiveInt | None = None
    min_size: PositiveInt | None = None
    max_leverage: Annotated[int, Meta(ge=1, le=100)] | None = None
    initial_margin_bps: Annotated[int, Meta(gt=0, le=10_000)] | None = None
    maintenance_margin_bps: Annotated[int, Meta(gt=0, le=10_000)] | None = None
    maker_fee_bps: BasisPoints | None = None
    taker_fee_bps: BasisPoints | None = None


class SetMarketStatus(_Command):
    """Pause a market, make it reduce-only, or reactivate it."""

    market: MarketSymbol
    status: MarketStatus


class SetOraclePrice(_Command):
    """Set an oracle price (asset symbol), Pyth-shaped: value = price x 10^exponent (default
    exponent -6, i.e. 1e6 fixed point), confidence in the same units, publish time in ns (default:
    the command's time). Admin (the price feed signs it with the operator key)."""

    symbol: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9\-]+$")]
    price: PositiveInt
    confidence: NonNegativeInt = 0
    exponent: Annotated[int, Meta(ge=-18, le=6)] = -6
    publish_time: Nanoseconds | None = None


class Liquidate(_Command):
    """Liquidate `owner`/`sub_account` (below maintenance margin): the signing account (envelope
    owner/sub-account) is the liquidator and takes the positions over at the oracle price. Any
    account may send it."""

    owner: PublicKey
    sub_account: SubAccountNumber = 0
    market: MarketSymbol | None = None


class SettleFunding(_Command):
    """Settle hourly funding at the command's time: one market, or every market that is due.
    Admin (the keeper sends it each hour)."""

    market: MarketSymbol | None = None


class RunRiskSweep(_Command):
    """The keeper's sweep at the command's time: oracle validity, circuit breakers, trigger orders;
    with `liquidate`, liquidations too, the signing account (envelope owner/sub-account) being the
    liquidator. Admin."""

    liquidate: bool = False


LogHash = Annotated[str, Meta(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]
ChainTx = Annotated[str, Meta(max_length=128)]


class ProposeSettlementBatch(_Command):
    """The settler is about to send on-chain batch `sequence` (= last settled + 1), netting the
    log positions first..last, committing to the audit-chain `log_hash` at `last_position`.
    Settler or admin key."""

    sequence: PositiveInt
    first_position: PositiveInt
    last_position: PositiveInt
    log_hash: LogHash
    previous_hash: LogHash
    withdrawal_ids: Annotated[list[NonNegativeInt], Meta(max_length=128)] = []


class RecordSettlementBatch(_Command):
    """The program accepted the proposed batch `sequence` in transaction `chain_tx`. Settler or admin key."""

    sequence: PositiveInt
    log_hash: LogHash
    chain_tx: ChainTx = ""


class CompleteWithdrawal(_Command):
    """A pending withdrawal of the envelope's owner was paid out on chain. Settler or admin key."""

    withdrawal_id: NonNegativeInt
    chain_tx: ChainTx = ""


class RefundWithdrawal(_Command):
    """A pending withdrawal of the envelope's owner cannot be paid: credit it back. Settler or admin key."""

    withdrawal_id: NonNegativeInt
    reason: Annotated[str, Meta(min_length=1, max_length=128)]


Command = Union[
    OpenAccount, AddDelegate, RemoveDelegate, Deposit, RequestWithdrawal, Transfer,
    PlaceOrder, CancelOrder, CancelAll, ModifyOrder, SetDeadManSwitch,
    CreateMarket, ChangeMarket, SetMarketStatus, SetOraclePrice, Liquidate,
    SettleFunding, RunRiskSweep,
    ProposeSettlementBatch, RecordSettlementBatch, CompleteWithdrawal, RefundWithdrawal,
]

ADMIN_COMMANDS: frozenset[type] = frozenset(
    {CreateMarket, ChangeMarket, SetMarketStatus, SetOraclePrice, SettleFunding, RunRiskSweep}
)
# Commands a registered delegate may not send, even though it may trade.
OWNER_ONLY_COMMANDS: frozenset[type] = frozenset(
    {AddDelegate, RemoveDelegate, RequestWithdrawal, Transfer, OpenAccount}
)
# Commands signed by the deposit watcher (or the admin key), never by the account.
WATCHER_COMMANDS: frozenset[type] = frozenset({Deposit})
# Commands signed by the on-chain settler (or the admin key), never by the account.
SETTLER_COMMANDS: frozenset[type] = frozenset(
    {ProposeSettlementBatch, RecordSettlementBatch, CompleteWithdrawal, RefundWithdrawal}
)


def command_kind(command: msgspec.Struct) -> str:
    """The command's tag, e.g. `PlaceOrder` (also the last token of its subject)."""
    return type(command).__name__
