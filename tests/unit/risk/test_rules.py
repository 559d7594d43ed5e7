"""The pure rules: mark price, funding arithmetic, take-over size, penalty split, ADL order."""

from hypothesis import given
from hypothesis import strategies as st

from domain.funding import clamp_rate, funding_rate, payment
from domain.liquidation import AdlCandidate, adl_plan, penalty_for, takeover_size
from domain.mark import mark_from

PRICE = 10**6
ONE = 10**9


def test_the_mark_is_the_median_of_oracle_and_top_of_book_within_five_percent():
    assert mark_from(100 * PRICE, 99 * PRICE, 101 * PRICE, None) == 100 * PRICE  # oracle inside the spread
    assert mark_from(100 * PRICE, 102 * PRICE, 103 * PRICE, None) == 102 * PRICE  # bids above the oracle
    assert mark_from(100 * PRICE, 120 * PRICE, 121 * PRICE, None) == 105 * PRICE  # bounded
    assert mark_from(100 * PRICE, 50 * PRICE, 51 * PRICE, None) == 95 * PRICE
    assert mark_from(100 * PRICE, None, 101 * PRICE, 90 * PRICE) == 100 * PRICE  # one-sided: the oracle
    assert mark_from(None, 99 * PRICE, 101 * PRICE, 98 * PRICE) == 98 * PRICE  # never priced: last trade


def test_funding_rate_is_premium_over_24_clamped_by_the_maintenance_ratio():
    assert clamp_rate(300) == 3_750_000  # 0.375% per hour at 3% MMR
    rate, premium, clamp = funding_rate(101 * PRICE, 100 * PRICE, 300)
    assert (premium, rate) == (10_000_000, 416_666)
    assert funding_rate(99 * PRICE, 100 * PRICE, 300)[0] == -416_666  # symmetric rounding (toward zero)
    assert funding_rate(110 * PRICE, 100 * PRICE, 100)[0] == clamp_rate(100)


@given(st.lists(st.integers(-10**6, 10**6).map(lambda n: n * 10**7), min_size=1, max_size=30),
       st.integers(1, 10**9), st.integers(-10**7, 10**7))
def test_payments_sum_to_minus_the_rounding_and_favour_the_exchange(sizes, price, rate):
    positions = sizes + [-sum(sizes)]  # longs and shorts always balance
    paid = [payment(base, price, rate) for base in positions]
    exact = [-base * price * rate / 10**18 for base in positions]
    assert all(p <= e for p, e in zip(paid, exact))  # rounded down: never more to a user
    assert -len(positions) < sum(paid) <= 0


def test_partial_take_over_restores_the_buffer_or_takes_everything():
    # 100 long at mark 95, MMR 3%: requirement 285, equity 200 -> part of it.
    size = takeover_size(100 * ONE, 95 * PRICE, 95 * PRICE, 300, 10**7, 200 * PRICE, 285 * PRICE)
    assert 0 < size < 100 * ONE and size % 10**7 == 0
    # When closing cannot help (take-over price far from the mark), all of it.
    assert takeover_size(100 * ONE, 95 * PRICE, 50 * PRICE, 300, 10**7, 200 * PRICE, 285 * PRICE) == 100 * ONE
    assert takeover_size(100 * ONE, 95 * PRICE, 95 * PRICE, 300, 10**7, 400 * PRICE, 285 * PRICE) == 0


def test_the_penalty_is_one_percent_capped_and_split():
    full = penalty_for(10_000 * PRICE, 10**12)
    assert (full.total, full.liquidator, full.insurance) == (100 * PRICE, 50 * PRICE, 50 * PRICE)
    assert penalty_for(10_000 * PRICE, 30 * PRICE).total == 30 * PRICE
    assert penalty_for(10_000 * PRICE, -5).total == 0


def test_adl_takes_from_the_most_profitable_most_leveraged_first_never_beyond_profit():
    heavy = AdlCandidate("b/0", "SOL-PERP", -10 * ONE, 200 * PRICE, 100 * PRICE, 1_000 * PRICE)   # 20% x 10x
    light = AdlCandidate("a/0", "SOL-PERP", -50 * ONE, 500 * PRICE, 5_000 * PRICE, 5_000 * PRICE)  # 10% x 1x
    losing = AdlCandidate("c/0", "SOL-PERP", -1 * ONE, -5 * PRICE, 100 * PRICE, 100 * PRICE)
    plan = adl_plan(300 * PRICE, [light, losing, heavy])
    assert [(c.key, amount) for c, amount in plan] == [("b/0", 200 * PRICE), ("a/0", 100 * PRICE)]
    assert adl_plan(10**15, [losing]) == []
