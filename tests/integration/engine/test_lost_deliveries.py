"""Commands the engine's consumer delivered but the engine never received (as when a cluster
node dies with them in flight) are applied at once and once: the engine starts again from the
store instead of waiting out the consumer's ack wait."""

import asyncio

from bus import streams
from commands import messages as m
from tests.integration.bus.lost_deliveries import deliveries_astray
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, signed

COMMANDS = 200


async def test_commands_delivered_astray_are_answered_once_without_waiting_for_redelivery(
        nc, engine_nats_url, fresh_pg_dsn, admin):
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin, batch_size=10):
        operator = await Bot(nc, admin).start()
        assert (await operator.send(m.OpenAccount())).accepted
        # Given a burst of commands the engine takes ten at a time, when twenty of its
        # consumer's deliveries go elsewhere
        bots = [Bot(nc) for _ in range(COMMANDS)]
        async with deliveries_astray(nc, streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER, 20) as astray:
            waiting = [await operator.publish(signed(bot.keypair, m.OpenAccount())) for bot in bots]
        assert len(astray) == 20
        # Then every command is answered well inside the 10 s ack wait, accepted, once
        replies = await asyncio.gather(*(operator.wait(reply_to, timeout=8) for reply_to in waiting))
        assert all(reply.accepted and not reply.duplicate for reply in replies)
        assert len(operator.received) == 1 + COMMANDS



async def test_the_last_command_of_a_burst_delivered_astray_is_answered_without_waiting_for_redelivery(
        nc, engine_nats_url, fresh_pg_dsn, admin):
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin):
        operator = await Bot(nc, admin).start()
        assert (await operator.send(m.OpenAccount())).accepted
        await asyncio.sleep(0.2)  # idle, its pull request open
        # Given two commands, when the engine's open request takes the first and the second
        # goes elsewhere (JetStream serves waiting requests in turn), with nothing after it: no
        # gap in the delivery numbers for the engine to see
        first, second = Bot(nc), Bot(nc)
        async with deliveries_astray(nc, streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER, 1) as astray:
            waiting = [await operator.publish(signed(bot.keypair, m.OpenAccount())) for bot in (first, second)]
        assert len(astray) == 1
        # Then the idle engine asks its consumer and both are answered well inside the 10 s ack wait
        replies = await asyncio.gather(*(operator.wait(reply_to, timeout=6) for reply_to in waiting))
        assert all(reply.accepted and not reply.duplicate for reply in replies)
