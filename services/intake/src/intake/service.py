"""intake: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import handlers
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class IntakeService:
    name = "intake"

    db = Database("intake", reliability)
    tenant = Tenant()
    obs = Observability()

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def register_complaint(self, data):
        return handlers.register_complaint(data, self.tenant.id, self.tenant.user_id, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_complaint(self, complaint_id):
        return handlers.get_complaint(complaint_id, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_estates(self):
        return handlers.list_estates(self.tenant.id, self.db.engine)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
