"""A command on which the domain raises an unexpected error (a bug, not a rejection) is refused
with `InternalError`; whatever it half-did is thrown away, and the exchange goes on."""

import msgspec

from bus import engine_replies
from bus.engine import RPC_STATE
from bus.event_store import ExchangeStore
from commands import handlers
from commands import messages as m
from tests.integration.engine.signing import Bot


async def test_a_command_that_crashes_the_domain_is_refused_and_leaves_no_trace(
    nc, engine, operator, fresh_pg_dsn, monkeypatch
):
    alice = await Bot(nc).start()
    assert (await alice.send(m.OpenAccount())).accepted

    # A handler that records an event, then fails like a bug would.
    def half_done_then_crash(command, *, exchange, envelope, at, seq):
        exchange.set_dead_man_switch(at, seq, owner=envelope.owner, fires_at=at + 10**12,
                                     signer=envelope.signer)
        raise RuntimeError("a bug in the domain")

    monkeypatch.setitem(handlers.HANDLERS, m.SetDeadManSwitch, half_done_then_crash)
    crashed = await alice.send(m.SetDeadManSwitch(cancel_at=1))
    assert not crashed.accepted and crashed.reason == "InternalError"
    assert crashed.notification_ids == crashed.notification_ids[-1:]  # only its receipt
    monkeypatch.undo()

    # The exchange goes on, and its state is exactly the store's (no half-applied change).
    assert (await alice.send(m.OpenAccount(), sub_account=1)).accepted
    live = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=10)).data)
    store = ExchangeStore(fresh_pg_dsn)
    try:
        replayed, _ = engine_replies.load_exchange(store)
    finally:
        store.close()
    assert live["state_hash"] == replayed.state_hash()
    assert replayed.account(alice.owner).dead_man_fires_at is None


async def test_a_repeat_right_behind_a_crashing_command_is_still_answered_as_a_repeat(
    nc, engine, operator, monkeypatch
):
    from tests.integration.engine.signing import signed

    alice = await Bot(nc).start()
    opening = signed(alice.keypair, m.OpenAccount(), command_id="open-once")
    first = await alice.wait(await alice.publish(opening))
    assert first.accepted

    def crash(command, *, exchange, envelope, at, seq):
        raise RuntimeError("a bug in the domain")

    # The crash rebuilds the exchange (and empties the receipt cache) while the repeat, sent
    # right behind it with another Nats-Msg-Id, is already fetched and looked up: it must
    # still be recognised as a repeat, not applied a second time.
    monkeypatch.setitem(handlers.HANDLERS, m.SetDeadManSwitch, crash)
    crashing = await alice.publish(signed(alice.keypair, m.SetDeadManSwitch(cancel_at=1)))
    repeat = await alice.publish(msgspec.structs.replace(opening, reply_to=""), msg_id="other-id")
    assert (await alice.wait(crashing)).reason == "InternalError"
    again = await alice.wait(repeat)
    assert again.duplicate and again.accepted and again.seq == first.seq
