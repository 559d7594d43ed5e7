"""Deliveries that go astray, made on purpose against a real nats-server."""

import asyncio
import contextlib
import json


@contextlib.asynccontextmanager
async def deliveries_astray(nc, stream: str, durable: str, batch: int, seconds: float = 3.0):
    """The consumer's next `batch` deliveries go where its puller never sees them (as if routed
    through a dying node): a pull request from another inbox, queued behind the puller's own
    (JetStream delivers only where someone listens). Yields the list they land in; on leaving,
    waits up to `seconds` for all of them."""
    astray = []

    async def drop(msg) -> None:
        if msg.reply:  # a message, not the request's closing status
            astray.append(msg)
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox, cb=drop)
    request = {"batch": batch, "expires": int(seconds * 1e9)}
    await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", json.dumps(request).encode(), reply=inbox)
    await nc.flush()
    try:
        yield astray
        for _ in range(int(seconds * 100)):
            if len(astray) == batch:
                break
            await asyncio.sleep(0.01)
    finally:
        await subscription.unsubscribe()
