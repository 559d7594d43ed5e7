"""The settler's, the watcher's, the price feed's and the keeper's metrics as Prometheus reads
them: the oracle's validity follows the engine's rules and the clock, lags never go negative."""

from commands.receipts import Reply
from domain import oracle_validity
from observability.metrics import DepositWatcherMetrics, KeeperMetrics, PriceFeedMetrics, SettlerMetrics, outcome_of
from tests.unit.deploy.test_observability import samples

SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND


def validity(metrics: PriceFeedMetrics, market: str) -> str:
    found = samples(metrics.registry)
    [state] = [dict(labels)["state"] for (name, labels), value in found.items()
               if name == "qd_oracle_validity" and dict(labels)["market"] == market and value == 1]
    return state


def test_an_oracle_is_valid_then_stale_as_the_engine_would_judge_it():
    now = [T0]
    feed = PriceFeedMetrics(clock_ns=lambda: now[0])
    # SOL at 100 (exponent -8) published now: Valid, age 0
    feed.price_answered("SOL", 100 * 10**8, 10**6, -8, T0, "accepted")
    assert validity(feed, "SOL") == oracle_validity.VALID
    assert samples(feed.registry)[("qd_oracle_valid", (("market", "SOL"),))] == 1
    # 11 s later with no new price: stale for trading; 61 s: stale for margin, aged at scrape time
    now[0] = T0 + 11 * SECOND
    assert validity(feed, "SOL") == oracle_validity.STALE_FOR_TRADING
    now[0] = T0 + 61 * SECOND
    assert validity(feed, "SOL") == oracle_validity.STALE_FOR_MARGIN
    assert samples(feed.registry)[("qd_oracle_price_age_seconds", (("market", "SOL"),))] == 61
    assert samples(feed.registry)[("qd_oracle_valid", (("market", "SOL"),))] == 0


def test_a_price_the_engine_refuses_flags_the_oracle_until_one_is_taken():
    now = [T0]
    feed = PriceFeedMetrics(clock_ns=lambda: now[0])
    feed.price_answered("BTC", 60_000 * 10**8, 10**8, -8, T0, "accepted")
    # A 6x jump: the command is accepted, the price refused (TooVolatile), the old one kept
    feed.price_answered("BTC", 360_000 * 10**8, 10**8, -8, T0 + SECOND, "accepted")
    assert validity(feed, "BTC") == oracle_validity.TOO_VOLATILE
    # A price published before the kept one: OutOfOrder
    feed.price_answered("BTC", 60_000 * 10**8, 10**8, -8, T0 - SECOND, "accepted")
    assert validity(feed, "BTC") == oracle_validity.OUT_OF_ORDER
    # A sane price clears the flag; rejected and unanswered commands change nothing
    feed.price_answered("BTC", 61_000 * 10**8, 10**8, -8, T0 + 2 * SECOND, "accepted")
    feed.price_answered("BTC", 0, 0, -8, T0 + 3 * SECOND, "rejected")
    feed.price_answered("BTC", 62_000 * 10**8, 10**8, -8, T0 + 3 * SECOND, "failed")
    assert validity(feed, "BTC") == oracle_validity.VALID
    found = samples(feed.registry)
    counted = {dict(labels)["outcome"]: value for (name, labels), value in found.items()
               if name == "qd_oracle_prices_published_total"}
    assert counted == {"accepted": 2, "refused": 2, "rejected": 1, "failed": 1}


def test_settlement_lag_is_what_was_received_and_not_yet_settled():
    settler = SettlerMetrics()
    settler.settled_through(10)  # reconciled with the chain at position 10
    settler.batch_proposed()
    settler.event_received(14)
    settler.event_received(17)
    assert samples(settler.registry)[("qd_settlement_lag_events", ())] == 7
    settler.batch_settled(accounts=3, landed=True, position=17)
    found = samples(settler.registry)
    assert found[("qd_settlement_lag_events", ())] == 0 and found[("qd_settlement_position", ())] == 17
    assert found[("qd_settlement_accounts_total", ())] == 3
    assert found[("qd_settlement_batches_total", (("outcome", "replayed"),))] == 0  # shown from the start
    # Events that move no money leave nothing pending once idle
    settler.event_received(20, pending=False)
    assert samples(settler.registry)[("qd_settlement_lag_events", ())] == 0


def test_the_watcher_shows_one_cursor_and_its_slot_lag():
    watcher = DepositWatcherMetrics()
    watcher.poll_completed(100)
    watcher.signature_credited("first")
    watcher.signature_credited("second")
    watcher.poll_started(130)
    found = samples(watcher.registry)
    assert [dict(labels) for name, labels in found if name == "qd_deposit_watcher_last_signature"] == \
        [{"signature": "second"}]
    assert found[("qd_deposit_watcher_slot_lag", ())] == 30
    watcher.deposit_answered(accepted=True, duplicate=True)
    watcher.deposit_answered(accepted=False, duplicate=False, reason="UnknownAsset")
    found = samples(watcher.registry)
    assert found[("qd_deposits_duplicate_total", ())] == 1 and found[("qd_deposits_credited_total", ())] == 0
    assert found[("qd_deposits_rejected_total", (("reason", "UnknownAsset"),))] == 1


def test_the_keeper_counts_sweeps_by_outcome_and_reason():
    keeper = KeeperMetrics()
    refused = Reply(command_id="c", owner="o", seq=1, at=0, accepted=False, reason="NotAuthorized")
    keeper.sweep_answered(True, *outcome_of(Reply(command_id="c", owner="o", seq=1, at=0, accepted=True)))
    keeper.sweep_answered(False, *outcome_of(refused))
    keeper.sweep_answered(False, *outcome_of(None))
    found = samples(keeper.registry)
    assert found[("qd_keeper_sweeps_total", (("outcome", "accepted"), ("reason", "")))] == 1
    assert found[("qd_keeper_sweeps_total", (("outcome", "rejected"), ("reason", "NotAuthorized")))] == 1
    assert found[("qd_keeper_sweeps_total", (("outcome", "failed"), ("reason", "")))] == 1
    assert found[("qd_keeper_liquidation_sweeps_total", (("outcome", "accepted"), ("reason", "")))] == 1
