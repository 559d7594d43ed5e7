"""The engine as Prometheus sees it: commands by outcome and reason, batch sizes, commit latency
and positions, recorded by the engine itself after each commit."""

from __future__ import annotations

import msgspec
from bus import subjects
from bus.engine import RPC_STATE
from commands import messages as m
from observability.health import Readiness
from observability.metrics import EngineMetrics
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, signed, sol_perp_market, usdc
from tests.probes import registry_samples


async def test_the_engine_counts_outcomes_batches_and_positions(nc, engine_nats_url, fresh_pg_dsn, admin):
    metrics, readiness = EngineMetrics(), Readiness()
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin, metrics=metrics, readiness=readiness):
        operator = await Bot(nc, admin).start()
        # An accepted admin command, and a refused one (the same market listed twice)
        assert (await operator.send(sol_perp_market())).accepted
        refused = await operator.send(sol_perp_market())
        assert not refused.accepted
        # Bytes that are no command at all
        malformed = await operator.send_raw(subjects.command_for_type("OpenAccount"), b"not json")
        assert malformed.reason == "Malformed"
        # A command sent twice past JetStream's duplicate window: the second is answered from the store
        price = signed(admin, m.SetOraclePrice(symbol="SOL", price=usdc(100)), owner=operator.owner)
        assert (await operator.wait(await operator.publish(price))).accepted
        repeat = await operator.wait(await operator.publish(price, msg_id="sent-again"))
        assert repeat.duplicate
        state = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=20)).data)

        found = registry_samples(metrics.registry)
        assert found[("qd_commands_total", (("outcome", "accepted"), ("reason", "")))] == 2
        assert found[("qd_commands_total", (("outcome", "rejected"), ("reason", refused.reason)))] == 1
        assert found[("qd_commands_total", (("outcome", "rejected"), ("reason", "Malformed")))] == 1
        assert found[("qd_commands_total", (("outcome", "rejected"), ("reason", "Duplicate")))] == 1
        assert found[("qd_engine_batch_size_sum", ())] == 5  # every command, in some batch
        assert found[("qd_engine_commit_seconds_count", ())] == found[("qd_engine_batch_size_count", ())] >= 1
        assert found[("qd_engine_committed_position", ())] == state["position"]
        assert found[("qd_engine_log_position", ())] == state["log_position"]
        assert readiness.evaluate() == (True, {"nats": True})
