"""The Kubernetes manifests (deploy/k8s): every overlay rendered by `kubectl kustomize` and validated.

- rendering: the real kustomize inside kubectl (Debian's `kubernetes-client`, installed by
  `scripts/bootstrap.sh --test` when no kubectl is present; its kustomize v2.0.3 is why the overlays use
  `bases:`/`patchesStrategicMerge:`, which newer kubectl still renders);
- validation: `kubernetes-validate` (PyPI, in libs/estatedesk_common [dev]) against the bundled
  Kubernetes OpenAPI schemas, strict (unknown fields fail), for the oldest and newest versions we claim;
- custom resources (operators' CRDs) are not in that schema set: each kind is listed in CRD_KINDS with
  the reason, and checked here for the fields the deployment relies on instead. A kind that is neither
  a Kubernetes kind nor listed fails.

Plain pytest, no network, no cluster. Each tool-dependent test skips only if its tool is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy/k8s"
OVERLAYS = ("dev", "production")
APPS = ("intake", "workflow", "notify", "reporting", "gateway")
NAMEKO = APPS[:-1]
K8S_VERSIONS = ("1.29.0", "1.37.0")  # HPA autoscaling/v2, PDB policy/v1, Ingress v1 all GA long before 1.29

CRD_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "RabbitMQ Cluster Operator CRD, not a Kubernetes schema",
    ("rabbitmq.com/v1beta1", "Vhost"): "RabbitMQ Messaging Topology Operator CRD",
    ("rabbitmq.com/v1beta1", "User"): "RabbitMQ Messaging Topology Operator CRD",
    ("rabbitmq.com/v1beta1", "Permission"): "RabbitMQ Messaging Topology Operator CRD",
    ("rabbitmq.com/v1beta1", "Policy"): "RabbitMQ Messaging Topology Operator CRD",
    ("postgresql.cnpg.io/v1", "Cluster"): "CloudNativePG CRD",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "CloudNativePG CRD",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "Prometheus Operator CRD",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "Prometheus Operator CRD",
    ("keda.sh/v1alpha1", "ScaledObject"): "KEDA CRD (production only)",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "KEDA CRD (production only)",
}


def _kubectl() -> str | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", "--help"], capture_output=True, text=True, timeout=60)
    return kubectl if out.returncode == 0 else None


_RENDERED: dict[str, list[dict]] = {}


def render(overlay: str) -> list[dict]:
    if overlay not in _RENDERED:
        kubectl = _kubectl()
        if kubectl is None:
            pytest.skip("no kubectl with `kustomize` (apt-get install kubernetes-client; bootstrap --test does)")
        out = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        _RENDERED[overlay] = [d for d in yaml.safe_load_all(out.stdout) if d]
    return _RENDERED[overlay]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _validator():
    return pytest.importorskip("kubernetes_validate",
                               reason="kubernetes-validate not installed (libs/estatedesk_common [dev])")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders(overlay):
    docs = render(overlay)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "ConfigMap",
            "Ingress", "ServiceMonitor", "RabbitmqCluster", "Cluster"} <= kinds
    namespaces = {d["metadata"].get("namespace") for d in docs}
    assert namespaces == {"estatedesk-dev" if overlay == "dev" else "estatedesk"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_kubernetes_schemas(overlay, version):
    kv = _validator()
    from kubernetes_validate.utils import SchemaNotFoundError

    failures, crds_seen = [], set()
    for doc in render(overlay):
        ident = (doc["apiVersion"], doc["kind"])
        try:
            kv.validate(doc, version, strict=True)
        except SchemaNotFoundError:
            assert ident in CRD_KINDS, f"{ident} has no Kubernetes schema and is not a listed CRD"
            crds_seen.add(ident)
        except kv.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not failures, "\n".join(failures)
    assert crds_seen, "expected operator resources (RabbitmqCluster, Cluster, ...)"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_are_non_root_probed_sized_and_configured(overlay):
    docs = render(overlay)
    deployments = by_kind(docs, "Deployment")
    configmap = next(iter(by_kind(docs, "ConfigMap").values()))
    assert configmap["data"]["METRICS_ADDR"] == "0.0.0.0"
    for app in APPS:
        pod = deployments[f"estatedesk-{app}"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{app}: no {probe}"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/app/var", "/tmp"}
        assert configmap["metadata"]["name"] in [e["configMapRef"]["name"] for e in container["envFrom"]]
        env = {e["name"]: e for e in container["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "estatedesk-postgres-app", "key": "uri"}
        assert env["AMQP_URI"]["value"].endswith("/estatedesk")  # the quorum vhost
        assert env["RABBITMQ_HOST"]["valueFrom"]["secretKeyRef"]["name"] == "estatedesk-rabbitmq-default-user"
        if app in NAMEKO:
            assert container["command"] == ["nameko", "run", "--config", f"services/{app}/config.yml",
                                            f"{app}.service"]
        else:
            assert container["command"] == ["python", "-m", "gateway", "serve"]
            secret_ref = env["GATEWAY_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"]
            if overlay == "production":  # an existing Secret, created outside git
                assert secret_ref == "estatedesk-secrets"
                assert "estatedesk-secrets" not in by_kind(docs, "Secret")
            else:  # generated with placeholders (hash-suffixed name)
                assert secret_ref in by_kind(docs, "Secret")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rollout_waits_for_this_releases_migrate_job(overlay):
    docs = render(overlay)
    (job,) = by_kind(docs, "Job").values()
    name = job["metadata"]["name"]
    assert re.fullmatch(r"estatedesk-migrate-[a-z0-9-]+", name), name
    script = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    assert "intake workflow notify reporting gateway" in script and '"$pkg.cli" migrate' in script
    for app in APPS:
        pod = by_kind(docs, "Deployment")[f"estatedesk-{app}"]["spec"]["template"]["spec"]
        (init,) = pod["initContainers"]
        assert init["command"][-1] == f"job/{name}", init["command"]
    roles = by_kind(docs, "Role")
    assert roles["estatedesk-migrate-reader"]["rules"][0]["resources"] == ["jobs"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_service_pdb_servicemonitor_and_autoscaling(overlay):
    docs = render(overlay)
    services, pdbs = by_kind(docs, "Service"), by_kind(docs, "PodDisruptionBudget")
    monitors, hpas = by_kind(docs, "ServiceMonitor"), by_kind(docs, "HorizontalPodAutoscaler")
    scaled = by_kind(docs, "ScaledObject")
    for app in APPS:
        name = f"estatedesk-{app}"
        assert name in services and name in pdbs and name in monitors
        assert (name in hpas) != (name in scaled), f"{name}: exactly one of HPA / KEDA ScaledObject"
        if name in hpas:
            metric = hpas[name]["spec"]["metrics"][0]["resource"]
            assert metric["name"] == "cpu"
    if overlay == "production":
        for app in ("workflow", "notify", "reporting"):
            triggers = scaled[f"estatedesk-{app}"]["spec"]["triggers"]
            assert {t["type"] for t in triggers} == {"cpu", "rabbitmq"}
            assert any(t["metadata"].get("queueName", "").endswith(f"--{app}.on_" + t["metadata"]["queueName"].split(".on_")[-1])
                       for t in triggers if t["type"] == "rabbitmq")
            assert all(t["metadata"]["host"].endswith("/estatedesk") for t in triggers if t["type"] == "rabbitmq")


def test_ingress_routes_to_the_gateway():
    for overlay in OVERLAYS:
        (ingress,) = by_kind(render(overlay), "Ingress").values()
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "estatedesk-gateway", "port": {"name": "http"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_resources(overlay):
    """The CRDs skipped by schema validation: the fields the services depend on."""
    docs = render(overlay)
    (rabbit,) = by_kind(docs, "RabbitmqCluster").values()
    assert rabbit["metadata"]["name"] == "estatedesk-rabbitmq"  # -> secret estatedesk-rabbitmq-default-user
    assert rabbit["spec"]["replicas"] == (3 if overlay == "production" else 1)
    (vhost,) = by_kind(docs, "Vhost").values()
    assert vhost["spec"] == {"name": "estatedesk", "defaultQueueType": "quorum",
                             "rabbitmqClusterReference": {"name": "estatedesk-rabbitmq"}}
    (dlq_policy,) = by_kind(docs, "Policy").values()  # DLQs never drop messages on 4.x's delivery limit
    assert dlq_policy["spec"]["vhost"] == "estatedesk" and dlq_policy["spec"]["definition"] == {"delivery-limit": -1}
    assert re.search(dlq_policy["spec"]["pattern"], "workflow.dlq") and not re.search(
        dlq_policy["spec"]["pattern"], "evt-intake-complaint_received--workflow.open_case")
    assert "estatedesk-app" in by_kind(docs, "User")  # -> secret estatedesk-app-user-credentials
    (perm,) = by_kind(docs, "Permission").values()
    assert perm["spec"]["vhost"] == "estatedesk" and perm["spec"]["userReference"]["name"] == "estatedesk-app"
    (pg,) = by_kind(docs, "Cluster").values()
    assert pg["metadata"]["name"] == "estatedesk-postgres"  # -> secret estatedesk-postgres-app, key uri
    assert pg["spec"]["instances"] == (2 if overlay == "production" else 1)
    assert pg["spec"]["bootstrap"]["initdb"] == {"database": "estatedesk", "owner": "estatedesk"}
    if overlay == "production":
        assert "barmanObjectStore" in pg["spec"]["backup"]
        (backup,) = by_kind(docs, "ScheduledBackup").values()
        assert backup["spec"]["cluster"]["name"] == "estatedesk-postgres"
    monitors = by_kind(docs, "ServiceMonitor")
    for app in APPS:
        port = monitors[f"estatedesk-{app}"]["spec"]["endpoints"][0]["port"]
        svc_ports = [p["name"] for p in by_kind(docs, "Service")[f"estatedesk-{app}"]["spec"]["ports"]]
        assert port in svc_ports


def test_prometheusrule_matches_the_alerts_file():
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    rule = yaml.safe_load((K8S / "base/prometheusrule.yaml").read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == alerts["groups"], "run .venv/bin/python deploy/k8s/render_prometheusrule.py"


def _app_env(docs: list[dict], app: str) -> dict[str, dict]:
    (container,) = by_kind(docs, "Deployment")[f"estatedesk-{app}"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_key_is_required_by_every_pod_that_reads_channel_secrets(overlay):
    """intake (mailbox, WeChat secrets) and notify (tenants' SMTP passwords) do not start without the key."""
    import base64

    from cryptography.fernet import Fernet

    docs = render(overlay)
    for app in ("intake", "notify"):
        ref = _app_env(docs, app)["ESTATEDESK_SECRETS_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref["key"] == "ESTATEDESK_SECRETS_KEY" and not ref.get("optional"), f"{app}: {ref}"
        assert ref["name"] == _app_env(docs, "gateway")["GATEWAY_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"]
        if overlay == "dev":  # the generated Secret holds a valid (placeholder) key
            key = base64.b64decode(by_kind(docs, "Secret")[ref["name"]]["data"]["ESTATEDESK_SECRETS_KEY"])
            Fernet(key)
    for app in ("workflow", "reporting", "gateway"):
        assert "ESTATEDESK_SECRETS_KEY" not in _app_env(docs, app), f"{app} does not need the secrets key"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_public_links_point_at_the_ingress_host(overlay):
    """Password-reset (gateway), digest, survey and status links (notify) use https:// + the Ingress host."""
    docs = render(overlay)
    (ingress,) = by_kind(docs, "Ingress").values()
    host = ingress["spec"]["rules"][0]["host"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == [host]
    assert any(host in tls["hosts"] for tls in ingress["spec"]["tls"])
    (configmap,) = by_kind(docs, "ConfigMap").values()
    assert configmap["data"]["GATEWAY_PUBLIC_URL"] == configmap["data"]["SURVEY_BASE_URL"] == f"https://{host}"
    expected = "estatedesk.dev.example.com" if overlay == "dev" else "estatedesk.example.com"  # placeholders
    assert host == expected


def test_dev_overlay_defines_the_mail_and_sms_servers_it_points_at():
    docs = render("dev")
    data = next(iter(by_kind(docs, "ConfigMap").values()))["data"]
    services, deployments = by_kind(docs, "Service"), by_kind(docs, "Deployment")
    for host_key, port_key, image in (("SMTP_HOST", "SMTP_PORT", "axllent/mailpit:"),
                                      ("KANNEL_HOST", "KANNEL_SENDSMS_PORT", "estatedesk/kannel:dev")):
        name, namespace, svc_suffix = data[host_key].split(".")
        assert (namespace, svc_suffix) == ("estatedesk-dev", "svc"), data[host_key]
        service = services[name]
        assert int(data[port_key]) in [p["port"] for p in service["spec"]["ports"]]
        pod = deployments[name]["spec"]["template"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        assert container["image"].startswith(image)
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert data["SMS_ENABLED"] == "true"
    secret = next(s for n, s in by_kind(docs, "Secret").items() if n.startswith("estatedesk-secrets"))
    import base64
    conf = (ROOT / "deploy/kannel/compose.conf").read_text(encoding="utf-8")  # baked into the kannel image
    for key in ("KANNEL_USER", "KANNEL_PASSWORD"):
        value = base64.b64decode(secret["data"][key]).decode()
        assert f"{'username' if key == 'KANNEL_USER' else 'password'} = {value}" in conf
    prod = {d["metadata"]["name"] for d in render("production") if d["kind"] in ("Deployment", "Service")}
    assert not prod & {"mailpit", "kannel"}, "production uses real mail and SMS servers"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_replicas_share_one_memcached_for_rate_limits(overlay):
    """GATEWAY_RATE_LIMIT_STORAGE points at the memcached Service; one non-root, probed, sized instance (no
    replication: two pods would split the counts), reachable from the gateway pods only."""
    docs = render(overlay)
    data = next(iter(by_kind(docs, "ConfigMap").values()))["data"]
    m = re.fullmatch(r"memcached://([a-z0-9-]+):(\d+)", data["GATEWAY_RATE_LIMIT_STORAGE"])
    assert m, data["GATEWAY_RATE_LIMIT_STORAGE"]
    service = by_kind(docs, "Service")[m.group(1)]
    assert int(m.group(2)) in [p["port"] for p in service["spec"]["ports"]]
    deployment = by_kind(docs, "Deployment")["estatedesk-memcached"]
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["spec"]["containers"]
    assert container["image"].startswith("memcached:1.6")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert "livenessProbe" in container and "readinessProbe" in container
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert "estatedesk-memcached" not in by_kind(docs, "HorizontalPodAutoscaler")
    policy = by_kind(docs, "NetworkPolicy")["estatedesk-memcached"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    gateway = by_kind(docs, "Deployment")["estatedesk-gateway"]["spec"]["template"]["metadata"]["labels"]
    assert source["podSelector"]["matchLabels"].items() <= gateway.items()
    assert source["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "gateway"
