"""Laws of settle_batch in the real SVM, checked against a Python model over random batches:
a batch lands iff its deltas sum to zero per asset and no balance goes negative, and the
vault always holds exactly the sum of the settled balances (money never appears or vanishes)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onchain.interface.spec import ERROR_CODES
from onchain.local_chain import Chain
from tests.integration.onchain.conftest import START_TIME, USDC, build_market

TRADERS = 5
DEPOSIT = 1_000

delta_lists = st.lists(st.tuples(st.integers(0, TRADERS - 1), st.integers(-1_500, 1_500)), min_size=1, max_size=8)


def balanced(deltas):
    """Make a random delta list sum to zero by charging the remainder to the first account."""
    total = sum(amount for _, amount in deltas)
    return deltas + [(deltas[0][0], -total)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.tuples(delta_lists, st.booleans()), min_size=1, max_size=6))
def test_batches_land_exactly_when_the_model_says_and_conserve_money(batches):
    chain = Chain()
    chain.set_unix_time(START_TIME)
    market = build_market(chain)
    traders = [market.alice, market.bob, market.fees, market.insurance, market.trader()]
    for trader in traders:
        market.deposit(trader, DEPOSIT)
    model = [DEPOSIT] * TRADERS
    sequence, previous = 0, bytes(32)
    vault = chain.client.vault_address(market.usdc)
    for raw_deltas, make_balanced in batches:
        deltas = balanced(raw_deltas) if make_balanced else raw_deltas
        # What the model expects
        after = list(model)
        overdrawn = False
        for index, amount in deltas:
            after[index] += amount
            overdrawn = overdrawn or after[index] < 0
        zero_sum = sum(amount for _, amount in deltas) == 0
        # What the chain does
        log_hash = bytes([sequence + 1]) * 32
        instruction = chain.client.settle_batch(market.authority.pubkey(), sequence + 1, previous, log_hash,
                                                [(traders[i].user_account, USDC, a) for i, a in deltas])
        sent = chain.send(instruction, market.authority)
        assert sent.ok == (zero_sum and not overdrawn), (deltas, sent.error)
        if sent.ok:
            model, sequence, previous = after, sequence + 1, log_hash
        elif overdrawn:
            assert sent.error_code in (ERROR_CODES["Overdraw"], ERROR_CODES["DeltasDoNotSumToZero"])
        else:
            assert sent.error_code == ERROR_CODES["DeltasDoNotSumToZero"]
        balances = [chain.decode("UserAccount", t.user_account).balances[USDC] for t in traders]
        assert balances == model
        assert sum(balances) == chain.token_balance(vault)
