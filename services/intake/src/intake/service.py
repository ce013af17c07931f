"""intake: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant, estates_from_roles

from . import classification, handlers, mail_intake
from .dependencies import Classifiers, MailboxPoller
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability


class IntakeService:
    name = "intake"

    db = Database("intake", reliability)
    tenant = Tenant()
    obs = Observability()
    classifiers = Classifiers()
    mail = MailboxPoller()

    def _scope(self):
        """Estates the calling person may touch (None: all of the tenant's, or a trusted service call)."""
        roles = self.tenant.caller_roles
        return None if roles is None else estates_from_roles(roles)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def register_complaint(self, data):
        return handlers.register_complaint(data, self.tenant.id, self.tenant.user_id, self.db.uow(),
                                           self.classifiers, scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def suggest_classification(self, text):
        return classification.suggest_classification(text, self.tenant.id, self.db.engine, self.classifiers)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def correct_classification(self, complaint_id, category, severity=None):
        return classification.correct_classification(complaint_id, category, severity, self.tenant.id,
                                                     self.tenant.user_id, self.db.uow(), self.classifiers,
                                                     scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_complaint(self, complaint_id):
        return handlers.get_complaint(complaint_id, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_estates(self):
        return handlers.list_estates(self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_complaints(self, estate=None, status=None, channel=None, limit=50, offset=0, mine=False):
        return handlers.list_complaints(self.tenant.id, self.tenant.user_id, self.db.engine, estate=estate,
                                        status=status, channel=channel, limit=limit, offset=offset, mine=mine,
                                        scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def find_by_reference(self, reference, phone):
        return handlers.find_by_reference(reference, phone, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_mail_log(self, limit=50):
        return mail_intake.mail_log(self.tenant.id, self.db.engine, limit)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
