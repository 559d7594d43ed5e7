"""Services configured by environment variables only: wrong settings fail at start-up with every
problem named by its variable, secrets never echoed; the launcher turns settings into the flags
the services' real entry points accept today."""

from __future__ import annotations

import asyncio

import pytest

from deploy.production.launch import ENTRIES, command_for
from deploy.settings import (
    SETTINGS_BY_SERVICE, EngineSettings, ProjectorSettings, ReadApiSettings, RelaySettings,
    SettingsError, StreamsSettings, load_settings, variable_names,
)

KEY = "11111111111111111111111111111111"
DSN = "host=db port=5432 dbname=quantdesk user=qd password=hunter2-very-secret"
SECRET = "s" * 40


def test_a_cluster_url_list_and_key_lists_are_split_on_commas():
    settings = load_settings(EngineSettings, {
        "QD_PG_DSN": DSN, "QD_NATS_URL": "nats://a:4222, nats://b:4222,nats://c:4222",
        "QD_ADMIN_PUBKEY": f"{KEY},{KEY}", "QD_LOG_LEVEL": "debug"})
    assert settings.nats_servers == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    assert settings.admin_pubkey == [KEY, KEY] and settings.log_level == "DEBUG"


def test_every_problem_is_named_by_its_variable_and_no_secret_is_echoed():
    with pytest.raises(SettingsError) as failure:
        load_settings(EngineSettings, {"QD_NATS_URL": "http://a:4222", "QD_ADMIN_PUBKEY": "not-a-key",
                                       "QD_ENGINE_BATCH_SIZE": "0", "QD_METRICS_PORT": "70000"})
    message = str(failure.value)
    for expected in ("QD_PG_DSN: is required but not set", "QD_NATS_URL:", "'http://a:4222' is not a nats://",
                     "QD_ADMIN_PUBKEY:", "QD_ENGINE_BATCH_SIZE:", "QD_METRICS_PORT:"):
        assert expected in message
    with pytest.raises(SettingsError) as failure:
        load_settings(ReadApiSettings, {"QD_PG_DSN": "password=hunter2 = = bad", "QD_READ_API_TOKEN_SECRET": "hunter3"})
    assert "hunter2" not in str(failure.value) and "hunter3" not in str(failure.value)
    assert "QD_READ_API_TOKEN_SECRET: Value error, must be at least 32 characters" in str(failure.value)


def test_secrets_stay_out_of_reprs():
    settings = load_settings(ReadApiSettings, {"QD_PG_DSN": DSN, "QD_READ_API_TOKEN_SECRET": SECRET})
    assert "hunter2" not in repr(settings) and SECRET not in repr(settings)


def test_replicas_must_be_odd_and_projectors_known():
    with pytest.raises(SettingsError, match="QD_STREAM_REPLICAS: .*must be odd"):
        load_settings(StreamsSettings, {"QD_STREAM_REPLICAS": "2"})
    with pytest.raises(SettingsError, match="QD_PROJECTOR: .*unknown projector 'nope'; known: .*trades"):
        load_settings(ProjectorSettings, {"QD_PG_DSN": DSN, "QD_PROJECTOR": "nope"})


def test_the_real_environment_is_read(monkeypatch):
    monkeypatch.setenv("QD_PG_DSN", DSN)
    monkeypatch.setenv("QD_RELAY_WINDOW", "250")
    assert load_settings(RelaySettings).relay_window == 250


def test_every_service_has_settings_and_a_launcher_entry():
    assert set(ENTRIES) == set(SETTINGS_BY_SERVICE)
    assert variable_names(EngineSettings)["QD_PG_DSN"] is True
    assert variable_names(EngineSettings)["QD_NATS_URL"] is False


def test_launched_flags_are_the_ones_the_engine_and_relay_accept(monkeypatch):
    import bus.relay
    from bus.engine_cli import settings_from_arguments

    env = {"QD_PG_DSN": DSN, "QD_NATS_URL": "nats://a:4222,nats://b:4222", "QD_ADMIN_PUBKEY": KEY,
           "QD_DEPOSIT_PUBKEY": KEY, "QD_ENGINE_BATCH_SIZE": "500", "QD_ENGINE_COMMAND_RATE": "50",
           "QD_SETTLER_PUBKEY": KEY}
    command = command_for("engine", env)
    assert command[1:3] == ["-m", "bus.standby"] and DSN not in command  # every engine under the lease
    parsed = settings_from_arguments([*command[3:], "--pg", DSN])
    assert parsed.nats_url == "nats://a:4222,nats://b:4222" and parsed.batch_size == 500
    assert (parsed.command_rate, parsed.command_burst) == (50, 2000)
    assert parsed.operators.admin == frozenset({KEY}) and parsed.operators.deposit_watchers == frozenset({KEY})
    assert parsed.operators.settlers == frozenset({KEY})
    monkeypatch.setenv("QD_PG_DSN", DSN)  # what the launcher's exec keeps in the environment
    relay_command = command_for("relay", env)
    assert DSN not in relay_command
    relay = bus.relay._parse_args(relay_command[3:])
    assert (relay.nats, relay.pg, relay.window, relay.metrics_port) == ("nats://a:4222,nats://b:4222", DSN, 1000, 9100)


def test_launched_flags_are_the_ones_the_projector_accepts(monkeypatch):
    import projections.run

    seen = {}

    async def fake_projector(name, nats_url, dsn, *, batch_size, **_):
        seen.update(name=name, nats_url=nats_url, dsn=dsn, batch_size=batch_size)

    monkeypatch.setattr(projections.run, "run_projector", fake_projector)
    monkeypatch.setenv("QD_PG_DSN", DSN)
    command = command_for("projector", {"QD_PG_DSN": DSN, "QD_PROJECTOR": "trades", "QD_PROJECTOR_BATCH": "300"})
    assert command[1:3] == ["-m", "projections.run"] and DSN not in command
    assert projections.run.main(command[3:]) == 0
    assert seen == {"name": "trades", "nats_url": "nats://127.0.0.1:4222", "dsn": DSN, "batch_size": 300}


def test_launched_flags_are_the_ones_the_read_api_accepts(monkeypatch):
    read_api_main = pytest.importorskip("read_api.__main__")
    from read_api import server

    seen = {}
    monkeypatch.setattr(server, "create_app", lambda settings, **observability: settings)
    monkeypatch.setattr(read_api_main, "supervise",
                        lambda count, serve_one: seen.update(workers=count, serve=serve_one))
    monkeypatch.setenv("QD_READ_API_TOKEN_SECRET", SECRET)
    command = command_for("read-api", {"QD_PG_DSN": DSN, "QD_READ_API_TOKEN_SECRET": SECRET,
                                       "QD_READ_API_PORT": "8181", "QD_READ_API_WORKERS": "2"})
    for name in ("QD_READ_API_PG", "QD_READ_API_POOL", "QD_READ_API_ANONYMOUS_RATE"):
        monkeypatch.delenv(name, raising=False)  # the read API's launcher hands these to its workers
    read_api_main.main(command[3:])
    assert seen["workers"] == 2 and seen["serve"].args[1] == 8181  # serve(host, port, ...)
    app = server.app_from_environment()
    assert app.dsn == DSN and app.token_secret == SECRET.encode()


def test_launched_settler_and_watcher_read_the_same_environment(monkeypatch, tmp_path):
    from solders.keypair import Keypair

    from client.keys import save_keypair
    from onchain.settler.__main__ import settings_and_metrics_port as settler_settings
    from onchain.watcher.__main__ import settings_and_metrics_port as watcher_settings

    keyfile = tmp_path / "authority.json"
    save_keypair(Keypair(), keyfile)
    env = {"QD_PG_DSN": DSN, "QD_NATS_URL": "nats://a:4222,nats://b:4222", "QD_RPC_URLS": "http://rpc-1:8899,http://rpc-2:8899",
           "QD_ONCHAIN_ASSETS": "USDC,SOL", "QD_SETTLER_KEYPAIR": str(keyfile), "QD_DEPOSIT_KEYPAIR": str(keyfile),
           "QD_STATE_DIR": str(tmp_path)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # what the launcher's exec keeps in the environment
    settler, settler_port = settler_settings(command_for("settler", env)[3:])
    assert settler.nats_url == "nats://a:4222,nats://b:4222" and settler.rpc_urls == ["http://rpc-1:8899", "http://rpc-2:8899"]
    watcher, watcher_port = watcher_settings(command_for("deposit-watcher", env)[3:])
    assert watcher.nats_url == "nats://a:4222,nats://b:4222" and watcher.cursor_path.parent == tmp_path
    assert settler_port == watcher_port == 9100  # QD_METRICS_PORT's default
    with pytest.raises(SettingsError, match="QD_SETTLER_KEYPAIR: .*no such file"):
        command_for("settler", {**env, "QD_SETTLER_KEYPAIR": str(tmp_path / "missing.json")})


def test_a_settler_whose_records_the_engine_would_refuse_does_not_start(monkeypatch, tmp_path, capsys):
    from solders.keypair import Keypair

    from client.keys import save_keypair
    from onchain.settler.__main__ import settings_and_metrics_port as settler_settings

    authority = Keypair()
    save_keypair(authority, tmp_path / "authority.json")
    monkeypatch.setenv("QD_SETTLER_KEYPAIR", str(tmp_path / "authority.json"))
    monkeypatch.setenv("QD_PG_DSN", DSN)
    # Given the engine's QD_SETTLER_PUBKEY names another key than the one signing the records
    monkeypatch.setenv("QD_SETTLER_PUBKEY", str(Keypair().pubkey()))
    with pytest.raises(SystemExit):
        settler_settings([])
    assert f"signed by {authority.pubkey()}, which QD_SETTLER_PUBKEY" in capsys.readouterr().err
    # ... and starts when it names the signing key
    monkeypatch.setenv("QD_SETTLER_PUBKEY", str(authority.pubkey()))
    assert settler_settings([])[0].record_key is None  # the authority signs


def test_launched_flags_are_the_ones_the_price_feed_and_the_keeper_accept(tmp_path):
    from risk import feed, keeper

    keyfile = tmp_path / "operator.json"
    keyfile.write_text("[]")
    env = {"QD_NATS_URL": "nats://a:4222,nats://b:4222", "QD_PRICE_FEED_KEYPAIR": str(keyfile),
           "QD_KEEPER_KEYPAIR": str(keyfile), "QD_METRICS_PORT": "9111"}
    # The feed: Pyth's Hermes (every node of the cluster to its bot client), metrics on the port
    options = feed.parse(command_for("price-feed", {**env, "QD_PRICE_SOURCE": "pyth",
                                                    "QD_PRICE_HERMES_URL": "https://hermes.example"})[3:])
    assert (options.source, options.url, options.nats) == ("hermes", "https://hermes.example",
                                                           "nats://a:4222,nats://b:4222")
    assert (options.admin_keyfile, options.metrics_port) == (str(keyfile), 9111)
    assert feed.parse(command_for("price-feed", env)[3:]).source == "synthetic"
    # The keeper: liquidating every 3rd sweep when asked
    options = keeper.parse(command_for("keeper", {**env, "QD_KEEPER_LIQUIDATE": "true",
                                                  "QD_KEEPER_LIQUIDATE_EVERY": "3"})[3:])
    assert (options.liquidate, options.liquidate_every, options.metrics_port) == (True, 3, 9111)
    assert keeper.parse(command_for("keeper", env)[3:]).liquidate is False
    with pytest.raises(SettingsError, match="QD_KEEPER_KEYPAIR: is required"):
        command_for("keeper", {"QD_NATS_URL": "nats://a:4222"})
