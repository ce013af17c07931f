"""``archive_event_handler(source)``: one queue bound with ``#`` on ``<source>.events`` that takes every event
type and schema version, with the reliable handler's envelope check and dead-lettering (no broker: the
container is built, never started)."""
import uuid
from unittest import mock

import pytest
from nameko.containers import ServiceContainer
from nameko.testing.utils import get_extension

from estatedesk_common import events
from estatedesk_common.envelope import Envelope
from estatedesk_common.events import (ArchiveEventHandler, ReliableEventHandler, archive_event_handler,
                                      reliable_event_handler)


class Archiver:
    name = "archiver"

    @archive_event_handler("workflow")
    def archive_workflow(self, envelope):
        pass

    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        pass


@pytest.fixture
def container():
    container = ServiceContainer(Archiver, {"AMQP_URI": "memory://"})
    with mock.patch.object(events, "declare_dead_letter_queue"), mock.patch.object(events, "Publisher"):
        for ext in container.entrypoints:
            ext.setup()
    container.spawn_worker = mock.Mock()
    return container


def _handler(container, cls):
    handler = get_extension(container, cls)
    handler.queue_consumer = mock.Mock()
    return handler


def _body(event_type="capa_opened", schema_version=1, **extra):
    return dict(Envelope(event_type=event_type, tenant_id=str(uuid.uuid4()), payload={"capa_id": "c1"},
                         schema_version=schema_version).to_dict(), **extra)


def test_the_archive_queue_binds_every_routing_key_on_the_source_exchange(container):
    handler = _handler(container, ArchiveEventHandler)
    assert handler.queue.routing_key == "#"
    assert handler.queue.exchange.name == "workflow.events"
    assert handler.queue.name == "evt-workflow-all--archiver.archive_workflow"
    assert handler.queue.durable and not handler.queue.auto_delete
    assert handler.queue.queue_arguments["x-dead-letter-exchange"] == events.DLX.name


@pytest.mark.parametrize("event_type,version", [("capa_opened", 1), ("routing_rules_saved", 1), ("case_opened", 3)])
def test_any_event_type_and_schema_version_reaches_the_worker_with_its_tenant(container, event_type, version):
    handler = _handler(container, ArchiveEventHandler)
    body = _body(event_type, version)
    handler.handle_message(body, mock.Mock(headers={}, delivery_info={}))
    (call,) = container.spawn_worker.call_args_list
    (envelope,) = call.args[1]
    assert (envelope.event_type, envelope.schema_version, envelope.event_id) == (event_type, version,
                                                                                 body["event_id"])
    assert call.kwargs["context_data"]["tenant_id"] == body["tenant_id"]


@pytest.mark.parametrize("body,reason", [
    ({"payload": {}}, "EnvelopeError: missing fields"),
    (_body(schema_version=0), "EnvelopeError: unknown schema_version 0"),
    (_body(schema_version="1"), "EnvelopeError: unknown schema_version"),
    (_body(tenant_id=""), "EnvelopeError: tenant_id is empty"),
])
def test_a_bad_envelope_is_dead_lettered_with_its_reason_and_acked(container, body, reason):
    handler = _handler(container, ArchiveEventHandler)
    message = mock.Mock(headers={}, delivery_info={"exchange": "workflow.events", "routing_key": "x"})
    handler.handle_message(body, message)
    assert not container.spawn_worker.called
    (_, kwargs), = handler.dlq_publisher.publish.call_args_list
    assert kwargs["headers"]["x-estatedesk-reason"].startswith(reason)
    assert kwargs["headers"]["x-estatedesk-consumer"] == "archiver.archive_workflow"
    handler.queue_consumer.ack_message.assert_called_once_with(message)


def test_a_database_outage_requeues_and_a_bug_dead_letters(container):
    from sqlalchemy.exc import OperationalError

    handler = _handler(container, ArchiveEventHandler)
    message = mock.Mock(headers={}, delivery_info={"redelivered": False}, payload=_body())
    with mock.patch.object(events.eventlet, "sleep"):
        handler.handle_result(message, None, exc_info=(None, OperationalError("s", {}, None), None))
    handler.queue_consumer.requeue_message.assert_called_once_with(message)
    handler.handle_result(message, None, exc_info=(None, KeyError("bug"), None))
    assert handler.dlq_publisher.publish.called


def test_the_typed_handler_still_refuses_other_event_types(container):
    handler = next(e for e in container.entrypoints if type(e) is ReliableEventHandler)
    handler.queue_consumer = mock.Mock()
    handler.handle_message(_body("capa_opened"), mock.Mock(headers={}, delivery_info={}))  # misrouted
    assert not container.spawn_worker.called
    (_, kwargs), = handler.dlq_publisher.publish.call_args_list
    assert "event_type 'capa_opened' != 'case_opened'" in kwargs["headers"]["x-estatedesk-reason"]
