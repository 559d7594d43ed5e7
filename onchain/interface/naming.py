"""Name conversions and discriminators shared by the IDL and C header generators."""

import hashlib


def camel(name: str) -> str:
    """snake_case -> camelCase (Anchor IDL spelling of instructions and fields)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def discriminator(namespace: str, name: str) -> bytes:
    """Anchor's 8-byte discriminator: sha256("<namespace>:<name>")[:8]."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def instruction_discriminator(snake_name: str) -> bytes:
    return discriminator("global", snake_name)


def account_discriminator(struct_name: str) -> bytes:
    return discriminator("account", struct_name)


def event_discriminator(struct_name: str) -> bytes:
    return discriminator("event", struct_name)
