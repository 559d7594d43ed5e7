"""Readers of the production files for the static checks (YAML with compose's `${VAR...}`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "production" / "compose.yaml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
GRAFANA = DEPLOY / "grafana"
LAUNCH = ["python", "-m", "deploy.production.launch"]
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<operator>:?[-?])?(?P<rest>[^}]*)\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def our_services(document: dict) -> dict[str, dict]:
    """Services started through the launcher: {compose name: service}."""
    return {name: service for name, service in document["services"].items()
            if service.get("command", [])[:3] == LAUNCH}


def launched(service: dict) -> str:
    """The launcher's service argument (`engine`, `projector`, ...)."""
    return service["command"][3]


def environment(service: dict) -> dict[str, str]:
    """The service's environment with every value as a string."""
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def interpolate(value: str, sample: str = "x" * 40) -> str:
    """What compose would pass: `${VAR:-default}` -> default, `${VAR:?msg}` / `${VAR}` -> `sample`."""
    def replace(match: re.Match) -> str:
        if match.group("operator") and "-" in match.group("operator"):
            return match.group("rest")
        return sample
    return INTERPOLATION.sub(replace, value)


def prometheus_targets() -> dict[str, list[str]]:
    """{job: ["host:port", ...]} over static and DNS service-discovery configs."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        targets = [t for static in job.get("static_configs", []) for t in static["targets"]]
        targets += [f"{name}:{dns['port']}" for dns in job.get("dns_sd_configs", []) for name in dns["names"]]
        jobs[job["job_name"]] = targets
    return jobs


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def provisioned_datasources() -> dict[str, dict]:
    files = (GRAFANA / "provisioning" / "datasources").glob("*.yaml")
    return {source["uid"]: source for path in files for source in yaml.safe_load(path.read_text())["datasources"]}
