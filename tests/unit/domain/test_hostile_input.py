"""Hostile input: any value in any argument of any use case ends in success or a typed
`Rejected`, never in another exception (the engine treats those as a poison command), and
never in an event carrying a non-plain value."""

import inspect

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exchange import Exchange
from domain.rejections import Rejected

from .conftest import ALICE, BOB, ONE, PRICE, Commands, trading_exchange
from .test_events import OWN_FIELDS, is_plain

USE_CASES = [
    "open_account", "add_delegate", "remove_delegate", "open_sub_account", "deposit", "request_withdrawal",
    "transfer", "complete_withdrawal", "refund_withdrawal", "place_order", "cancel_order", "cancel_all", "modify_order", "set_dead_man_switch",
    "create_market", "change_market", "set_market_status", "set_oracle_price", "fund_insurance",
    "settle_funding", "liquidate", "risk_sweep",
]

anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), st.text(max_size=80),
    st.sampled_from([ALICE, BOB, "SOL-PERP", "SOL", "USDC", "buy", "sell", "limit", "market", "gtt", "ioc",
                     "fok", "slide", "reject", "cancel_resting", "stop_limit", "trailing_stop", "paused",
                     "reduce_only", 0, 1, ONE, 100 * PRICE, f"{ALICE}/0", f"{BOB}/x", -8]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.floats(allow_nan=True),
)


@st.composite
def hostile_call(draw):
    use_case = draw(st.sampled_from(USE_CASES))
    parameters = inspect.signature(getattr(Exchange, use_case)).parameters
    names = [n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    arguments = {n: draw(anything) for n in names if parameters[n].default is inspect.Parameter.empty or draw(st.booleans())}
    return use_case, arguments


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_call(), min_size=1, max_size=8))
def test_hostile_arguments_are_rejected_never_crash(calls):
    commands = Commands()
    exchange = trading_exchange(commands)
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=101 * PRICE, client_order_id="a")
    for use_case, arguments in calls:
        try:
            getattr(exchange, use_case)(*commands.next(), **arguments)
        except Rejected:
            pass
        for aggregate in exchange.collect_changed():
            for event in aggregate.collect_events():
                payload = {k: v for k, v in vars(event).items() if k not in OWN_FIELDS}
                assert is_plain(payload), event
    exchange.state_hash()


prices_or_junk = st.one_of(st.none(), st.integers(-5, 200).map(lambda p: p * PRICE), st.integers(-(2**64), 2**64), st.text(max_size=3))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["stop_market", "stop_limit", "take_profit_market", "take_profit_limit", "trailing_stop"]),
    side=st.sampled_from(["buy", "sell"]), price=prices_or_junk, trigger_price=prices_or_junk,
    trail_amount=prices_or_junk, trail_bps=st.one_of(st.none(), st.integers(-10, 20_000)),
    reduce_only=st.booleans(), with_oracle=st.booleans(),
)
def test_trigger_orders_are_stored_or_rejected_never_crash(kind, side, price, trigger_price, trail_amount, trail_bps, reduce_only, with_oracle):
    commands = Commands()
    exchange = trading_exchange(commands)
    if not with_oracle:
        exchange.oracles.clear()  # no mark at all: trailing stops have no reference
    try:
        exchange.place_order(
            *commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side=side, size=ONE, order_type=kind,
            price=price, trigger_price=trigger_price, trail_amount=trail_amount, trail_bps=trail_bps,
            reduce_only=reduce_only, client_order_id="t",
        )
    except Rejected:
        assert len(exchange.markets["SOL-PERP"].triggers) == 0
    else:
        assert len(exchange.markets["SOL-PERP"].triggers) == 1
