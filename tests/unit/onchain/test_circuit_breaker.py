"""The RPC circuit breaker's laws, with a hand-driven clock."""

from onchain.rpc.failover import CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_then_half_opens_after_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown_seconds=10, clock=clock)
    # One failure: still closed
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allows()
    # Second consecutive failure: open, calls refused
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows()
    # After the cooldown one trial goes through; success closes it
    clock.now = 10
    assert breaker.state == "half-open" and breaker.allows()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.failures == 0


def test_a_failed_trial_reopens_for_another_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now = 5
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 9
    assert not breaker.allows()
