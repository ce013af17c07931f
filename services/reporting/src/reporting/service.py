"""reporting: entrypoints only. Consumes events into read models; answers per-tenant queries.

The database runs without the outbox relay: reporting publishes no events.
"""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import handlers
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class ReportingService:
    name = "reporting"

    db = Database("reporting", reliability, relay=False)
    tenant = Tenant()
    obs = Observability()

    @reliable_event_handler("intake", "complaint_received")
    def on_complaint_received(self, envelope):
        handlers.record_complaint_received(envelope, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def complaint_counts(self, date_from=None, date_to=None):
        return handlers.complaint_counts(self.tenant.id, date_from, date_to, self.db.engine)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
