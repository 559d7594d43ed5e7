"""Reason codes for commands refused before the domain sees them (the domain adds its own).

A rejection is an outcome, not an error: the engine records it in the command's receipt (when the
command could be identified), replies with it, counts it, logs it, and goes on.
"""

from enum import StrEnum


class Rejection(StrEnum):
    OVERSIZED = "Oversized"  # more than MAX_ENVELOPE_BYTES
    MALFORMED = "Malformed"  # not JSON at all
    INVALID_SCHEMA = "InvalidSchema"  # unknown/missing field, wrong type, unknown command
    UNSIGNED = "Unsigned"  # no signer or no signature
    BAD_SIGNATURE = "BadSignature"  # does not verify over the canonical bytes
    EXPIRED = "Expired"  # expires_at earlier than the stream timestamp
    MISSING_EXPIRY_OR_NONCE = "MissingExpiryOrNonce"
    NOT_AUTHORIZED = "NotAuthorized"  # signer is not the owner / a delegate / the operator key
    DELEGATE_NOT_ALLOWED = "DelegateNotAllowed"  # delegates may trade, never withdraw or manage
    UNKNOWN_ACCOUNT = "UnknownAccount"
    UNKNOWN_MARKET = "UnknownMarket"
    NOT_SUPPORTED = "NotSupported"  # a command the domain cannot run yet
    INTERNAL_ERROR = "InternalError"  # the domain raised something unexpected; state unchanged
    RATE_LIMITED = "RateLimited"  # the account sent more commands than its rate allows (bus.engine_throttle)


class CommandRefused(Exception):
    """Raised by authorization and handlers to refuse a command with a reason code."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else str(reason))
        self.reason = str(reason)
        self.message = message
