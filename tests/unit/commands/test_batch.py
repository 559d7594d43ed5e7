"""Handlers and batch application, in memory: the routing table is complete, and the same
commands always give the same state and outcomes, however the engine happens to batch them."""

import typing

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from bus.engine_batch import BatchApplier, ReceiptCache
from bus.engine_intake import OperatorKeys, receive
from commands import envelope as envelopes
from commands import handlers
from commands import messages as m
from domain.exchange import Exchange
from tests.unit.commands.test_intake import FakeMessage

ADMIN = Keypair.from_seed(bytes([1] * 32))
TRADERS = [Keypair.from_seed(bytes([i + 2] * 32)) for i in range(3)]
OPERATORS = OperatorKeys(admin=frozenset({str(ADMIN.pubkey())}))
T0 = 1_800_000_000_000_000_000
USDC = 1_000_000


def test_every_command_of_the_union_has_a_handler():
    assert set(typing.get_args(m.Command)) == set(handlers.HANDLERS)


def envelope(keypair, command, command_id, owner=None) -> bytes:
    unsigned = envelopes.UnsignedEnvelope(command_id=command_id, owner=owner or str(keypair.pubkey()),
                                          command=command, expires_at=2**62)
    return envelopes.encode(envelopes.sign(unsigned, keypair))


def opening() -> list[bytes]:
    out = [envelope(ADMIN, m.CreateMarket(market="SOL-PERP", base_asset="SOL", tick_size=10_000,
                                          lot_size=1_000_000, min_size=1_000_000, max_leverage=20,
                                          initial_margin_bps=500, maintenance_margin_bps=250), "mk"),
           envelope(ADMIN, m.SetOraclePrice(symbol="SOL", price=100 * USDC), "px")]
    for index, trader in enumerate(TRADERS):
        out.append(envelope(trader, m.OpenAccount(), f"open{index}"))
        out.append(envelope(ADMIN, m.Deposit(asset="USDC", amount=10_000 * USDC), f"dep{index}",
                            owner=str(trader.pubkey())))
    return out


trading_step = st.tuples(
    st.integers(0, len(TRADERS) - 1), st.sampled_from(["buy", "sell", "cancel", "again"]),
    st.integers(-5, 5), st.integers(1, 3),
)


def commands_from(steps) -> list[bytes]:
    out = opening()
    for index, (trader, action, offset, lots) in enumerate(steps):
        keypair = TRADERS[trader]
        if action == "cancel":
            command = m.CancelOrder(market="SOL-PERP", client_order_id=f"o{index - 1}")
        elif action == "again" and index > 0:  # a repeated command id: one effect, same answer
            out.append(out[-1])
            continue
        else:
            command = m.PlaceOrder(market="SOL-PERP", client_order_id=f"o{index}",
                                   side="buy" if action != "sell" else "sell",
                                   size=lots * 1_000_000, price=100 * USDC + offset * 10_000)
        out.append(envelope(keypair, command, f"c{index}"))
    return out


def run(datas: list[bytes], batch_size: int):
    applier = BatchApplier(Exchange(), 0, ReceiptCache())
    outcomes = []
    messages = [FakeMessage(data, seq=seq, at=T0 + seq * 1000) for seq, data in enumerate(datas, 1)]
    for start in range(0, len(messages), batch_size):
        batch = [receive(message, OPERATORS) for message in messages[start:start + batch_size]]
        job = applier.apply(batch, set())
        outcomes += [(r.receipt.command_id, r.receipt.accepted, r.receipt.reason,
                      len(r.receipt.events)) for r in job.recorded]
    return applier.exchange.state_hash(), outcomes


@settings(max_examples=25, deadline=None)
@given(st.lists(trading_step, min_size=1, max_size=25), st.integers(1, 7))
def test_the_same_commands_give_the_same_state_and_outcomes_whatever_the_batching(steps, batch):
    datas = commands_from(steps)
    one_by_one = run(datas, 1)
    assert run(datas, batch) == one_by_one
    assert run(datas, len(datas)) == one_by_one
    assert all(accepted for _, accepted, _, _ in one_by_one[1][:len(opening())])
    # Every distinct command id got exactly one outcome.
    ids = [command_id for command_id, *_ in one_by_one[1]]
    assert len(ids) == len(set(ids))
