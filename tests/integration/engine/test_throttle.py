"""One account flooding the engine is refused `RateLimited` past its burst, stored and answered
like any refusal, while other accounts and the operator go on (bus.engine_throttle)."""

import asyncio

import msgspec

from bus import subjects
from commands import messages as m
from commands.receipts import Reply
from commands.rejections import Rejection
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, signed, usdc


async def test_an_account_over_its_command_rate_is_refused_while_others_go_on(
        nc, engine_nats_url, fresh_pg_dsn, admin):
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin, command_rate=1, command_burst=3):
        operator = await Bot(nc, admin).start()
        flooder, other = Bot(nc), Bot(nc)
        # Given accounts allowed bursts of 3 commands at 1 a second
        # When one sends 6 at once, with the operator crediting it meanwhile
        flood = [signed(flooder.keypair, m.OpenAccount()) for _ in range(6)]
        waiting = [await operator.publish(envelope) for envelope in flood]
        credits = [await operator.publish(signed(admin, m.Deposit(asset="USDC", amount=usdc(1)),
                                                 owner=flooder.owner)) for _ in range(5)]
        replies = await asyncio.gather(*(operator.wait(reply_to) for reply_to in waiting))
        # Then the first 3 are applied (the first opens the account, the next two find it open)
        assert [reply.reason for reply in replies[:3]] == ["", "AccountExists", "AccountExists"]
        # and the rest are refused for the rate, with a receipt like any refusal
        assert {reply.reason for reply in replies[3:]} == {Rejection.RATE_LIMITED}
        assert all(reply.position > 0 and "1 commands/s" in reply.message for reply in replies[3:])
        # The operator's commands for that account are not throttled
        assert all(reply.accepted for reply in await asyncio.gather(*map(operator.wait, credits)))
        # Another account is not affected
        assert (await operator.wait(await operator.publish(signed(other.keypair, m.OpenAccount())))).accepted
        # The refusal stays queryable by command id, as every outcome
        answer = await nc.request(subjects.RPC_RECEIPT, f"{flooder.owner}/{flood[3].command_id}".encode(), 5)
        assert msgspec.json.decode(answer.data, type=Reply) == replies[3]
        # And a second later the account is admitted again
        await asyncio.sleep(1.1)
        later = await operator.wait(await operator.publish(signed(flooder.keypair, m.CancelAll(market="SOL-PERP"))))
        assert later.reason != Rejection.RATE_LIMITED
