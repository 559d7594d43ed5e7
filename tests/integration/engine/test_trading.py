"""A bot opens an account, deposits, trades against a second bot; each sees its fills."""

import uuid

from bus.event_store import ExchangeStore
from commands import messages as m
from domain.ids import account_aggregate_id
from tests.integration.engine.signing import Bot, signed, sol_perp_market, usdc


async def test_two_bots_trade_and_see_their_fills(nc, engine, operator, fresh_pg_dsn):
    # The operator creates a market and publishes the SOL price.
    created = await operator.send(sol_perp_market(), owner=operator.owner)
    assert created.accepted, created
    priced = await operator.send(m.SetOraclePrice(symbol="SOL", price=usdc(100)))
    assert priced.accepted, priced

    # Two bots open accounts; the deposit watcher (here the admin key) credits USDC.
    alice, bob = await Bot(nc).start(), await Bot(nc).start()
    for bot in (alice, bob):
        opened = await bot.send(m.OpenAccount())
        assert opened.accepted, opened
        deposited = await operator.send(
            m.Deposit(asset="USDC", amount=usdc(10_000), chain_tx="tx-" + bot.owner[:8]),
            owner=bot.owner,
        )
        assert deposited.accepted, deposited

    # Alice rests a sell; Bob's buy crosses it.
    ask = await alice.send(m.PlaceOrder(market="SOL-PERP", client_order_id="a1", side="sell",
                                        size=2_000_000_000, price=usdc(100)))
    assert ask.accepted, ask
    bid = await bob.send(m.PlaceOrder(market="SOL-PERP", client_order_id="b1", side="buy",
                                      size=2_000_000_000, price=usdc(101)))
    assert bid.accepted, bid
    assert bid.position > ask.position > 0  # consistency tokens grow with the log

    # Each sees its fill: opposite positions in the store.
    store = ExchangeStore(fresh_pg_dsn)
    try:
        alice_account = store.repository.get(account_aggregate_id(alice.owner))
        bob_account = store.repository.get(account_aggregate_id(bob.owner))
        alice_position = alice_account.sub(0).position("SOL-PERP")
        bob_position = bob_account.sub(0).position("SOL-PERP")
        assert bob_position.base == 2_000_000_000 and alice_position.base == -2_000_000_000
    finally:
        store.close()


async def test_a_repeated_command_id_answers_the_original_outcome(nc, engine, operator):
    alice = await Bot(nc).start()
    command_id = f"open-{uuid.uuid4().hex[:8]}"
    first = await alice.send(m.OpenAccount(), command_id=command_id)
    # Same id, published under a different Nats-Msg-Id so JetStream does not drop it.
    second_subject = await alice.publish(
        signed(alice.keypair, m.OpenAccount(), command_id=command_id), msg_id=uuid.uuid4().hex)
    second = await alice.wait(second_subject)
    assert first.accepted and second.accepted and second.duplicate
    assert second.notification_ids == first.notification_ids
