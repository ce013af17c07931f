"""notify: entrypoints only."""
from nameko.rpc import rpc
from nameko.web.handlers import http

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import handlers
from .dependencies import Mailer, Sms
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class NotifyService:
    name = "notify"

    db = Database("notify", reliability)
    mailer = Mailer(database="db")
    sms = Sms(database="db")
    tenant = Tenant()
    obs = Observability()

    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        queued = handlers.on_case_opened(envelope, self.db.uow(), sms=self.sms.policy)
        for channel, loop in (("email", self.mailer), ("sms", self.sms)):
            if channel in queued:
                loop.wake()

    @http("GET", "/kannel/dlr")
    def kannel_dlr(self, request):
        """Kannel's delivery report (dlr-url) for one SMS; no tenant context: the URL's token vouches for it."""
        return handlers.on_kannel_dlr(request.args, self.db.uow())

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
