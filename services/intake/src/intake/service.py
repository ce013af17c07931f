"""intake: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant, estates_from_roles

from . import (attachments, calls, case_status, classification, committee, duplicates, estate_units, estates_admin, handlers,
               locations, mail_intake, open311_requests, regions_admin, wechat_accounts_admin, wechat_credentials,
               wechat_intake)
from .dependencies import Classifiers, MailboxPoller
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability
from .wechat_provider import WeChatChannel


class IntakeService:
    name = "intake"

    db = Database("intake", reliability)
    tenant = Tenant()
    obs = Observability()
    classifiers = Classifiers()
    mail = MailboxPoller()
    wechat = WeChatChannel()

    def _scope(self):
        """Estates the calling person may touch (None: all of the tenant's, or a trusted service call)."""
        roles = self.tenant.caller_roles
        return None if roles is None else estates_from_roles(roles)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def register_complaint(self, data):
        return duplicates.register_once(handlers.register_complaint, data, self.tenant.id, self.tenant.user_id,
                                        self.db.uow(), self.classifiers, scope=self._scope())

    @reliable_event_handler("workflow", "case_closed")
    def on_case_closed(self, envelope):
        duplicates.on_case_closed(envelope, self.db.uow())
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "owner_accepted")
    def on_owner_accepted(self, envelope):
        duplicates.on_case_closed(envelope, self.db.uow())
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_reopened")
    def on_case_reopened(self, envelope):
        duplicates.on_case_reopened(envelope, self.db.uow())
        case_status.on_case_event(envelope, self.db.uow())

    # the other events that set a case's status (case_status.EVENTS): the complaint list's status
    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_assigned")
    def on_case_assigned(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_contacted")
    def on_case_contacted(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_plan_recorded")
    def on_case_plan_recorded(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_progress_recorded")
    def on_case_progress_recorded(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_resolved")
    def on_case_resolved(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_cancelled")
    def on_case_cancelled(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_deferred")
    def on_case_deferred(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_resumed")
    def on_case_resumed(self, envelope):
        case_status.on_case_event(envelope, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def register_batch(self, rows, file_sha256=None, filename=None, validate_only=False):
        return committee.register_batch(rows, self.tenant.id, self.tenant.user_id, self.db.uow(), self.classifiers,
                                        scope=self._scope(), file_sha256=file_sha256, filename=filename,
                                        validate_only=bool(validate_only))

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
    def get_attachment(self, complaint_id, attachment_id):
        return attachments.get_attachment(complaint_id, attachment_id, self.tenant.id, self.db.engine,
                                          scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_estates(self):
        return handlers.list_estates(self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_regions(self):
        return regions_admin.list_regions(self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def create_region(self, data):
        """Head office / group admin: a new region of the caller's tenant."""
        return regions_admin.create_region(data, self.tenant.id, self.tenant.user_id, self.tenant.caller_roles,
                                           self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def update_region(self, code, changes):
        """Head office / group admin: rename or (de)activate a region; the code never changes."""
        return regions_admin.update_region(code, changes, self.tenant.id, self.tenant.user_id,
                                           self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_buildings(self, estate):
        """An estate's buildings with their units (site managers: their estates; group roles: every one)."""
        return estate_units.list_buildings(estate, self.tenant.id, self.tenant.caller_roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_building_choices(self, estates=None):
        """The complaint forms' building choice: code and name per estate, in the caller's estates."""
        return locations.building_choices(estates, self.tenant.id, self.db.engine, scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_building(self, estate, code, data, create=False):
        return estate_units.save_building(estate, code, data, bool(create), self.tenant.id, self.tenant.user_id,
                                          self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def remove_building(self, estate, code):
        return estate_units.remove_building(estate, code, self.tenant.id, self.tenant.user_id,
                                            self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_unit(self, estate, building, code, data, create=False):
        return estate_units.save_unit(estate, building, code, data, bool(create), self.tenant.id,
                                      self.tenant.user_id, self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def remove_unit(self, estate, building, code):
        return estate_units.remove_unit(estate, building, code, self.tenant.id, self.tenant.user_id,
                                        self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def import_units(self, estate, rows, apply=False):
        """Bulk units from a sheet: the plan (preview) or, with ``apply``, the plan carried out (all or nothing)."""
        return estate_units.import_units(estate, rows, bool(apply), self.tenant.id, self.tenant.user_id,
                                         self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def create_estate(self, data):
        """Head office / group admin: a new estate of the caller's tenant (publishes ``estate_saved``)."""
        return estates_admin.create_estate(data, self.tenant.id, self.tenant.user_id, self.tenant.caller_roles,
                                           self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def update_estate(self, code, changes):
        """Head office / group admin: change (or deactivate) an estate; the code never changes."""
        return estates_admin.update_estate(code, changes, self.tenant.id, self.tenant.user_id,
                                           self.tenant.caller_roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_complaints(self, estate=None, status=None, channel=None, limit=50, offset=0, mine=False, sort=None,
                        order=None):
        return handlers.list_complaints(self.tenant.id, self.tenant.user_id, self.db.engine, estate=estate,
                                        status=status, channel=channel, limit=limit, offset=offset, mine=mine,
                                        scope=self._scope(), sort=sort, order=order)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_categories(self):
        """The tenant's classification categories with their keywords (Open311 services)."""
        return open311_requests.list_categories(self.tenant.id, self.db.engine, self.classifiers)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_open311_requests(self, references=None, estate=None, category=None, received_from=None,
                              received_to=None, limit=1000, offset=0):
        """Complaints of the open311 channel with the public part of their form, newest first."""
        return open311_requests.list_open311_requests(self.tenant.id, self.db.engine, references, estate, category,
                                                      received_from, received_to, limit, offset)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def find_by_reference(self, reference, phone):
        return handlers.find_by_reference(reference, phone, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_mail_log(self, limit=50):
        return mail_intake.mail_log(self.tenant.id, self.db.engine, limit)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def record_call_event(self, event):
        return calls.record_call_event(event, self.tenant.id, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def lookup_caller(self, phone=None, unit=None, estate=None):
        return calls.lookup_caller(self.tenant.id, self.db.engine, phone=phone, unit=unit, estate=estate,
                                   scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_call(self, call_id):
        return calls.get_call(call_id, self.tenant.id, self.db.engine, scope=self._scope())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_calls(self, limit=20):
        return calls.list_calls(self.tenant.id, self.db.engine, self.db.clock.now(), scope=self._scope(),
                                limit=limit)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def verify_wechat(self, query):
        return wechat_intake.verify_url(query, self.tenant.id, self.db, self.wechat)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def receive_wechat(self, query, body):
        return wechat_intake.receive(query, body, self.tenant.id, self.db, self.classifiers, self.wechat)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_wechat_credentials(self, app_id):
        """Service-to-service only (notify's customer-service replies): the account's AppSecret."""
        return wechat_credentials.get_credentials(app_id, self.tenant.id, self.tenant.caller_roles, self.db.engine,
                                                  self.wechat.environ)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_wechat_accounts(self):
        """Group admins: the tenant's accounts, whether an AppSecret is set, the template ids (never a secret)."""
        return wechat_accounts_admin.list_accounts(self.tenant.id, self.tenant.caller_roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def update_wechat_account(self, id, changes):  # noqa: A002 - the RPC's documented argument name
        return wechat_accounts_admin.update_account(id, changes, self.tenant.id, self.tenant.user_id,
                                                    self.tenant.caller_roles, self.db.uow(), self.wechat.environ)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_wechat_log(self, limit=50):
        return wechat_intake.wechat_log(self.tenant.id, self.db.engine, limit)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
