"""Static checks of docker-compose.yml and the deploy/ files it mounts.

No container engine runs on the dev machines or CI, so the compose file is checked by parsing it:
every service is present, the app services build from source with the right PACKAGE, start only
after a healthy broker and database and a finished migration, and get the environment from
docs/contracts.md. When a Compose v2 CLI is on the machine (`docker compose`, or a standalone
`docker-compose` v2), `config -q` must accept the file too; it needs no engine.

Plain pytest, no network, no nameko/eventlet imports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = "deploy/docker/Dockerfile"

NAMEKO_SERVICES = ("intake", "workflow", "notify", "reporting")
APP_SERVICES = NAMEKO_SERVICES + ("gateway",)
INFRA_SERVICES = ("rabbitmq", "postgres", "migrate")
MAIL_IMAGE = "axllent/mailpit"

_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Resolve ${VAR}, ${VAR:-default} and ${VAR-default} as Compose does; `$$` is a literal `$`."""
    env = env or {}

    def one(m: re.Match[str]) -> str:
        name, op, default = m.group(1), m.group(2), m.group(3) or ""
        if name in env and (env[name] or op != ":-"):
            return env[name]
        return default if op in (":-", "-") else ""

    return _VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _mail_service(services: dict) -> str:
    names = [n for n, s in services.items() if str(s.get("image", "")).startswith(MAIL_IMAGE)]
    assert len(names) == 1, f"expected one {MAIL_IMAGE} service, found {names}"
    return names[0]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v)) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def test_names_every_service(services):
    for name in APP_SERVICES + INFRA_SERVICES:
        assert name in services, f"docker-compose.yml has no {name!r} service"
    _mail_service(services)
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:15"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_from_source_with_its_package(services, name):
    build = services[name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == DOCKERFILE
    assert build["args"]["PACKAGE"] == name


def test_migrate_builds_all_packages_and_runs_every_migration(services):
    migrate = services["migrate"]
    assert migrate["build"]["dockerfile"] == DOCKERFILE
    assert migrate["build"]["args"]["PACKAGE"] == "all"
    script = " ".join(_command(migrate))
    for pkg in APP_SERVICES:
        assert pkg in script
    assert '"$$pkg.cli" migrate' in script and '"$$pkg.cli" seed-demo' in script
    assert '"$$SEED_DEMO" = "1"' in script
    assert "SEED_DEMO" in migrate["environment"]
    assert migrate.get("restart") == "no"


def test_dockerfile_is_multi_stage_slim_and_non_root():
    text = (ROOT / DOCKERFILE).read_text(encoding="utf-8")
    assert "ARG PACKAGE" in text
    assert re.search(r"^FROM \S+ AS builder$", text, re.M)
    assert re.search(r"^FROM \S+ AS runtime$", text, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "-c constraints.txt" in text and "./libs/estatedesk_common" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), "runtime must not run as root"


def test_healthchecks_for_broker_database_and_mail(services):
    for name in ("rabbitmq", "postgres", _mail_service(services)):
        test = services[name].get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_migrate_and_healthy_infra(services, name):
    deps = services[name]["depends_on"]
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert deps["rabbitmq"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"


def test_migrate_waits_for_healthy_infra(services):
    deps = services["migrate"]["depends_on"]
    assert deps["rabbitmq"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"


def test_notify_waits_for_the_mail_catcher(services):
    assert services["notify"]["depends_on"][_mail_service(services)]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", NAMEKO_SERVICES)
def test_nameko_service_command_matches_contract(services, name):
    assert _command(services[name]) == [
        "nameko", "run", "--config", f"services/{name}/config.yml", f"{name}.service",
    ]


def test_gateway_command_host_and_published_port(services):
    gateway = services["gateway"]
    assert _command(gateway) == ["python", "-m", "gateway", "serve"]
    assert _env(gateway)["GATEWAY_HOST"] == "0.0.0.0"
    assert _env(gateway)["GATEWAY_PORT"] == "8000"
    published = [interpolate(str(p)) for p in gateway["ports"]]
    assert any(p.endswith(":8000:8000") or p == "8000:8000" for p in published), published


@pytest.mark.parametrize("name", APP_SERVICES + ("migrate",))
def test_app_environment_points_at_compose_infra(services, name):
    env = _env(services[name])
    assert re.fullmatch(r"amqp://[^:@/]+:[^@/]+@rabbitmq:5672/", env["AMQP_URI"]), env["AMQP_URI"]
    assert env["DATABASE_URL"] == "postgresql://estatedesk:estatedesk@postgres:5432/estatedesk"
    assert env["SMTP_HOST"] == "mailpit" and env["SMTP_PORT"] == "1025"
    for i, svc in enumerate(NAMEKO_SERVICES, start=1):
        assert env[f"{svc.upper()}_METRICS_PORT"] == str(9100 + i)


def test_database_credentials_match_postgres_service(services):
    pg = _env(services["postgres"])
    url = _env(services["gateway"])["DATABASE_URL"]
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    rabbit = _env(services["rabbitmq"])
    amqp = _env(services["gateway"])["AMQP_URI"]
    assert amqp == f"amqp://{rabbit['RABBITMQ_DEFAULT_USER']}:{rabbit['RABBITMQ_DEFAULT_PASS']}@rabbitmq:5672/"


def test_mounted_files_exist(services):
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts missing {source}"


def test_prometheus_scrapes_gateway_and_every_service():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert "gateway:8000" in targets
    for i, svc in enumerate(NAMEKO_SERVICES, start=1):
        assert f"{svc}:{9100 + i}" in targets


def test_env_example_documents_every_compose_variable():
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8").replace("$$", "")
    used = {m.group(1) for m in _VAR.finditer(compose_text)}
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used, "expected ${VAR} settings in docker-compose.yml"
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


def _compose_cli() -> list[str] | None:
    """A working Compose v2 command, or None."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cmd in candidates:
        try:
            out = subprocess.run(cmd + ["version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and re.search(r"\bv?2\.\d+", out.stdout):
            return cmd
    return None


@pytest.mark.parametrize(
    "extra",
    [[], ["--env-file", ".env.example"], ["--profile", "observability"]],
    ids=["defaults", "env-example", "observability"],
)
def test_compose_cli_accepts_the_file(extra):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 CLI (`docker compose` / `docker-compose` v2) on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    out = subprocess.run(
        cli + ["-f", str(COMPOSE_FILE)] + extra + ["config", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr or out.stdout
