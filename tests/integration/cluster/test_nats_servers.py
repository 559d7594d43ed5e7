"""A service given one node's URL restarts while that node is down: its new connection reaches
the cluster through the servers the first connection learned (bus.nats_servers)."""

import asyncio

import nats
import pytest

from bus import nats_servers

pytestmark = pytest.mark.slow


async def test_a_new_connection_reaches_the_nodes_the_cluster_announced(nats_cluster):
    node0 = nats_cluster.urls[0]
    first = await nats_servers.connect(node0, "qd-test")
    assert set(nats_cluster.urls) <= set(nats_servers.known_servers(node0))
    nats_cluster.nodes[0].kill()

    # What the engine does after a gap: drop the connection, start again with a new one
    await first.close()
    second = await asyncio.wait_for(nats_servers.connect(node0, "qd-test"), 10)
    try:
        assert second.connected_url.geturl() in nats_cluster.urls[1:]
        await second.flush(timeout=5)
    finally:
        await second.close()


async def test_a_comma_separated_setting_is_every_node_of_the_cluster(nats_cluster):
    connection = await nats_servers.connect(f" {nats_cluster.urls[2]}, {nats_cluster.urls[1]} ", "qd-test")
    try:
        assert connection.connected_url.geturl() in nats_cluster.urls[1:]
        assert nats_servers.configured(nats_cluster.url) == tuple(nats_cluster.urls)
    finally:
        await connection.close()


async def test_a_node_that_joins_after_the_connection_opened_is_known_to_the_next_one(nats_cluster):
    node0, node2 = nats_cluster.urls[0], nats_cluster.urls[2]
    nats_cluster.nodes[2].kill()
    await until_announced_by(node0, lambda urls: node2 not in urls)
    connection = await nats_servers.connect(node0, "qd-test")
    try:
        assert node2 not in nats_servers.known_servers(node0)
        # When the node comes (back) into the cluster while the connection is open
        await asyncio.to_thread(nats_cluster.restart, 2)
        # Then the cluster's announcement of it is remembered for the next connection
        for _ in range(100):
            if node2 in nats_servers.known_servers(node0):
                break
            await asyncio.sleep(0.1)
        assert node2 in nats_servers.known_servers(node0)
    finally:
        await connection.close()


async def until_announced_by(url: str, condition, timeout: float = 15.0) -> None:
    """Until a plain connection to `url` learns a server list satisfying `condition`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        probe = await nats.connect(url)
        urls = [uri.geturl() for uri in probe.servers]
        await probe.close()
        if condition(urls) or asyncio.get_running_loop().time() > deadline:
            assert condition(urls), urls
            return
        await asyncio.sleep(0.2)
