"""notify's webhook entrypoints (a mixin of ``NotifyService``, which provides ``db``, ``tenant`` and
``webhooks``): one event handler per case event type (nameko binds one routing key per handler; each has its own
queue and inbox consumer, ``notify.webhooks.<event>``) and the RPCs behind the gateway's ``/api/v1/webhooks``."""
from nameko.rpc import rpc

from estatedesk_common.events import reliable_event_handler

from . import webhooks
from .exceptions import EXPECTED_EXCEPTIONS


class WebhookEntrypoints:
    def _fan_out(self, envelope):
        if webhooks.fan_out(envelope, self.db.uow()):
            self.webhooks.loop.wake()

    @reliable_event_handler("workflow", "case_opened")
    def webhook_case_opened(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_assigned")
    def webhook_case_assigned(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_contacted")
    def webhook_case_contacted(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_plan_recorded")
    def webhook_case_plan_recorded(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_progress_recorded")
    def webhook_case_progress_recorded(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_resolved")
    def webhook_case_resolved(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "owner_accepted")
    def webhook_owner_accepted(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_closed")
    def webhook_case_closed(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_reopened")
    def webhook_case_reopened(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_cancelled")
    def webhook_case_cancelled(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "sla_warning")
    def webhook_sla_warning(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "sla_breached")
    def webhook_sla_breached(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "case_escalated")
    def webhook_case_escalated(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "extension_requested")
    def webhook_extension_requested(self, envelope):
        self._fan_out(envelope)

    @reliable_event_handler("workflow", "extension_decided")
    def webhook_extension_decided(self, envelope):
        self._fan_out(envelope)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def create_webhook(self, data):
        return webhooks.create_endpoint(data, self.tenant.id, self.tenant.user_id, self.tenant.roles, self.db.uow(),
                                        self.webhooks.allow_http)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_webhooks(self):
        return webhooks.list_endpoints(self.tenant.id, self.tenant.roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def delete_webhook(self, webhook_id):
        return webhooks.delete_endpoint(webhook_id, self.tenant.id, self.tenant.roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_webhook_deliveries(self, webhook_id, limit=50):
        return webhooks.list_deliveries(webhook_id, self.tenant.id, self.tenant.roles, self.db.engine, limit)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def redeliver_webhook(self, delivery_id):
        result = webhooks.redeliver(delivery_id, self.tenant.id, self.tenant.roles, self.db.uow())
        self.webhooks.loop.wake()
        return result
