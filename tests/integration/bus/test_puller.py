"""The lean pull (bus.puller) never hands out a message after a delivery that went astray: it
hands out what came before, then says so, instead of waiting out the consumer's ack wait and
acknowledging the lost ones with a later cumulative ack."""

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from bus.puller import DeliveryLost, Puller
from tests.integration.bus.lost_deliveries import deliveries_astray


@pytest.fixture
async def stream(nats_url, unique_id):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    name = f"PULL_{unique_id}"
    await js.add_stream(name=name, subjects=[f"pull.{unique_id}.>"])
    for number in range(1, 21):
        await js.publish(f"pull.{unique_id}.{number % 3}", str(number).encode())
    await js.add_consumer(name, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.ALL, ack_wait=30))
    yield nc, name
    await js.delete_stream(name)
    await nc.close()


async def test_a_gap_in_deliveries_ends_the_pull_after_what_came_before_it(stream):
    nc, name = stream
    puller = Puller(nc, name, "reader")
    await puller.start()
    # Given a puller that took the first five messages
    first = await puller.fetch(5, timeout=1)
    assert [int(m.data) for m in first] == [1, 2, 3, 4, 5]
    # (its prefetch of the next five is on its way; let it land)
    await nc.flush()
    # When three deliveries go astray
    async with deliveries_astray(nc, name, "reader", 3) as messages:
        pass
    astray = [int(m.data) for m in messages]
    assert len(astray) == 3
    # Then it hands out what it received before the gap, and then raises
    received = []
    with pytest.raises(DeliveryLost):
        for _ in range(10):
            received += [int(m.data) for m in await puller.fetch(5, timeout=1)]
    assert received == list(range(6, astray[0])), (received, astray)
    await puller.stop()


async def test_redeliveries_are_numbered_on_so_they_are_no_gap(stream):
    nc, name = stream
    js = nc.jetstream()
    await js.delete_consumer(name, "reader")
    await js.add_consumer(name, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.ALL, ack_wait=0.5))
    puller = Puller(nc, name, "reader")
    await puller.start()
    # Given messages taken and never acknowledged
    taken = await puller.fetch(3, timeout=1)
    # When the ack wait passes, they come again (with new consumer sequences): no gap
    again = []
    for _ in range(10):
        again += [int(m.data) for m in await puller.fetch(20, timeout=1)]
        if again.count(1) == 2:
            break
    assert again.count(1) == 2 and [int(m.data) for m in taken] == [1, 2, 3]
    assert not puller.lost
    await puller.stop()


async def test_deliveries_lost_at_the_end_show_when_the_consumer_is_asked(stream, unique_id):
    nc, name = stream
    js = nc.jetstream()
    puller = Puller(nc, name, "reader")
    await puller.start()
    # Given a puller that took everything there was
    received = []
    while len(received) < 20:
        received += await puller.fetch(20, timeout=1)
    assert await puller.fetch(20, timeout=0.2) == []
    info = await js.consumer_info(name, "reader")
    assert not puller.missed(info.delivered.consumer_seq)
    # When the last deliveries go astray, with nothing after them
    async with deliveries_astray(nc, name, "reader", 3) as astray:
        for number in range(21, 24):
            await js.publish(f"pull.{unique_id}.0", str(number).encode())
    assert len(astray) == 3
    # Then the puller sees no gap, but the consumer's count says so
    assert await puller.fetch(20, timeout=0.2) == []
    info = await js.consumer_info(name, "reader")
    assert puller.missed(info.delivered.consumer_seq)
    await puller.stop()
