"""A demo taker: sends small IOC orders through the book at random, alternating sides.

    python -m examples.taker --nats nats://127.0.0.1:4222 [--interval 0.5]
"""

import asyncio
import random

from examples.common import BASE, USDC, connect, ensure_market, open_and_fund, parser, print_fills, snap


async def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--interval", type=float, default=0.5)
    options = arguments.parse_args()
    bot, operator = await connect(options)
    reference = int(options.price * USDC)
    await ensure_market(operator, options.market, reference)
    await open_and_fund(bot, operator, usdc=100_000)
    fills = asyncio.create_task(print_fills(bot, "taker"))
    try:
        while True:
            side = random.choice(("buy", "sell"))
            limit = reference * 110 // 100 if side == "buy" else reference * 90 // 100
            receipt = await bot.place_order(options.market, side, size=BASE // 20 * random.randint(1, 4),
                                            price=snap(limit), time_in_force="ioc")
            if not receipt.accepted:
                print(f"[taker] {side} refused: {receipt.reason} {receipt.message}", flush=True)
            await asyncio.sleep(options.interval)
    finally:
        fills.cancel()
        await bot.close()
        await operator.close()


if __name__ == "__main__":
    asyncio.run(main())
