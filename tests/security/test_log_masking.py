"""Phone numbers and e-mail addresses never reach a log line unmasked (issue 9, Security 4).

Every process logs through ``estatedesk_common.observability.JsonFormatter`` (services' ``LOGGING`` and the
gateway's ``logging_config``), which masks message and traceback text with ``mask_pii``.
"""
from __future__ import annotations

import json
import logging
import uuid

import pytest

from estatedesk_common.observability import JsonFormatter, logging_config, mask_pii


@pytest.mark.parametrize("raw, masked", [
    ("phone 13812345678 called", "phone 138****5678 called"),
    ("电话13812345678，邮箱zhou@example.com", "电话138****5678，邮箱z***@example.com"),
    ("+8613812345678", "138****5678"),
    ("to=leak-O-36253270@example.org subject", "to=l***@example.org subject"),
    ("<zhang.san+tag@mail.example.com.cn>", "<z***@mail.example.com.cn>"),
    ("to=%2B8613812345678&ts=1", "to=138****5678&ts=1"),  # URL-encoded, as in a query string
    # an access log line keeps the path only: Kannel's dlr-url carries the receiver and the callback's token
    ('127.0.0.1 - - [06/Dec/2026 23:28:15] "GET /kannel/dlr?t=c2ad&k=2f5f8b77&type=8&to=%2B8613823426459 HTTP/1.1" '
     '200 120 0.004', '127.0.0.1 - - [06/Dec/2026 23:28:15] "GET /kannel/dlr?… HTTP/1.1" 200 120 0.004'),
    ('"POST /channels/wechat/demo?signature=ab&openid=oX1 HTTP/1.1" 200', '"POST /channels/wechat/demo?… HTTP/1.1" 200'),
])
def test_mask_pii(raw, masked):
    assert mask_pii(raw) == masked


@pytest.mark.parametrize("kept", [
    "request 4f6c1b0e-8d7a-4a52-9a35-a12345678901 done",  # a UUID with 11 digits in its last group
    "took 12345678901234 ns", "epoch 1732456789", "amqp://guest:guest@127.0.0.1:5672/",
    "reference TS20261124-7KQ2MX", "order 0213812345678",
])
def test_mask_pii_leaves_ids_and_numbers_alone(kept):
    assert mask_pii(kept) == kept


def _format(record_args, exc=None) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, *record_args, exc_info=exc)
    return json.loads(JsonFormatter().format(record))


def test_the_json_formatter_masks_the_message_and_the_traceback():
    line = _format(("complaint from %s (%s)", ("13812345678", "zhou@example.com")))
    assert line["msg"] == "complaint from 138****5678 (z***@example.com)"
    try:
        raise ValueError("bad phone 13912345678 for wang@example.com")
    except ValueError:
        import sys

        line = _format(("failed", ()), sys.exc_info())
    assert "13912345678" not in line["exc"] and "wang@example.com" not in line["exc"]
    assert "139****5678" in line["exc"] and "w***@example.com" in line["exc"]


def test_services_and_gateway_log_through_the_masking_formatter():
    import os

    import yaml

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert logging_config()["formatters"]["json"]["()"].endswith("observability.JsonFormatter")
    for service in ("intake", "workflow", "notify", "reporting"):
        with open(os.path.join(root, "services", service, "config.yml")) as f:
            text = f.read()
        config = yaml.safe_load(text.replace("!raw_env_var", ""))
        handlers = config["LOGGING"]["handlers"]
        assert all(config["LOGGING"]["formatters"][h["formatter"]]["()"].endswith("observability.JsonFormatter")
                   for h in handlers.values()), service


def test_a_uuid_survives_masking_whatever_its_digits():
    for _ in range(2000):
        value = str(uuid.uuid4())
        assert mask_pii(value) == value
