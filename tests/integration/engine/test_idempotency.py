"""The same command sent three times — within and beyond JetStream's duplicate window — has one
effect, and every answer is the original outcome."""

import asyncio
import dataclasses

import msgspec

from bus import streams, subjects
from bus.event_store import ExchangeStore
from commands import messages as m
from commands.receipts import Reply
from domain.ids import account_aggregate_id
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, signed, usdc


async def test_one_command_three_times_has_one_effect(nc, engine_nats_url, fresh_pg_dsn, admin):
    # The commands stream gets a 1-second duplicate window for this test.
    js = nc.jetstream()
    await js.delete_stream(streams.COMMANDS_STREAM)
    await streams.declare(js, (dataclasses.replace(streams.COMMANDS, duplicate_window=1.0),), ())

    async with running_engine(engine_nats_url, fresh_pg_dsn, admin, declare_streams=False):
        operator, alice = await Bot(nc, admin).start(), await Bot(nc).start()
        assert (await alice.send(m.OpenAccount())).accepted
        deposit = signed(admin, m.Deposit(asset="USDC", amount=usdc(500), chain_tx="tx-1"),
                         owner=alice.owner, command_id="deposit-tx-1")

        # 1. First delivery: applied.
        first = await operator.wait(await operator.publish(deposit))
        assert first.accepted and not first.duplicate

        # 2. Again within the window: JetStream itself drops it (the publish ack says so) and
        #    the outcome stays queryable by command id.
        ack = await js.publish(subjects.command_for_type("Deposit"), _bytes(deposit),
                               headers={"Nats-Msg-Id": f"{alice.owner}/deposit-tx-1"})
        assert ack.duplicate
        answer = await nc.request(subjects.RPC_RECEIPT, f"{alice.owner}/deposit-tx-1".encode(), 5)
        assert msgspec.json.decode(answer.data, type=Reply) == first

        # 3. Again beyond the window: the stream takes it, the engine refuses it forever and
        #    answers with the original outcome.
        # (the server purges expired ids on a timer: an id may live up to twice the window)
        await asyncio.sleep(2.1)
        third = await operator.wait(await operator.publish(deposit))
        assert third.duplicate and third.accepted
        assert third.notification_ids == first.notification_ids and third.seq == first.seq

    # One effect: the balance holds the deposit once.
    store = ExchangeStore(fresh_pg_dsn)
    try:
        account = store.repository.get(account_aggregate_id(alice.owner))
        assert account.sub(0).balance("USDC") == usdc(500)
    finally:
        store.close()


async def test_the_receipt_survives_an_engine_restart(nc, engine_nats_url, fresh_pg_dsn, admin):
    alice = await Bot(nc).start()
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin):
        first = await alice.send(m.OpenAccount(), command_id="open-1")
    # A new engine process knows nothing in memory: the store answers.
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin):
        again = await alice.wait(await alice.publish(
            signed(alice.keypair, m.OpenAccount(), command_id="open-1"), msg_id="other-id"))
    assert again.duplicate and again.notification_ids == first.notification_ids


def _bytes(envelope) -> bytes:
    from commands import envelope as envelopes

    return envelopes.encode(envelope)
