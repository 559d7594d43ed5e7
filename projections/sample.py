"""A small trading session through the real domain, plus hand-placed risk events (funding,
liquidation, insurance) with the domain's shapes: the shared fixture of the read side's tests,
the read API's tests and the benchmarks.
"""

from __future__ import annotations

import random

from projections.event import ProjectedEvent
from projections.scenario import DomainScript

def owner_keypair(index: int):
    """The wallet key of sample owner `index` (deterministic, so tests can sign in as it)."""
    from solders.keypair import Keypair

    return Keypair.from_seed(bytes([index + 1]) * 32)


OWNERS = [str(owner_keypair(i).pubkey()) for i in range(4)]
MARKETS = {"SOL-PERP": ("SOL", 100_000_000), "BTC-PERP": ("BTC", 60_000_000_000)}
MINUTE = 60 * 10**9


def trading_session(*, orders: int = 120, seed: int = 7, minutes: int = 90) -> DomainScript:
    """Markets, funded accounts, then `orders` random limit orders (crossing and resting),
    some cancels and a modify, spread over `minutes` of command time."""
    rng = random.Random(seed)
    script = DomainScript()
    for symbol, (base, price) in MARKETS.items():
        script.create_market(symbol=symbol, base_asset=base, tick_size=1000, lot_size=1_000_000,
                             min_size=1_000_000, max_leverage=20, initial_margin_bps=500,
                             maintenance_margin_bps=300, maker_fee_bps=2, taker_fee_bps=5)
        script.set_oracle_price(symbol=base, price=price)
    for owner in OWNERS:
        script.open_account(owner=owner)
        script.deposit(owner=owner, sub_account=0, asset="USDC", amount=1_000_000 * 10**6)
    script.transfer(owner=OWNERS[0], from_sub_account=0, to_sub_account=1, asset="USDC",
                    amount=5_000 * 10**6)
    script.request_withdrawal(owner=OWNERS[1], sub_account=0, asset="USDC", amount=1_000 * 10**6,
                              destination=OWNERS[1])
    # A second one the chain could not pay out: the collateral comes back
    refused = script.request_withdrawal(owner=OWNERS[1], sub_account=0, asset="USDC",
                                        amount=300 * 10**6, destination=OWNERS[1])
    script.refund_withdrawal(owner=OWNERS[1], withdrawal_id=refused, reason="NoTokenAccount")
    step = minutes * MINUTE // max(orders, 1)
    resting: list[tuple[str, str, int]] = []
    for index in range(orders):
        script.advance(step)
        symbol = rng.choice(list(MARKETS))
        mid = MARKETS[symbol][1]
        owner = rng.choice(OWNERS)
        side = rng.choice(["buy", "sell"])
        offset = rng.randint(-20, 20) * mid // 2000 // 1000 * 1000
        price = mid + offset
        # The domain refuses new risk on a stale oracle (> 10 s): the feed publishes first.
        script.set_oracle_price(symbol=MARKETS[symbol][0], price=mid)
        outcome = script.place_order(owner=owner, sub_account=0, market=symbol, side=side,
                                     size=rng.randint(1, 20) * 10_000_000, price=price)
        if getattr(outcome, "resting_size", 0):
            resting.append((owner, symbol, outcome.order_id))
        if index % 17 == 16 and resting:
            owner_, symbol_, order_id = resting.pop(rng.randrange(len(resting)))
            script.cancel_order(owner=owner_, sub_account=0, market=symbol_, order_id=order_id)
        if index % 29 == 28 and resting:
            owner_, symbol_, order_id = resting[-1]
            script.modify_order(owner=owner_, sub_account=0, market=symbol_, order_id=order_id,
                                new_price=MARKETS[symbol_][1], new_size=5_000_000)
    return script


def synthetic_risk_events(after: ProjectedEvent, owner: str = OWNERS[2]) -> list[ProjectedEvent]:
    """Funding, a liquidation and an insurance-fund change with the domain's own names and
    fields (domain/account.py, domain/market.py, domain/oracle.py), placed by hand (a real
    liquidation needs a crash of the price), and two command receipts as the engine records
    them (CommandReceipt.Recorded)."""
    position, at = after.position, after.at

    def make(offset: int, aggregate: str, event_type: str, key: str, payload: dict) -> ProjectedEvent:
        return ProjectedEvent(position=position + offset, type=event_type, aggregate_type=aggregate,
                              aggregate_id=f"{aggregate}:{key}", version=1000 + offset,
                              at=at + offset * MINUTE, seq=after.seq + offset, key=key, payload=payload)

    return [
        make(1, "Market", "FundingRateUpdated", "SOL-PERP",
             {"rate": 125_000, "mark_price": 100_100_000, "index_price": 100_000_000,
              "period": 490_000, "periods": 1, "premium": 1_000_000, "clamp": 0, "payments": 1,
              "rounding_to_insurance": 0}),
        make(2, "Account", "FundingPaid", owner,
             {"sub_account": 0, "market": "SOL-PERP", "rate": 125_000, "amount": -12_500,
              "position_size": 100_000_000, "period": 490_000, "index_price": 100_000_000}),
        make(3, "Account", "Liquidated", owner,
             {"sub_account": 0, "market": "SOL-PERP", "size": 100_000_000, "side": "sell",
              "price": 95_000_000, "base_after": 0, "entry_notional_after": 0,
              "realized_pnl": -500_000, "penalty": 5_000, "liquidator_reward": 2_500,
              "insurance_fee": 2_500, "liquidator": OWNERS[3], "reason": "MaintenanceMarginBreached",
              "margin_ratio_bps": 280, "maintenance_margin": 300_000, "collateral_value": 290_000,
              "mark_price": 95_000_000, "oracle_price": 95_010_000, "oracle_confidence": 10_000,
              "oracle_validity": "Valid", "oracle_publish_time": at}),
        make(4, "InsuranceFund", "InsuranceFundChanged", "_",
             {"delta": 2_500, "balance": 1_002_500, "reason": "LiquidationFee",
              "account": f"{owner}/0", "market": "SOL-PERP"}),
        make(5, "CommandReceipt", "Recorded", owner,
             {"command_id": "client-cmd-1", "owner": owner, "sub_account": 0, "kind": "PlaceOrder",
              "accepted": True, "reason": "", "message": "", "events": [["ab", 3]]}),
        make(6, "CommandReceipt", "Recorded", owner,
             {"command_id": "client-cmd-2", "owner": owner, "sub_account": 0, "kind": "PlaceOrder",
              "accepted": False, "reason": "InsufficientMargin", "message": "needs 5 USDC more",
              "events": []}),
    ]


def sample_events(orders: int = 120, seed: int = 7) -> list[ProjectedEvent]:
    """The whole sample: domain events then the synthetic risk events."""
    events = trading_session(orders=orders, seed=seed).events
    return events + synthetic_risk_events(events[-1])
