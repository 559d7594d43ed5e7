"""A demo taker: sends small IOC orders through the book at random, alternating sides.

    python -m examples.taker --nats nats://127.0.0.1:4222 [--interval 0.5]
"""

import asyncio
import random

from examples.common import BASE, parser, snap, started_bot


async def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--interval", type=float, default=0.5)
    options = arguments.parse_args()
    async with started_bot(options, "taker", usdc=100_000) as started:
        bot, reference = started.bot, started.reference_price
        while True:
            side = random.choice(("buy", "sell"))
            limit = reference * 110 // 100 if side == "buy" else reference * 90 // 100
            receipt = await bot.place_order(options.market, side, size=BASE // 20 * random.randint(1, 4),
                                            price=snap(limit), time_in_force="ioc")
            if not receipt.accepted:
                print(f"[taker] {side} refused: {receipt.reason} {receipt.message}", flush=True)
            await asyncio.sleep(options.interval)


if __name__ == "__main__":
    asyncio.run(main())
