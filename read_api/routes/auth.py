"""Sign-In With Solana routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class NonceOut(BaseModel):
    wallet: str
    nonce: str
    message: str
    expires_at: int


class TokenIn(BaseModel):
    wallet: str = Field(min_length=32, max_length=44)
    nonce: str = Field(min_length=1, max_length=128)
    signature: str = Field(min_length=1, max_length=100, description="base58 ed25519 signature of `message`")


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: int


@router.get("/nonce", response_model=NonceOut)
async def nonce(request: Request, wallet: Annotated[str, Query(min_length=32, max_length=44)]):
    """A one-time message for the wallet to sign."""
    challenge = request.app.state.authenticator.challenge(wallet)
    return NonceOut(wallet=challenge.wallet, nonce=challenge.nonce, message=challenge.message,
                    expires_at=challenge.expires_at)


@router.post("/token", response_model=TokenOut)
async def token(request: Request, body: TokenIn):
    """Exchange the signed message for a short-lived bearer token."""
    issued, expires = await request.app.state.authenticator.sign_in(body.wallet, body.nonce, body.signature)
    return TokenOut(token=issued, expires_at=expires)
