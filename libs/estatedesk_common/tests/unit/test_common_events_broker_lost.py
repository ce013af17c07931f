"""The broker going away between a handler's commit and its ack must not kill the service (regression: the fault
run, docs/reliability.md: RabbitMQ restarted under load, a ConnectionResetError from ``basic_ack`` escaped
nameko's ``ack_message`` and the container died; notify and reporting stayed down)."""
from unittest import mock

import amqp.exceptions
import pytest

from estatedesk_common.events import ReliableQueueConsumer


def _message(error):
    message = mock.Mock()
    message.channel.connection = object()  # nameko only settles on a live-looking connection
    message.ack.side_effect = message.requeue.side_effect = message.reject.side_effect = error
    return message


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(),
                                   amqp.exceptions.RecoverableConnectionError("connection closed")])
def test_lost_connection_on_ack_requeue_or_reject_is_logged_not_raised(error, caplog):
    consumer = ReliableQueueConsumer()
    message = _message(error)
    consumer.ack_message(message)
    consumer.requeue_message(message)
    consumer._reject_undecodable(message, ValueError("bad body"))
    assert message.ack.called and message.requeue.called and message.reject.called
    # nameko itself swallows amqp's own connection errors on ack/requeue; we log the rest
    assert sum("broker connection lost" in r.getMessage() for r in caplog.records) >= 1


def test_other_errors_still_raise():
    with pytest.raises(ValueError):
        ReliableQueueConsumer().ack_message(_message(ValueError("a bug")))
