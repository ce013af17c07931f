"""notify: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import handlers
from .dependencies import Mailer
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class NotifyService:
    name = "notify"

    db = Database("notify", reliability)
    mailer = Mailer(database="db")
    tenant = Tenant()
    obs = Observability()

    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        if handlers.on_case_opened(envelope, self.db.uow()):
            self.mailer.wake()

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_timeline(self, complaint_id, locale=None):
        return handlers.get_timeline(complaint_id, self.tenant.id, self.db.engine, locale)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_deliveries(self, complaint_id):
        return handlers.get_deliveries(complaint_id, self.tenant.id, self.db.engine)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
