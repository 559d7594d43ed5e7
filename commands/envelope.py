"""The signed envelope every command travels in, its canonical bytes, signing and verification.

Wire form: one JSON object (UTF-8, at most `MAX_ENVELOPE_BYTES`), decoded strictly into
`Envelope` (unknown fields and wrong types are refused).

Canonical signed bytes (what the ed25519 signature covers), version 1:

    SIGNING_DOMAIN  ||  msgspec.json.encode(UnsignedEnvelope(...))

- `SIGNING_DOMAIN` is the 17 ASCII bytes `QUANTDESK/cmd/v1` followed by one 0x00 byte, so a
  signature over a command can never be replayed as a Solana transaction or any other message.
- The JSON is compact (no whitespace), with the keys of `UnsignedEnvelope` in declaration order
  (`command_id, owner, sub_account, command, expires_at, nonce, signer`), every field present
  (absent optionals as `null`), the command object starting with its tag `"type"` and then its
  fields in their declaration order, again every field present. Integers are plain JSON integers.
  All strings are restricted to ASCII by the schema, so no escaping choices arise.
- `reply_to` (where the receipt goes) is transport, outside the signature.
- Signature and keys: base58 strings (Solana's encoding): `signer` is the 32-byte ed25519 public
  key, `signature` the 64-byte signature.

So a client re-encodes exactly what it sends; the engine re-encodes what it decoded and checks the
signature over that (a message whose fields changed in transit no longer verifies).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from commands.messages import Command, Identifier, Nanoseconds, NonNegativeInt, SubAccountNumber

SIGNING_DOMAIN = b"QUANTDESK/cmd/v1\x00"
MAX_ENVELOPE_BYTES = 8 * 1024

PublicKeyText = Annotated[str, Meta(max_length=44, pattern=r"^[1-9A-HJ-NP-Za-km-z]*$")]
SignatureText = Annotated[str, Meta(max_length=90, pattern=r"^[1-9A-HJ-NP-Za-km-z]*$")]
ReplySubject = Annotated[str, Meta(max_length=200, pattern=r"^([A-Za-z0-9_\-$]+(\.[A-Za-z0-9_\-$]+)*)?$")]


class UnsignedEnvelope(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the signature covers."""

    command_id: Identifier  # chosen by the client, unique per owner forever
    owner: PublicKeyText  # the account owner's public key
    sub_account: SubAccountNumber = 0
    command: Command
    expires_at: Nanoseconds | None = None  # rejected if the stream timestamp is later
    nonce: NonNegativeInt | None = None
    signer: PublicKeyText = ""  # the owner, a delegate, or an operator key


class Envelope(UnsignedEnvelope, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An `UnsignedEnvelope` plus the ed25519 signature over its canonical bytes."""

    signature: SignatureText = ""
    # Transport only, NOT signed: where the engine sends the receipt (a reply carries no power).
    reply_to: ReplySubject = ""

    def unsigned(self) -> UnsignedEnvelope:
        """The envelope without its signature."""
        return UnsignedEnvelope(
            command_id=self.command_id, owner=self.owner, sub_account=self.sub_account,
            command=self.command, expires_at=self.expires_at, nonce=self.nonce,
            signer=self.signer,
        )


_json_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)


def canonical_bytes(envelope: UnsignedEnvelope | Envelope) -> bytes:
    """The bytes a signature covers (see the module docstring)."""
    if isinstance(envelope, Envelope):
        envelope = envelope.unsigned()
    return SIGNING_DOMAIN + _json_encoder.encode(envelope)


def sign(envelope: UnsignedEnvelope, keypair: Keypair, reply_to: str = "") -> Envelope:
    """Sign an envelope with `keypair` (which becomes its signer)."""
    envelope = msgspec.structs.replace(envelope, signer=str(keypair.pubkey()))
    signature = keypair.sign_message(canonical_bytes(envelope))
    return Envelope(
        **msgspec.structs.asdict(envelope), signature=str(signature), reply_to=reply_to
    )


def encode(envelope: Envelope) -> bytes:
    """The envelope's wire bytes (JSON)."""
    return _json_encoder.encode(envelope)


def decode(data: bytes) -> Envelope:
    """Decode wire bytes strictly; raises msgspec.DecodeError / ValidationError."""
    return _envelope_decoder.decode(data)


def signature_is_valid(envelope: Envelope) -> bool:
    """True if `signature` is the signer's ed25519 signature over the canonical bytes."""
    try:
        signer = _pubkey(envelope.signer)
        signature = Signature.from_string(envelope.signature)
    except ValueError:
        return False
    return signature.verify(signer, canonical_bytes(envelope))


_pubkeys: dict[str, Pubkey] = {}


def _pubkey(text: str) -> Pubkey:
    """Parse a base58 key, remembering the few thousand keys we see (parsing shows in profiles)."""
    key = _pubkeys.get(text)
    if key is None:
        key = Pubkey.from_string(text)
        if len(_pubkeys) > 100_000:
            _pubkeys.clear()
        _pubkeys[text] = key
    return key
