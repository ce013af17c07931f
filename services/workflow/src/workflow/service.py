"""workflow: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import handlers
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class WorkflowService:
    name = "workflow"

    db = Database("workflow", reliability)
    tenant = Tenant()
    obs = Observability()

    @reliable_event_handler("intake", "complaint_received")
    def on_complaint_received(self, envelope):
        handlers.open_case(envelope, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_case(self, complaint_id):
        return handlers.get_case(complaint_id, self.tenant.id, self.db.engine)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
