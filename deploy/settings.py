"""Start-up settings of every service, from environment variables only, validated with clear errors.

One pydantic-settings class per service; a field ``x`` is read from ``QD_X`` (case-insensitive).
A service builds its settings once in its bootstrap::

    settings = load_settings(EngineSettings)        # exits with every problem listed, by variable

Shared variables (the same meaning everywhere):

    QD_NATS_URL     one or more NATS URLs, comma-separated (every node of a cluster, so the
                    first connection survives any one node being down); nats:// or tls://
    QD_PG_DSN       a PostgreSQL conninfo or URL (secret: it may hold a password)
    QD_LOG_LEVEL    DEBUG | INFO | WARNING | ERROR (default INFO)
    QD_METRICS_PORT the /metrics, /healthz, /readyz port of observability.health (default 9100)

Secrets (``QD_PG_DSN``, ``QD_READ_API_TOKEN_SECRET``) are ``SecretStr``: never printed, never in
a repr or an error. Key material is passed as a *file path* (``*_KEYPAIR``, ``*_KEYFILE``: a mounted secret),
never as a value in the environment.

The price feed and the keeper sign their commands with an operator key (a keyfile whose public
key the engine lists in ``QD_ADMIN_PUBKEY``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "QD_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Port = Annotated[int, Field(ge=1, le=65535)]
CommaList = Annotated[list[str], NoDecode]
Replicas = Annotated[int, Field(ge=1, le=5, multiple_of=1)]  # JetStream wants an odd count: 1, 3, 5


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_pubkey(value: str) -> str:
    from solders.pubkey import Pubkey

    try:
        Pubkey.from_string(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a base58 ed25519 public key") from error
    return value


def _odd(replicas: int) -> int:
    if replicas % 2 == 0:
        raise ValueError("must be odd (1, 3 or 5): a raft group needs a majority")
    return replicas


class ServiceSettings(BaseSettings):
    """What every service reads."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, case_sensitive=False, extra="ignore",
                                      frozen=True)

    log_level: LogLevel = "INFO"
    metrics_port: Port = 9100

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("stream_replicas", check_fields=False)
    @classmethod
    def _odd_replicas(cls, replicas: int) -> int:
        return _odd(replicas)


class NatsClientSettings(ServiceSettings):
    nats_url: CommaList = Field(default_factory=lambda: ["nats://127.0.0.1:4222"], min_length=1)

    @field_validator("nats_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("nats_url")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("nats://", "tls://")):
                raise ValueError(f"{url!r} is not a nats:// or tls:// URL")
        return urls

    @property
    def nats_servers(self) -> list[str]:
        """The list to pass to ``nats.connect(servers=...)`` (it does not split a comma string)."""
        return list(self.nats_url)


class StoreSettings(ServiceSettings):
    pg_dsn: SecretStr

    @field_validator("pg_dsn")
    @classmethod
    def _check_dsn(cls, dsn: SecretStr) -> SecretStr:
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(dsn.get_secret_value())
        except Exception:  # noqa: BLE001 - psycopg's message would echo the secret
            raise ValueError("not a PostgreSQL conninfo string or postgresql:// URL") from None
        return dsn


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise ValueError(f"no such file {str(path)!r} (mount the secret there)")
    return path


class EngineSettings(NatsClientSettings, StoreSettings):
    """``python -m bus.engine``: the one writer (and its standby)."""

    admin_pubkey: CommaList = Field(default_factory=list)
    deposit_pubkey: CommaList = Field(default_factory=list)
    settler_pubkey: CommaList = Field(default_factory=list)  # keys the settler signs its records with
    admin_keyfile: Path | None = None  # a Solana keyfile (mounted secret) whose key is also an admin
    engine_batch_size: Annotated[int, Field(ge=1, le=5000)] = 1000  # < the consumer's max ack pending
    engine_verify_workers: Annotated[int, Field(ge=1, le=64)] = 1  # signature-checking processes
    engine_snapshot_every: Annotated[int, Field(ge=1)] = 1000  # aggregate events between snapshots
    engine_command_rate: Annotated[int, Field(ge=0)] = 1000  # commands/s per account; 0: unlimited
    engine_command_burst: Annotated[int, Field(ge=1)] = 2000  # an account's burst before the rate applies
    stream_replicas: Replicas = 1
    # The lease (bus.standby): how often a standby tries to take it, how often the leader checks it.
    lease_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.2
    lease_check_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    engine_metrics_interval: Annotated[float, Field(gt=0)] = 5.0  # seconds between state scrapes
    gil_switch_interval: Annotated[float, Field(gt=0, le=0.1)] = 0.0005

    @field_validator("admin_keyfile")
    @classmethod
    def _keyfile_exists(cls, path: Path | None) -> Path | None:
        return None if path is None else _existing_file(path)

    @field_validator("admin_pubkey", "deposit_pubkey", "settler_pubkey", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("admin_pubkey", "deposit_pubkey", "settler_pubkey")
    @classmethod
    def _check_keys(cls, keys: list[str]) -> list[str]:
        return [_check_pubkey(key) for key in keys]


class StreamsSettings(NatsClientSettings):
    """``python -m deploy.production.declare_streams``: declare the streams once, replicated."""

    stream_replicas: Replicas = 3


class RelaySettings(NatsClientSettings, StoreSettings):
    """``python -m bus.relay``: store -> events stream, exactly once."""

    relay_window: Annotated[int, Field(ge=1, le=10_000)] = 1000
    stream_replicas: Replicas = 1


class ProjectorSettings(NatsClientSettings, StoreSettings):
    """``python -m projections.run <name>``: one read model's projector."""

    projector: str
    projector_batch: Annotated[int, Field(ge=1, le=50_000)] = 2000
    # Run as the partition of these markets (trades, book only; see projections/partition.py)
    projector_markets: CommaList = Field(default_factory=list)

    @field_validator("projector_markets", mode="before")
    @classmethod
    def _split_markets(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("projector")
    @classmethod
    def _known_projector(cls, name: str) -> str:
        from projections.registry import REGISTRY

        if name not in REGISTRY:
            raise ValueError(f"unknown projector {name!r}; known: {', '.join(sorted(REGISTRY))}")
        return name


class ReadApiSettings(StoreSettings):
    """``python -m read_api``: the HTTP read API."""

    read_api_host: str = "0.0.0.0"
    read_api_port: Port = 8080
    read_api_pool: Annotated[int, Field(ge=1, le=200)] = 8  # database connections per process
    read_api_workers: Annotated[int, Field(ge=1, le=64)] = 1  # uvicorn worker processes
    read_api_anonymous_rate: Annotated[float, Field(gt=0)] = 50.0  # req/s per IP
    read_api_authenticated_rate: Annotated[float, Field(gt=0)] = 200.0  # req/s per signed-in wallet
    read_api_token_secret: SecretStr

    @field_validator("read_api_token_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (it signs session tokens)")
        return secret


class ChainSettings(ServiceSettings):
    rpc_urls: CommaList = Field(min_length=1)  # Solana JSON-RPC endpoints, failover in order
    onchain_assets: CommaList = Field(default_factory=lambda: ["USDC"])
    state_dir: Path | None = None  # where a service keeps its local files (the watcher's cursor)

    @field_validator("rpc_urls", "onchain_assets", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("rpc_urls")
    @classmethod
    def _check_rpc(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) JSON-RPC URL")
        return urls


class SettlerSettings(ChainSettings, NatsClientSettings, StoreSettings):
    """``python -m onchain.settler``: settlement batches on chain."""

    settler_keypair: Path  # the settlement authority's Solana keyfile (a mounted secret)
    install_chain: bool = False  # install the audit hash chain if missing (dev stacks only)
    # The key signing the settlement record commands (the engine admits it via QD_SETTLER_PUBKEY);
    # unset: the settlement authority's key; a dev stack without QD_SETTLER_PUBKEY: the admin key.
    settler_record_keypair: Path | None = None
    settler_pubkey: CommaList = Field(default_factory=list)
    admin_keyfile: Path | None = None

    @field_validator("settler_pubkey", mode="before")
    @classmethod
    def _split_settler_keys(cls, value: object) -> object:
        return _split_commas(value)

    _keyfile = field_validator("settler_keypair")(lambda cls, path: _existing_file(path))


class DepositWatcherSettings(ChainSettings, NatsClientSettings):
    """``python -m onchain.watcher``: finalized deposits on chain -> Deposit commands."""

    deposit_keypair: Path  # a key the engine lists in QD_DEPOSIT_PUBKEY (a mounted secret)

    _keyfile = field_validator("deposit_keypair")(lambda cls, path: _existing_file(path))


class PriceFeedSettings(NatsClientSettings):
    """``python -m risk.feed``: oracle prices -> SetOraclePrice commands."""

    price_source: Literal["synthetic", "pyth"] = "synthetic"
    price_feed_keypair: Path  # an operator key (listed in the engine's QD_ADMIN_PUBKEY)
    price_hermes_url: str = "https://hermes.pyth.network"  # Pyth Hermes, for price_source=pyth
    price_interval: Annotated[float, Field(gt=0, le=60)] = 1.0  # seconds between polls / synthetic steps

    _keyfile = field_validator("price_feed_keypair")(lambda cls, path: _existing_file(path))

    @field_validator("price_hermes_url")
    @classmethod
    def _check_hermes(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url


class KeeperSettings(NatsClientSettings):
    """``python -m risk.keeper``: risk sweeps (and liquidations), hourly funding settlement."""

    keeper_keypair: Path  # an operator key (listed in the engine's QD_ADMIN_PUBKEY)
    keeper_sweep_interval: Annotated[float, Field(gt=0, le=60)] = 1.0
    keeper_liquidate: bool = False  # liquidate with the keeper's own account (it must be funded)
    # A liquidating sweep every Nth sweep: every one, since the scan skips the accounts whose
    # mark is inside their safe band (~0.05-0.1 s at 100k accounts after a 1% move).
    keeper_liquidate_every: Annotated[int, Field(ge=1)] = 1
    keeper_funding_delay: Annotated[float, Field(ge=0, le=3000)] = 5.0  # seconds after the hour
    # Read only by the dev option --dev-fund-usdc (funds the keeper on a local chain)
    rpc_urls: CommaList = Field(default_factory=list)
    onchain_assets: CommaList = Field(default_factory=lambda: ["USDC"])

    _keyfile = field_validator("keeper_keypair")(lambda cls, path: _existing_file(path))

    @field_validator("rpc_urls", "onchain_assets", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _split_commas(value)


SETTINGS_BY_SERVICE: dict[str, type[ServiceSettings]] = {
    "streams": StreamsSettings,
    "engine": EngineSettings,
    "relay": RelaySettings,
    "projector": ProjectorSettings,
    "read-api": ReadApiSettings,
    "settler": SettlerSettings,
    "deposit-watcher": DepositWatcherSettings,
    "price-feed": PriceFeedSettings,
    "keeper": KeeperSettings,
}

S = TypeVar("S", bound=ServiceSettings)


class SettingsError(SystemExit):
    """The environment does not configure the service; the message names every variable at fault."""


def variable_names(settings_class: type[ServiceSettings]) -> dict[str, bool]:
    """{QD_VARIABLE: required} for every field of `settings_class`."""
    return {PREFIX + name.upper(): field.is_required()
            for name, field in settings_class.model_fields.items()}


def explain(error: ValidationError, settings_class: type[ServiceSettings]) -> str:
    """One line per problem, by environment variable; never echoes a value."""
    lines = [f"{settings_class.__name__}: the environment does not configure this service:"]
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        message = "is required but not set" if problem["type"] == "missing" else problem["msg"]
        lines.append(f"  {PREFIX}{field.upper()}: {message}")
    return "\n".join(lines)


def load_settings(settings_class: type[S], environ: dict[str, str] | None = None) -> S:
    """Build `settings_class` from the environment (or `environ`); exit with a clear message if wrong."""
    try:
        if environ is None:
            return settings_class()
        return settings_class(**{name[len(PREFIX):].lower(): value for name, value in environ.items()
                                 if name.upper().startswith(PREFIX)
                                 and name[len(PREFIX):].lower() in settings_class.model_fields})
    except ValidationError as error:
        raise SettingsError(explain(error, settings_class)) from None


if __name__ == "__main__":  # python -m deploy.settings <service>: check this environment
    service = sys.argv[1] if len(sys.argv) > 1 else ""
    if service not in SETTINGS_BY_SERVICE:
        sys.exit(f"usage: python -m deploy.settings {{{'|'.join(SETTINGS_BY_SERVICE)}}}")
    print(load_settings(SETTINGS_BY_SERVICE[service]))
