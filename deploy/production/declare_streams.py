"""`python -m deploy.production.declare_streams`: create our streams on a cluster, replicated, once.

Reads ``QD_NATS_URL`` (every node, comma-separated) and ``QD_STREAM_REPLICAS`` (default 3), and
declares bus.streams' streams and the engine consumer with that many replicas before any service
starts. The services' own start-up declaration (``bus.streams.declare``) then finds them in place
and keeps their replica count (it only changes it when given ``QD_STREAM_REPLICAS``). Exits
non-zero on failure so the compose file's ``service_completed_successfully`` holds the services back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import nats

from bus import streams
from deploy.settings import StreamsSettings, load_settings
from observability.logs import configure_logging

log = logging.getLogger("deploy.streams")


def replicated(configs, replicas: int) -> tuple:
    """`configs` (stream or consumer configs) with `replicas` replicas each."""
    return tuple(dataclasses.replace(config, num_replicas=replicas) for config in configs)


async def declare_replicated(servers: list[str], replicas: int) -> None:
    """Declare the streams and consumers of bus.streams with `replicas` replicas."""
    connection = await nats.connect(servers, connect_timeout=5, max_reconnect_attempts=30)
    try:
        js = connection.jetstream()
        wanted = replicated(streams.STREAMS, replicas)
        await streams.declare(js, wanted, consumers=())
        for config in wanted:  # declared earlier with another count: declare() leaves replicas alone
            if (await js.stream_info(config.name)).config.num_replicas != replicas:
                await js.update_stream(config)
            log.warning("stream %s: %d replicas", config.name, replicas)
        # Consumers last: a consumer may not have more replicas than its stream.
        consumers = tuple((stream, dataclasses.replace(config, num_replicas=replicas))
                          for stream, config in streams.CONSUMERS)
        await streams.declare(js, (), consumers)
    finally:
        await connection.close()


def main() -> None:
    settings = load_settings(StreamsSettings)
    configure_logging("streams", settings.log_level)
    asyncio.run(declare_replicated(settings.nats_servers, settings.stream_replicas))


if __name__ == "__main__":
    main()
