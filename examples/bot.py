"""An example bot: opens an account, gets a dev deposit, places and cancels an order, then
crosses the book and prints its fills.

    python -m examples.bot --nats nats://127.0.0.1:4222 [--keyfile bot.json]

The engine (with the dev admin key, see examples.common) and the relay must be running; with
`examples.market_maker` running too, the crossing order trades against its quotes.
"""

import asyncio
import uuid
from decimal import Decimal

from examples.common import BASE, USDC, connect, ensure_market, open_and_fund, parser, print_fills, snap


async def main() -> None:
    options = parser(__doc__.splitlines()[0]).parse_args()
    bot, operator = await connect(options)
    price = int(options.price * USDC)
    try:
        await ensure_market(operator, options.market, price)
        fills = asyncio.create_task(print_fills(bot, "bot"))
        await open_and_fund(bot, operator, usdc=10_000)

        # A resting bid far below the market, then its cancellation.
        order_id = f"rest-{uuid.uuid4().hex[:8]}"
        placed = await bot.place_order(options.market, "buy", size=BASE // 10, price=snap(price // 2),
                                       client_order_id=order_id)
        print(f"place {order_id}: {'accepted' if placed.accepted else placed.reason} "
              f"(consistency token {placed.position})")
        cancelled = await bot.cancel_order(options.market, order_id)
        print(f"cancel {order_id}: {'accepted' if cancelled.accepted else cancelled.reason}")

        # An IOC buy through the ask side: fills against any resting liquidity.
        taken = await bot.place_order(options.market, "buy", size=BASE // 10,
                                      price=snap(price * 105 // 100), time_in_force="ioc")
        print(f"IOC buy 0.1 @ <= {Decimal(snap(price * 105 // 100)) / USDC}: "
              f"{'accepted' if taken.accepted else taken.reason + ' ' + taken.message}")
        await asyncio.sleep(1.0)  # let the fills arrive on the account feed
        fills.cancel()
    finally:
        await bot.close()
        await operator.close()


if __name__ == "__main__":
    asyncio.run(main())
