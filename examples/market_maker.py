"""A demo market maker: keeps a ladder of bids and asks around a drifting reference price.

    python -m examples.market_maker --nats nats://127.0.0.1:4222 [--levels 3] [--interval 1.0]

Every interval it cancels its quotes and places new ones (cancel-replace), and prints its fills.
"""

import asyncio
import random

from commands.messages import SetOraclePrice
from examples.common import BASE, USDC, parser, snap, started_bot


async def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--levels", type=int, default=3)
    arguments.add_argument("--interval", type=float, default=1.0)
    arguments.add_argument("--spread-bps", type=int, default=10)
    options = arguments.parse_args()
    async with started_bot(options, "maker", usdc=1_000_000) as started:
        bot, operator, mid = started.bot, started.operator, started.reference_price
        while True:
            mid = max(USDC, mid + random.randint(-5, 5) * 10_000)  # a random walk in ticks
            await operator.send(SetOraclePrice(symbol=options.market.split("-")[0], price=mid))
            await bot.cancel_all(options.market)
            for level in range(1, options.levels + 1):
                offset = mid * options.spread_bps * level // 10_000
                size = BASE // 10 * level
                await bot.place_order(options.market, "buy", size=size, price=snap(mid - offset))
                await bot.place_order(options.market, "sell", size=size, price=snap(mid + offset + 9_999))
            await asyncio.sleep(options.interval)


if __name__ == "__main__":
    asyncio.run(main())
