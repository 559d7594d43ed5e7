"""Risk engine throughput: margin re-evaluation of every account on a price update, and
liquidations per second.

Set-up (not timed): SOL-PERP, N accounts (default 100,000) each with USDC collateral and a
position, half long and half short (so positions sum to zero, as in a real market), with
leverage spread from 2x to 19x. Accounts and deposits go through the use cases; the positions are
then written straight into the sub-accounts (a bench shortcut: trading 100k positions into
existence would only time the book).

Measured:
1. `sweep_s`: the margin re-evaluation of every account after a 1% price move,
   `Exchange.liquidatable(at)` (what the keeper's liquidation sweep does first): each account is
   either evaluated exactly (equity, maintenance requirement, ratio at the new mark) or skipped
   because the mark is still inside its safe band (domain.mark_bands), made by the previous
   sweep. `value` = accounts swept per second (evaluated or skipped). `prepare_s`: making every
   band, which the engine does at start-up before commands flow; `cold_sweep_s`: a sweep after
   a change of market parameters (which drops every band): every account evaluated.
2. `liquidations_per_s`: after a 6% crash, liquidations through `Exchange.liquidate` (plan,
   order cancellation, take-over, penalty, insurance fee, bankruptcy/ADL when needed), timed over
   the first `LIQUIDATIONS` liquidatable accounts.
`limit` is the interpreter ceiling of evaluating every account: a bare loop over precomputed
integers doing only the equity/requirement arithmetic of one position per account (the bands
let a sweep beat it: most accounts are not evaluated at all).
Time is process CPU time (the machine is shared; wall-clock figures are printed too).

Run: python -m bench.risk [--accounts N]
"""

from __future__ import annotations

import argparse
import gc
import time

from bench.report import emit
from domain.exchange import Exchange
from domain.position import Position

PRICE = 10**6
ONE = 10**9
USDC = 10**6
LIQUIDATIONS = 2_000
SECOND = 10**9


def owner_key(number: int) -> str:
    """A valid base58 owner id per number."""
    digits = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 58)
        text = digits[digit] + text
        if number == 0:
            break
    return "Bench" + text.rjust(10, "1") + "x" * 29  # fixed width: unique per number


class Clock:
    def __init__(self) -> None:
        self.at, self.seq = 1_700_000_000 * SECOND, 0

    def next(self) -> tuple[int, int]:
        self.at += 1_000_000
        self.seq += 1
        return self.at, self.seq


def build(accounts: int) -> tuple[Exchange, Clock]:
    """The market and `accounts` positioned accounts, plus a rich liquidator."""
    exchange, clock = Exchange(), Clock()
    exchange.create_market(*clock.next(), symbol="SOL-PERP", base_asset="SOL", tick_size=1_000, lot_size=10_000_000,
                           min_size=10_000_000, max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=300)
    exchange.set_oracle_price(*clock.next(), symbol="SOL", price=100 * PRICE)
    exchange.fund_insurance(*clock.next(), amount=1_000_000 * USDC)
    for number in range(accounts):
        owner = owner_key(number)
        exchange.open_account(*clock.next(), owner=owner)
        collateral = 1_000 * USDC
        exchange.deposit(*clock.next(), owner=owner, sub_account=0, asset="USDC", amount=collateral)
        leverage = 2 + number // 2 % 18
        size = leverage * 10 * ONE  # leverage x $1,000 at $100
        base = size if number % 2 == 0 else -size
        exchange.accounts[owner].sub(0).positions["SOL-PERP"] = Position(base=base, entry_notional=size * 100 * PRICE // ONE)
    liquidator = owner_key(10**9)
    exchange.open_account(*clock.next(), owner=liquidator)
    exchange.deposit(*clock.next(), owner=liquidator, sub_account=0, asset="USDC", amount=10**11 * USDC)
    for aggregate in exchange.collect_changed():
        aggregate.collect_events()
    return exchange, clock


def timed(function):
    """(result, cpu seconds, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def bare_reevaluation(rows: list[tuple[int, int, int]], mark: int) -> int:
    """The interpreter ceiling: equity and maintenance of one position per account, no objects."""
    under = 0
    for base, entry, usdc in rows:
        size = base if base > 0 else -base
        pnl = (mark * base) // ONE - entry if base > 0 else entry + (mark * base) // ONE
        requirement = -((-(mark * size // ONE) * 300) // 10_000)
        if usdc + pnl < requirement:
            under += 1
    return under


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--accounts", type=int, default=100_000)
    accounts = options.parse_args().accounts

    start = time.perf_counter()
    exchange, clock = build(accounts)
    print(f"set-up: {accounts:,} accounts with positions in {time.perf_counter() - start:.1f} s")
    # The collector as the engine runs it (bus.engine_cli, Engine.rebuild): the state built at
    # start-up frozen out of its passes, which run less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)

    # 1. The engine makes every safe band at start-up (before commands flow); the keeper's next
    # sweep, after a 1% move, evaluates only the accounts the move took out of theirs. A change
    # of market parameters drops every band: the sweep after it evaluates every account.
    exchange.set_oracle_price(*clock.next(), symbol="SOL", price=100 * PRICE)
    _, prepare_cpu, _ = timed(exchange.prepare_liquidation_sweep)
    exchange.set_oracle_price(*clock.next(), symbol="SOL", price=99 * PRICE)
    at = clock.at + 1
    found, sweep_cpu, sweep_wall = timed(lambda: exchange.liquidatable(at))
    rate = accounts / sweep_cpu
    exchange.change_market(*clock.next(), symbol="SOL-PERP", changes={"taker_fee_bps": 6})
    _, cold_cpu, _ = timed(lambda: exchange.liquidatable(clock.at + 1))
    rows = [(s.positions["SOL-PERP"].base, s.positions["SOL-PERP"].entry_notional, s.balances["USDC"])
            for a in exchange.accounts.values() for s in a.sub_accounts.values() if "SOL-PERP" in s.positions]
    _, bare_cpu, _ = min((timed(lambda: bare_reevaluation(rows, 99 * PRICE)) for _ in range(3)), key=lambda r: r[1])
    limit = accounts / bare_cpu
    print(f"bands made at start-up: {prepare_cpu:.2f} s CPU; a sweep with none (after a parameter change), "
          f"every account evaluated: {cold_cpu:.2f} s CPU")
    print(f"margin re-evaluation of {accounts:,} accounts after a 1% move to $99: {sweep_cpu:.2f} s CPU "
          f"({sweep_wall:.2f} s wall), {rate:,.0f} accounts/s; {len(found)} liquidatable")
    print(f"  meaning: a keeper sweep over {accounts:,} accounts takes {sweep_cpu:.2f} s in one process; at a 1 s "
          f"price cadence it keeps up to {int(rate):,} accounts (bare arithmetic ceiling {limit:,.0f}/s)")

    # 2. A 6% crash: liquidations, one by one, with the liquidator's account.
    exchange.set_oracle_price(*clock.next(), symbol="SOL", price=94 * PRICE)
    at = clock.at + 1
    candidates = [key for _, key in exchange.liquidatable(at)][:LIQUIDATIONS]
    liquidator = owner_key(10**9)

    def liquidate_all() -> int:
        done = 0
        for key in candidates:
            owner = key.rsplit("/", 1)[0]
            exchange.liquidate(*clock.next(), owner=owner, sub_account=0, liquidator_owner=liquidator)
            done += 1
            for aggregate in exchange.collect_changed():
                aggregate.collect_events()
        return done

    done, liquidation_cpu, liquidation_wall = timed(liquidate_all)
    per_second = done / liquidation_cpu
    print(f"liquidations after a 6% crash: {done:,} in {liquidation_cpu:.2f} s CPU ({liquidation_wall:.2f} s wall), "
          f"{per_second:,.0f} liquidations/s")
    print(f"  meaning: if 10% of {accounts:,} accounts went under at once, clearing them takes "
          f"{accounts / 10 / per_second:.1f} s (plus one re-evaluation sweep per keeper pass)")
    emit(bench="risk", value=round(rate), unit="accounts swept/s", limit=round(limit),
         accounts=accounts, sweep_s=round(sweep_cpu, 3), prepare_s=round(prepare_cpu, 3), cold_sweep_s=round(cold_cpu, 3), sweep_wall_s=round(sweep_wall, 3),
         liquidatable_at_99=len(found), liquidations_per_s=round(per_second), liquidations=done,
         liquidation_wall_s=round(liquidation_wall, 3))


if __name__ == "__main__":
    main()
