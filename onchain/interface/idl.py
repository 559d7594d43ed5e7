"""Render the Anchor IDL (the pre-0.30 JSON format anchorpy 0.21 reads) from ``spec``."""

import json

from onchain.interface import spec
from onchain.interface.naming import camel


def _type(type_):
    if isinstance(type_, str):
        return type_ if type_ in ("u8", "u16", "u32", "u64", "i64", spec.PUBKEY) else {"defined": type_}
    if type_[0] == "array":
        return {"array": [_type(type_[1]), type_[2]]}
    return {"vec": _type(type_[1])}


def _fields(fields):
    return [{"name": camel(name), "type": _type(type_)} for name, type_ in fields]


def build_idl(program_id: str) -> dict:
    """The IDL as a dict; ``program_id`` goes into metadata.address."""
    return {
        "version": "0.1.0",
        "name": "quantdesk",
        "instructions": [
            {"name": camel(ix.name), "docs": [ix.doc],
             "accounts": [{"name": camel(a.name), "isMut": a.writable, "isSigner": a.signer} for a in ix.accounts],
             "args": _fields(ix.args)}
            for ix in spec.INSTRUCTIONS
        ],
        "accounts": [{"name": s.name, "type": {"kind": "struct", "fields": _fields(s.fields)}} for s in spec.ACCOUNTS],
        "types": [{"name": s.name, "type": {"kind": "struct", "fields": _fields(s.fields)}} for s in spec.TYPES],
        "events": [{"name": s.name, "fields": [dict(f, index=False) for f in _fields(s.fields)]} for s in spec.EVENTS],
        "errors": [{"code": spec.ERROR_BASE + i, "name": name, "msg": msg} for i, (name, msg) in enumerate(spec.ERRORS)],
        "metadata": {"address": program_id},
    }


def render_idl(program_id: str) -> str:
    """The IDL as the committed JSON text."""
    return json.dumps(build_idl(program_id), indent=2) + "\n"
