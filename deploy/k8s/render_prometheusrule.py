"""Regenerate deploy/k8s/base/prometheusrule.yaml from deploy/prometheus/alerts.yml (the single source).

    .venv/bin/python deploy/k8s/render_prometheusrule.py
"""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("# Alert rules for the Prometheus Operator: the groups of deploy/prometheus/alerts.yml (the single\n"
          "# source; tests/test_deploy_k8s.py checks they are equal). Regenerate after editing alerts.yml:\n"
          "#   .venv/bin/python deploy/k8s/render_prometheusrule.py\n")


def render() -> str:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    doc = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
           "metadata": {"name": "estatedesk",
                        "labels": {"app.kubernetes.io/name": "estatedesk", "app.kubernetes.io/part-of": "estatedesk"}},
           "spec": {"groups": rules["groups"]}}
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    (ROOT / "deploy/k8s/base/prometheusrule.yaml").write_text(render(), encoding="utf-8")
