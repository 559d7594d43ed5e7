"""The settler's netting laws: what each event moves, and money never appears or vanishes."""

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from onchain.assets import AssetMap
from onchain.client import QuantDeskClient
from onchain.settler.batch import build_instruction, fits, planned_size, transaction_size
from onchain.settler.netting import AccountKey, CannotSettle, Netting

AUTHORITY = str(Keypair().pubkey())
FEES, POOL = AccountKey(AUTHORITY, 0), AccountKey(AUTHORITY, 1)
OWNERS = [str(Keypair().pubkey()) for _ in range(4)]


def trade(sub_account: int, realized: int, fees: int) -> dict:
    return {"market": "SOL-PERP", "settlements": [{"sub_account": sub_account, "realized_pnl": realized,
                                                   "fees": fees, "fills": []}]}


def test_a_trade_moves_pnl_minus_fees_and_the_fees_go_to_the_fee_account():
    netting = Netting(FEES, POOL)
    # Alice closes at a profit of 10 paying 0.05; Bob loses 10 paying 0.02
    netting.apply(OWNERS[0], "TradeSettled", trade(0, 10_000_000, 50_000), position=7)
    netting.apply(OWNERS[1], "TradeSettled", trade(0, -10_000_000, 20_000), position=8)
    # a deposit moves nothing (the program credited it already); the position still advances
    netting.apply(OWNERS[0], "Deposited", {"sub_account": 0, "asset": "USDC", "amount": 5}, position=9)
    assert netting.entries() == [(AccountKey(OWNERS[0], 0), "USDC", 9_950_000), (FEES, "USDC", 70_000),
                                 (AccountKey(OWNERS[1], 0), "USDC", -10_020_000)]
    assert netting.last_position == 9


def test_a_withdrawal_is_a_payout_and_a_transfer_moves_between_sub_accounts():
    netting = Netting(FEES, POOL)
    netting.apply(OWNERS[0], "WithdrawalRequested", {"sub_account": 2, "asset": "USDC", "amount": 100,
                                                      "withdrawal_id": 41, "destination": OWNERS[0]}, position=1)
    netting.apply(OWNERS[0], "Transferred", {"from_sub_account": 0, "to_sub_account": 3, "asset": "USDC",
                                             "amount": 7}, position=2)
    assert [(p.account, p.amount, p.withdrawal_id) for p in netting.payouts] == [(AccountKey(OWNERS[0], 2), 100, 41)]
    assert netting.entries() == [(AccountKey(OWNERS[0], 3), "USDC", 7), (AccountKey(OWNERS[0], 0), "USDC", -7)]


def test_risk_events_move_usdc_and_the_pool_takes_the_other_side():
    netting = Netting(FEES, POOL)
    owner, liquidator, winner = OWNERS[0], OWNERS[1], OWNERS[2]
    netting.apply(owner, "FundingPaid", {"sub_account": 0, "market": "SOL-PERP", "amount": -30}, position=1)
    netting.apply(owner, "Liquidated", {"sub_account": 0, "realized_pnl": -500, "penalty": 40}, position=2)
    netting.apply(liquidator, "LiquidationTakenOver", {"sub_account": 0, "realized_pnl": 0, "reward": 20}, position=3)
    netting.apply(owner, "DeficitCovered", {"sub_account": 0, "insurance_covered": 60, "adl_covered": 10}, position=4)
    netting.apply(winner, "AutoDeleveraged", {"sub_account": 0, "amount": 10}, position=5)
    entries = {(account.owner, account.sub_account): amount for account, _, amount in netting.entries()}
    assert entries[(owner, 0)] == -30 - 540 + 70 and entries[(liquidator, 0)] == 20 and entries[(winner, 0)] == -10
    assert sum(entries.values()) == 0 and entries[(POOL.owner, 1)] == 30 + 540 - 70 - 20 + 10


def test_unrealized_counterparty_gains_are_carried_by_the_pool():
    netting = Netting(FEES, POOL)
    netting.apply(OWNERS[0], "TradeSettled", trade(0, 10, 0), position=1)
    assert netting.entries() == [(AccountKey(OWNERS[0], 0), "USDC", 10), (POOL, "USDC", -10)]


def test_a_sub_account_beyond_the_chain_s_range_stops_the_settler():
    netting = Netting(FEES, POOL)
    try:
        netting.apply(OWNERS[0], "TradeSettled", trade(256, 1, 0), position=1)
    except CannotSettle as error:
        assert "256" in str(error)
    else:
        raise AssertionError("sub-account 256 was accepted")


events = st.one_of(
    st.builds(lambda o, s, r, f: ("TradeSettled", o, trade(s, r, f)), st.sampled_from(OWNERS), st.integers(0, 3),
              st.integers(-10**9, 10**9), st.integers(-10**5, 10**6)),
    st.builds(lambda o, a, f, t: ("Transferred", o, {"from_sub_account": f, "to_sub_account": t, "asset": "USDC",
                                                      "amount": a}),
              st.sampled_from(OWNERS), st.integers(1, 10**9), st.integers(0, 3), st.integers(0, 3)),
    st.builds(lambda o, s, a: ("FundingPaid", o, {"sub_account": s, "amount": a}), st.sampled_from(OWNERS),
              st.integers(0, 3), st.integers(-10**8, 10**8)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=30))
def test_every_batch_sums_to_zero_per_asset(stream):
    netting = Netting(FEES, POOL)
    for position, (event_type, owner, payload) in enumerate(stream, start=1):
        netting.apply(owner, event_type, payload, position)
    sums: dict[str, int] = {}
    for _account, asset, amount in netting.entries():
        sums[asset] = sums.get(asset, 0) + amount
        assert amount != 0
    assert all(total == 0 for total in sums.values())
    # credits come first: the program checks overdraw delta by delta
    amounts = [amount for _, _, amount in netting.entries()]
    assert amounts == sorted(amounts, reverse=True)


def test_a_legacy_transaction_fits_twenty_accounts():
    client, assets = QuantDeskClient(), AssetMap(("USDC",), (Keypair().pubkey(),))
    netting = Netting(FEES, POOL)
    owners = (str(Keypair().pubkey()) for _ in range(100))
    while True:
        before = copy.deepcopy(netting)
        netting.apply(next(owners), "TradeSettled", trade(0, 5, 1), position=1)
        if not fits(netting):
            break
    # 19 traders + the fee and pool accounts = 21 keys would not fit; 18 + 2 = 20 do
    assert len(before.accounts()) == 20
    authority = Keypair().pubkey()
    built = build_instruction(client, authority, assets, 1, bytes(32), bytes(32), before.entries(), before.payouts)
    assert planned_size(before.entries(), before.payouts) == transaction_size(built, authority) <= 1232


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(-50, 50)), max_size=25),
       st.lists(st.tuples(st.integers(0, 5), st.integers(1, 9), st.booleans()), max_size=6))
def test_the_planned_size_is_the_built_size(trades, withdrawals):
    client, mint = QuantDeskClient(), Keypair().pubkey()
    assets, authority = AssetMap(("USDC",), (mint,)), Keypair().pubkey()
    netting = Netting(FEES, POOL)
    for owner_index, sub_account, realized in trades:
        netting.apply(OWNERS[owner_index % 4], "TradeSettled", trade(sub_account, realized, 1), position=1)
    for owner_index, amount, elsewhere in withdrawals:
        owner = OWNERS[owner_index % 4]
        netting.apply(owner, "WithdrawalRequested", {"sub_account": 0, "asset": "USDC", "amount": amount,
                                                     "withdrawal_id": amount,
                                                     "destination": OWNERS[3] if elsewhere else owner}, position=2)
    built = build_instruction(client, authority, assets, 1, bytes(32), bytes(32), netting.entries(), netting.payouts)
    assert planned_size(netting.entries(), netting.payouts) == transaction_size(built, authority)


def test_the_asset_map_refuses_an_asset_without_a_mint():
    assets = AssetMap(("USDC",), (Keypair().pubkey(),))
    assert assets.index_of("USDC") == 0 and assets.symbol_of(0) == "USDC"
    try:
        assets.index_of("SOL")
    except KeyError as error:
        assert "SOL" in str(error)
    else:
        raise AssertionError("SOL has no mint")


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 70), st.integers(0, 4))
def test_the_planned_v0_size_is_the_built_size(traders, withdrawals):
    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.hash import Hash
    from solders.message import MessageV0
    from solders.transaction import VersionedTransaction

    client, mint, authority = QuantDeskClient(), Keypair().pubkey(), Keypair()
    assets = AssetMap(("USDC",), (mint,))
    netting = Netting(FEES, POOL)
    for owner in [str(Keypair().pubkey()) for _ in range(traders)]:
        netting.apply(owner, "TradeSettled", trade(0, 3, 1), position=1)
    for index in range(withdrawals):
        netting.apply(OWNERS[index], "WithdrawalRequested", {"sub_account": 0, "asset": "USDC", "amount": 5,
                                                             "withdrawal_id": index, "destination": OWNERS[index]}, 2)
    built = build_instruction(client, authority.pubkey(), assets, 1, bytes(32), bytes(32), netting.entries(),
                              netting.payouts)
    table = AddressLookupTableAccount(Keypair().pubkey(), [m.pubkey for m in built.accounts
                                                           if m.pubkey != authority.pubkey()])
    message = MessageV0.try_compile(authority.pubkey(), [built], [table], Hash.default())
    size = len(bytes(VersionedTransaction(message, [authority])))
    assert planned_size(netting.entries(), netting.payouts, lookup_table=True) == size
