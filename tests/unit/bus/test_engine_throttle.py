"""The per-account command throttle: a token bucket on the stream's clock, integers only."""

from bus.engine_throttle import NS, CommandThrottle

ALICE, BOB, ADMIN = "alice", "bob", "admin"
MS = NS // 1000


def admitted(throttle: CommandThrottle, owner: str, times: list[int], signer: str | None = None) -> list[bool]:
    return [throttle.take(owner, signer or owner, at) for at in times]


def test_a_burst_is_admitted_up_to_its_size_then_refused():
    throttle = CommandThrottle(rate=10, burst=5)
    assert admitted(throttle, ALICE, [NS] * 7) == [True] * 5 + [False] * 2


def test_the_bucket_refills_at_the_rate_on_the_stream_clock():
    throttle = CommandThrottle(rate=10, burst=2)
    assert admitted(throttle, ALICE, [NS, NS, NS]) == [True, True, False]
    # one command per 100 ms at 10/s: the 99th ms is too early, the 100th is not
    assert admitted(throttle, ALICE, [NS + 99 * MS, NS + 100 * MS, NS + 150 * MS]) == [False, True, False]


def test_refused_commands_do_not_spend_tokens():
    throttle = CommandThrottle(rate=10, burst=1)
    admitted(throttle, ALICE, [NS] + [NS + i * MS for i in range(1, 99)])
    assert admitted(throttle, ALICE, [NS + 100 * MS]) == [True]


def test_each_account_has_its_own_bucket():
    throttle = CommandThrottle(rate=1, burst=1)
    assert admitted(throttle, ALICE, [NS, NS]) == [True, False]
    assert admitted(throttle, BOB, [NS]) == [True]


def test_operator_keys_are_never_throttled_even_for_an_account():
    throttle = CommandThrottle(rate=1, burst=1, exempt=frozenset({ADMIN}))
    assert admitted(throttle, ALICE, [NS] * 50, signer=ADMIN) == [True] * 50
    assert admitted(throttle, ALICE, [NS, NS]) == [True, False]


def test_a_clock_that_steps_back_neither_refills_nor_fails():
    throttle = CommandThrottle(rate=10, burst=1)
    assert admitted(throttle, ALICE, [10 * NS, 9 * NS, 10 * NS + 100 * MS]) == [True, False, True]


def test_rate_zero_is_no_throttle():
    assert admitted(CommandThrottle(rate=0, burst=0), ALICE, [NS] * 100) == [True] * 100


def test_full_buckets_are_forgotten_and_forgetting_changes_no_decision():
    throttle = CommandThrottle(rate=1, burst=1)
    for index in range(11):
        throttle.take(f"owner{index}", f"owner{index}", NS)
    throttle.forget_from = 10  # as if 100k accounts were tracked
    throttle.take("late", "late", 5 * NS)  # everyone else has refilled by now
    assert set(throttle.buckets) == {"late"}
    assert admitted(throttle, "owner0", [5 * NS, 5 * NS]) == [True, False]
