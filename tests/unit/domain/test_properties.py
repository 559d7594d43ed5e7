"""Laws of the domain, checked over random command sequences (hypothesis).

- Money is conserved, per asset: sum of balances (+ fee pools + insurance fund for USDC)
  - cumulative realized PnL (USDC) == deposits - withdrawals (+ insurance contributions).
  Fees paid by all positions == the fee pools.
- The book is never crossed after any command.
- No accepted order that raises an account's initial requirement leaves it below initial margin.
- Reduce-only never increases exposure: an accepted reduce-only taker never grows |position|,
  and resting reduce-only orders always fit inside the position on its reducing side.
- Replay determinism: loading the saved events gives the same state hash, and re-running the
  same commands gives the same hash and the same events.
"""

from eventsourcing.application import Application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.book import Side
from domain.exchange import Exchange
from domain.ids import book_account_key
from domain.rejections import Rejected

from .conftest import ALICE, BOB, CAROL, ONE, PRICE, SOL_MARKET, USDC, Commands, trading_exchange

TRADERS = [ALICE, BOB, CAROL]
MARKETS = ["SOL-PERP", "ETH-PERP"]
PRICES = st.integers(90, 110).map(lambda p: p * PRICE)
SIZES = st.integers(1, 300).map(lambda n: n * 10_000_000)

place = st.fixed_dictionaries({
    "use_case": st.just("place_order"), "owner": st.sampled_from(TRADERS), "sub_account": st.sampled_from([0, 0, 0, 1]),
    "market": st.sampled_from(MARKETS), "side": st.sampled_from(["buy", "sell"]), "size": SIZES, "price": PRICES,
    "order_type": st.sampled_from(["limit", "limit", "market"]),
    "time_in_force": st.sampled_from(["gtc", "gtc", "ioc", "fok", "gtt"]),
    "ttl": st.integers(1, 30),
    "post_only": st.sampled_from(["off", "off", "off", "reject", "slide"]),
}).map(lambda order: order | {"post_only": "off"} if order["order_type"] == "market" else order)
place = st.tuples(place, st.fixed_dictionaries({
    "self_trade": st.sampled_from(["cancel_taker", "cancel_resting"]),
    "reduce_only": st.sampled_from([False, False, True]),
})).map(lambda parts: parts[0] | parts[1])
cancel_all = st.fixed_dictionaries({"use_case": st.just("cancel_all"), "owner": st.sampled_from(TRADERS)})
price_move = st.fixed_dictionaries({"use_case": st.just("set_oracle_price"), "symbol": st.sampled_from(["SOL", "ETH"]), "price": PRICES})
deposit = st.fixed_dictionaries({
    "use_case": st.just("deposit"), "owner": st.sampled_from(TRADERS), "sub_account": st.integers(0, 1),
    "asset": st.sampled_from(["USDC", "SOL"]), "amount": st.integers(1, 5_000) .map(lambda n: n * USDC),
})
withdraw = st.fixed_dictionaries({
    "use_case": st.just("request_withdrawal"), "owner": st.sampled_from(TRADERS), "sub_account": st.integers(0, 1),
    "asset": st.sampled_from(["USDC", "SOL"]), "amount": st.integers(1, 3_000).map(lambda n: n * USDC),
})
transfer = st.fixed_dictionaries({
    "use_case": st.just("transfer"), "owner": st.sampled_from(TRADERS), "from_sub_account": st.integers(0, 1),
    "to_sub_account": st.integers(0, 1), "asset": st.just("USDC"), "amount": st.integers(1, 5_000).map(lambda n: n * USDC),
})
pick_order = {"owner": st.sampled_from(TRADERS), "sub_account": st.just(0), "market": st.sampled_from(MARKETS), "pick": st.integers(0, 5)}
modify = st.fixed_dictionaries({"use_case": st.just("modify_order"), "new_price": PRICES, "new_size": SIZES, **pick_order})
cancel = st.fixed_dictionaries({"use_case": st.just("cancel_order"), **pick_order})
sweep = st.fixed_dictionaries({"use_case": st.just("expire"), "jump": st.integers(0, 20)})
settle_withdrawal = st.fixed_dictionaries({
    "use_case": st.sampled_from(["complete_withdrawal", "refund_withdrawal"]), "owner": st.sampled_from(TRADERS),
    "pick_withdrawal": st.integers(0, 3),
})
insurance = st.fixed_dictionaries({"use_case": st.just("fund_insurance"), "amount": st.integers(1, 10**9)})
dead_man = st.fixed_dictionaries({"use_case": st.just("set_dead_man_switch"), "owner": st.sampled_from(TRADERS), "ttl": st.integers(1, 30)})
COMMANDS = st.lists(
    # Six commands in ten place orders; the rest is everything else.
    st.integers(0, 9).flatmap(lambda k: place if k < 6 else st.one_of(
        modify, modify, cancel, cancel_all, sweep, dead_man, price_move, deposit, withdraw, withdraw,
        settle_withdrawal, transfer, insurance,
    )),
    min_size=15, max_size=50,
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def start(app: Application | None = None) -> tuple[Exchange, Commands]:
    commands = Commands()
    exchange = trading_exchange(commands, deposit=2_000 * USDC, app=app)
    exchange.deposit(*commands.next(), owner=CAROL, sub_account=0, asset="USDC", amount=2_000 * USDC)
    for owner in TRADERS:
        exchange.deposit(*commands.next(), owner=owner, sub_account=1, asset="USDC", amount=500 * USDC)
    # A second market (cross margin), and resting books around $100 so that generated orders trade.
    exchange.create_market(*commands.next(), **(SOL_MARKET | {"symbol": "ETH-PERP", "base_asset": "ETH", "max_leverage": 10, "initial_margin_bps": 1_000, "maintenance_margin_bps": 500}))
    exchange.set_oracle_price(*commands.next(), symbol="ETH", price=100 * PRICE)
    for market in MARKETS:
        for offset in range(1, 6):
            for owner, side, price in ((ALICE, "sell", 100 + offset), (BOB, "buy", 100 - offset)):
                exchange.place_order(*commands.next(), owner=owner, sub_account=0, market=market, side=side, size=ONE, price=price * PRICE)
    if app is not None:
        app.save(*exchange.collect_changed())
    _save(exchange)
    return exchange, commands


def _save(exchange: Exchange) -> list:
    return [e for a in exchange.collect_changed() for e in a.collect_events()]


def run(exchange: Exchange, commands: Commands, command: dict) -> bool:
    """Apply one generated command; True when accepted."""
    arguments = dict(command)
    use_case = arguments.pop("use_case")
    at, seq = commands.next()
    # Relative fields become absolute against the command time and the live state.
    if "jump" in arguments:
        commands.at += arguments.pop("jump") * commands.step
        at = commands.at
    ttl = arguments.pop("ttl", None)
    if use_case == "set_dead_man_switch":
        arguments["fires_at"] = at + ttl * commands.step
    elif use_case == "place_order" and arguments["time_in_force"] == "gtt":
        arguments["expires_at"] = at + ttl * commands.step
    if "pick_withdrawal" in arguments:
        pending = sorted(exchange.accounts[arguments["owner"]].pending_withdrawals)
        pick = arguments.pop("pick_withdrawal")
        arguments["withdrawal_id"] = pending[pick % len(pending)] if pending else -1
        if use_case == "refund_withdrawal":
            arguments["reason"] = "failed"
    if "pick" in arguments:
        live = exchange.markets[arguments["market"]].book.orders_of(book_account_key(arguments["owner"], 0))
        pick = arguments.pop("pick")
        arguments["order_id"] = live[pick % len(live)].order_id if live else 0
    try:
        getattr(exchange, use_case)(at, seq, **arguments)
        return True
    except Rejected:
        return False


def check_money_conserved(exchange: Exchange) -> None:
    held: dict[str, int] = {}
    net_in: dict[str, int] = {}
    realized = fees = 0
    for account in exchange.accounts.values():
        for asset, amount in account.deposited.items():
            net_in[asset] = net_in.get(asset, 0) + amount
        for asset, amount in account.withdrawn.items():
            net_in[asset] = net_in.get(asset, 0) - amount
        for sub in account.sub_accounts.values():
            for asset, amount in sub.balances.items():
                held[asset] = held.get(asset, 0) + amount
            for position in sub.positions.values():
                realized += position.realized_pnl
                fees += position.fees_paid
    pools = sum(m.fee_pool for m in exchange.markets.values())
    fund = exchange.insurance_fund
    held["USDC"] = held.get("USDC", 0) + pools + (fund.balance if fund else 0) - realized
    net_in["USDC"] = net_in.get("USDC", 0) + (fund.contributed if fund else 0)
    assert {a: v for a, v in held.items() if v} == {a: v for a, v in net_in.items() if v}
    assert fees == pools


def check_book_not_crossed(exchange: Exchange) -> None:
    for market in exchange.markets.values():
        bid, ask = market.book.best_bid(), market.book.best_ask()
        assert bid is None or ask is None or bid < ask


def check_reduce_only_orders_fit(exchange: Exchange) -> None:
    for market in exchange.markets.values():
        for owner, account in exchange.accounts.items():
            for number, sub in account.sub_accounts.items():
                orders = [o for o in market.book.orders_of(book_account_key(owner, number)) if o.order_id in market.reduce_only_ids]
                base = sub.position(market.symbol).base
                reducing = Side.SELL if base > 0 else Side.BUY
                assert all(o.side is reducing for o in orders) and (not orders or base != 0)
                assert sum(o.size for o in orders) <= abs(base)


def _base(exchange: Exchange, owner: str, sub_account: int, market: str) -> int:
    sub = exchange.accounts[owner].sub(sub_account)
    return sub.position(market).base if sub else 0


@PROPERTY_SETTINGS
@given(COMMANDS)
def test_laws_hold_after_every_command(command_list):
    exchange, commands = start()
    for command in command_list:
        taker, sub = command.get("owner"), command.get("sub_account", 0)
        before = exchange.margin(taker, sub) if command["use_case"] == "place_order" else None
        base_before = _base(exchange, taker, sub, command["market"]) if before else 0
        accepted = run(exchange, commands, command)
        _save(exchange)
        check_money_conserved(exchange)
        check_book_not_crossed(exchange)
        check_reduce_only_orders_fit(exchange)
        if accepted and before is not None:
            after = exchange.margin(taker, sub)
            if after.initial_requirement > before.initial_requirement and not command["reduce_only"]:
                assert after.free_collateral >= 0, (command, before, after)
            if command["reduce_only"]:
                assert abs(_base(exchange, taker, sub, command["market"])) <= abs(base_before)


@PROPERTY_SETTINGS
@given(COMMANDS)
def test_replay_and_rerun_give_the_same_state(command_list):
    # Run once, saving every command's events in an Application as the engine does.
    app = Application()
    exchange, commands = start(app)
    events = []
    for command in command_list:
        run(exchange, commands, command)
        changed = exchange.collect_changed()
        events += [e for a in changed for e in a.pending_events]
        app.save(*changed)
    # Reload from the store: same state hash.
    reloaded = Exchange.from_aggregates(app.repository.get(a.id) for a in exchange.all_aggregates())
    assert reloaded.state_hash() == exchange.state_hash()
    # Re-run the same commands on a fresh exchange: same hash, same events.
    again, again_commands = start()
    again_events = []
    for command in command_list:
        run(again, again_commands, command)
        again_events += _save(again)
    assert again.state_hash() == exchange.state_hash()
    assert again_events == events
