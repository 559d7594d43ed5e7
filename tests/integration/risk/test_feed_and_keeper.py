"""The feed and the keeper against a real engine (real nats-server and PostgreSQL): prices reach
the oracles, the keeper's sweeps are accepted, and a liquidator bot liquidates an account the
crash put under water."""

import json

from solders.keypair import Keypair

from client import BotClient
from commands import messages
from risk import feed, keeper

ONE = 10**9
PRICE = 10**6


def keyfile_of(keypair: Keypair, tmp_path) -> str:
    path = tmp_path / "admin.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    return str(path)


async def test_feed_keeper_and_a_liquidation(engine, engine_nats_url, admin, tmp_path):
    admin_file = keyfile_of(admin, tmp_path)
    operator = await BotClient.connect(engine_nats_url, admin)
    # The synthetic feed publishes three steps of SOL, BTC and ETH: all accepted.
    counts = await feed.main(["--nats", engine_nats_url, "--admin-keyfile", admin_file, "--interval", "0.01",
                              "synthetic", "--seed", "5", "--count", "3"])
    assert counts == {"accepted": 9, "rejected": 0, "failed": 0}
    # A market, a 15x long and a liquidator with money.
    created = await operator.send(messages.CreateMarket(
        market="SOL-PERP", base_asset="SOL", tick_size=1_000, lot_size=10_000_000, min_size=10_000_000,
        max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=300, maker_fee_bps=0, taker_fee_bps=0))
    assert created.accepted
    assert (await operator.send(messages.SetOraclePrice(symbol="SOL", price=100 * PRICE))).accepted
    bots = [await BotClient.connect(engine_nats_url, Keypair()) for _ in range(3)]
    long, short, liquidator = bots
    for bot, usdc in ((long, 700), (short, 50_000), (liquidator, 100_000)):
        assert (await bot.open_account()).accepted
        assert (await operator.deposit_for(bot.owner, "USDC", usdc * PRICE)).accepted
    assert (await short.place_order("SOL-PERP", "sell", size=100 * ONE, price=100 * PRICE)).accepted
    assert (await long.place_order("SOL-PERP", "buy", size=100 * ONE, price=100 * PRICE)).accepted
    # The price falls 5%: the long is under maintenance; a liquidator bot takes part of it over.
    assert (await operator.send(messages.SetOraclePrice(symbol="SOL", price=95 * PRICE))).accepted
    healthy = await liquidator.send(messages.Liquidate(owner=short.owner))
    assert (healthy.accepted, healthy.reason) == (False, "NotLiquidatable")
    liquidated = await liquidator.send(messages.Liquidate(owner=long.owner))
    assert liquidated.accepted, liquidated
    # The keeper's sweeps and the hourly funding command are accepted by the engine.
    counts = await keeper.main(["--nats", engine_nats_url, "--admin-keyfile", admin_file, "--sweep-interval", "0.01",
                                "--count", "2"])
    assert counts["accepted"] == 2 and counts["failed"] == 0
    funding = await operator.send(messages.SettleFunding(market="SOL-PERP"))
    assert funding.reason in ("", "FundingAlreadySettled") or funding.accepted
    # A further fall; the keeper liquidates with its own (funded) account: nothing left after it.
    assert (await operator.deposit_for(operator.owner, "USDC", 100_000 * PRICE)).accepted
    assert (await operator.send(messages.SetOraclePrice(symbol="SOL", price=85 * PRICE))).accepted
    counts = await keeper.main(["--nats", engine_nats_url, "--admin-keyfile", admin_file, "--count", "1", "--liquidate"])
    assert counts["failed"] == 0
    gone = await liquidator.send(messages.Liquidate(owner=long.owner))
    assert (gone.accepted, gone.reason) == (False, "NotLiquidatable"), gone
    for bot in (*bots, operator):
        await bot.close()
