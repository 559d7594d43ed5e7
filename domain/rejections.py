"""The single list of rejection reason codes, and the domain error that carries one.

The engine maps `RejectReason` values (strings, stable on the wire) to reply codes. A use case
that refuses a command raises `Rejected`; when the command concerns an existing account it first
records a `CommandRejected` event on that account, so every outcome is in the log.
"""

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a command was refused. Values never change once published."""

    INSUFFICIENT_MARGIN = "InsufficientMargin"
    INSUFFICIENT_COLLATERAL = "InsufficientCollateral"
    LEVERAGE_TOO_HIGH = "LeverageTooHigh"
    POST_ONLY_WOULD_CROSS = "PostOnlyWouldCross"
    REDUCE_ONLY_WOULD_INCREASE = "ReduceOnlyWouldIncrease"
    FOK_NOT_FILLED = "FokNotFilled"
    MARKET_PAUSED = "MarketPaused"
    MARKET_REDUCE_ONLY = "MarketReduceOnly"
    UNKNOWN_ORDER = "UnknownOrder"
    DUPLICATE_CLIENT_ORDER_ID = "DuplicateClientOrderId"
    DUPLICATE_ORDER_ID = "DuplicateOrderId"
    UNKNOWN_MARKET = "UnknownMarket"
    MARKET_EXISTS = "MarketExists"
    UNKNOWN_ACCOUNT = "UnknownAccount"
    ACCOUNT_EXISTS = "AccountExists"
    UNKNOWN_SUB_ACCOUNT = "UnknownSubAccount"
    NOT_AUTHORIZED = "NotAuthorized"
    DELEGATE_CANNOT_WITHDRAW = "DelegateCannotWithdraw"
    INVALID_PRICE = "InvalidPrice"
    INVALID_SIZE = "InvalidSize"
    INVALID_AMOUNT = "InvalidAmount"
    INVALID_ORDER = "InvalidOrder"
    INVALID_OWNER = "InvalidOwner"
    INVALID_MARKET_PARAMS = "InvalidMarketParams"
    UNKNOWN_ASSET = "UnknownAsset"
    NO_PRICE = "NoPrice"
    MISSING_EXPIRY = "MissingExpiry"
    ALREADY_EXPIRED = "AlreadyExpired"
    SAME_SUB_ACCOUNT = "SameSubAccount"
    ORDER_SIZE_CAPPED_TO_ZERO = "OrderSizeCappedToZero"
    UNKNOWN_WITHDRAWAL = "UnknownWithdrawal"
    TOO_MANY_OPEN_ORDERS = "TooManyOpenOrders"
    ORACLE_PRICE_INVALID = "OraclePriceInvalid"
    NOT_LIQUIDATABLE = "NotLiquidatable"
    FUNDING_ALREADY_SETTLED = "FundingAlreadySettled"
    INVALID_LIQUIDATOR = "InvalidLiquidator"
    ALREADY_SETTLED = "AlreadySettled"
    INVALID_SETTLEMENT_BATCH = "InvalidSettlementBatch"


class DomainError(Exception):
    """Base of the domain's errors."""


class Rejected(DomainError):
    """A command refused with a reason code; the state is unchanged apart from the rejection
    event (if the command named an existing account)."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
