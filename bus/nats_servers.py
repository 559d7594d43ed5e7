"""How our processes connect to NATS: one URL, or a cluster's nodes comma-separated, plus every
server that cluster has announced to this process since.

A connection learns the cluster's other nodes from the server it reaches (INFO `connect_urls`)
and fails over to them by itself. A *new* connection knows only the URLs it is given, so a
service that restarts (the engine starts again from the store after a gap in the commands
stream, the settler after any failure) would otherwise wait for the very node whose loss made it
restart. Every connection made here therefore records the servers it knows, when it opens and
whenever the cluster announces a node that joined later, and the next one from this process to
the same configured URLs tries them too.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client

# configured URLs -> every server a connection to them has known (configured ones first)
_known: dict[tuple[str, ...], list[str]] = {}


def configured(urls: str) -> tuple[str, ...]:
    """The URLs of a comma-separated setting (nats-py would take "a,b" for one host)."""
    return tuple(url.strip() for url in urls.split(",") if url.strip())


def known_servers(urls: str) -> list[str]:
    """The configured URLs, then every server their cluster has announced to this process."""
    seeds = configured(urls)
    return list(_known.get(seeds, seeds))


async def connect(urls: str, name: str, **options) -> Client:
    """A connection that reconnects forever (unless `options` say otherwise), to any known
    server of the cluster at `urls`."""
    options.setdefault("max_reconnect_attempts", -1)
    connection: Client | None = None
    also_notify = options.pop("discovered_server_cb", None)

    async def discovered() -> None:  # a node joined the cluster since we connected
        if connection is not None:
            remember(urls, connection)
        if also_notify is not None:
            await also_notify()
    connection = await nats.connect(servers=known_servers(urls), name=name, discovered_server_cb=discovered,
                                    **options)
    remember(urls, connection)
    return connection


def remember(urls: str, connection: Client) -> None:
    """Record the servers `connection` knows now (its own and those its cluster announced)."""
    seeds = configured(urls)
    servers = _known.setdefault(seeds, list(seeds))
    for uri in connection.servers:
        url = uri.geturl()
        if url not in servers:
            servers.append(url)
