"""Every service's config.yml loads the way `nameko run` loads it, with env substitution and our log setup."""
import logging.config
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = {"intake": 9101, "workflow": 9102, "notify": 9103, "reporting": 9104}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_config_loads_like_nameko_run(service, monkeypatch):
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    for name in [f"{svc.upper()}_METRICS_PORT" for svc in SERVICES] + ["METRICS_ADDR"]:
        monkeypatch.delenv(name, raising=False)  # make test exports its own ports
    monkeypatch.setenv("AMQP_URI", "amqp://u:p@broker:5672/")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    with open(os.path.join(ROOT, "services", service, "config.yml")) as f:
        config = yaml.safe_load(f)
    assert config["AMQP_URI"] == "amqp://u:p@broker:5672/"
    assert int(config["METRICS_PORT"]) == SERVICES[service]
    assert config["METRICS_ADDR"] == "127.0.0.1"
    assert config["LOGGING"]["root"]["level"] == "WARNING"
    logging.config.dictConfig(config["LOGGING"])  # the formatter and filter classes resolve
