"""A service given one node's URL restarts while that node is down: its new connection reaches
the cluster through the servers the first connection learned (bus.nats_servers)."""

import asyncio

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
