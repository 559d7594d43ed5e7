"""The production stream set-up job on a real three-node cluster: streams and the engine consumer
end up with three replicas, also when a service had already declared them with one."""

import asyncio
import os
import subprocess
import sys

import nats
import pytest

from bus import streams
from tests.integration.cluster.conftest import ROOT

pytestmark = pytest.mark.slow


async def test_the_streams_job_makes_every_stream_r3(nats_cluster):
    nc = await nats.connect(nats_cluster.urls)
    js = nc.jetstream()
    try:
        # A service started first and declared the streams as bus.streams does today (R1)
        await streams.declare(js)
        assert (await js.stream_info(streams.EVENTS_STREAM)).config.num_replicas == 1

        # The job runs from the environment alone, through the launcher
        env = {**os.environ, "QD_NATS_URL": nats_cluster.url, "QD_STREAM_REPLICAS": "3"}
        job = subprocess.run([sys.executable, "-m", "deploy.production.launch", "streams"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert job.returncode == 0, job.stderr

        # Every stream and the engine consumer are now replicated on all three nodes
        for name in (streams.COMMANDS_STREAM, streams.EVENTS_STREAM):
            assert (await js.stream_info(name)).config.num_replicas == 3, name
            for _ in range(100):  # the new replicas catch up in the background
                if len((await js.stream_info(name)).cluster.replicas or []) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len((await js.stream_info(name)).cluster.replicas) == 2, name
        assert (await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)).config.num_replicas == 3

        # A service declaring again (R1 config) leaves the replicas alone
        await streams.declare(js)
        assert (await js.stream_info(streams.COMMANDS_STREAM)).config.num_replicas == 3
    finally:
        await nc.close()


def test_a_wrong_environment_stops_the_job_with_the_variable_named():
    env = {**os.environ, "QD_NATS_URL": "http://nope", "QD_STREAM_REPLICAS": "2"}
    job = subprocess.run([sys.executable, "-m", "deploy.production.launch", "streams"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert job.returncode != 0
    assert "QD_NATS_URL: Value error, 'http://nope' is not a nats:// or tls:// URL" in job.stderr
    assert "QD_STREAM_REPLICAS: Value error, must be odd" in job.stderr
