"""workflow: entrypoints only."""
from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant
from estatedesk_common.timers import Timers

from . import (actions, callbacks, case_summaries, digest, duty, handlers, policy_admin, presets, quality, routing,
               workload)
from .domain.sla import statutory
from .exceptions import EXPECTED_EXCEPTIONS
from .statutory import StatutoryCalendars
from .tables import reliability


class WorkflowService:
    name = "workflow"

    db = Database("workflow", reliability)
    tenant = Tenant()
    obs = Observability()
    timers = Timers("workflow.tables.timers", "workflow.escalation.on_timer")  # warnings, breaches, escalation
    calendars = StatutoryCalendars()  # operator-loaded statutory years (workflow.statutory)

    @reliable_event_handler("intake", "complaint_received")
    def on_complaint_received(self, envelope):
        handlers.open_case(envelope, self.db.uow())

    @reliable_event_handler("notify", "callback_completed")
    def on_callback_completed(self, envelope):
        callbacks.on_callback_completed(envelope, self.db.uow())

    @reliable_event_handler("notify", "callback_dissatisfied")
    def on_callback_dissatisfied(self, envelope):
        callbacks.on_callback_dissatisfied(envelope, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def act(self, complaint_id, action, data=None, expected_version=None):
        """contact | assign | plan | progress | resolve | accept | cancel (workflow.actions);
        request_extension | decide_extension (workflow.extensions); decide_nonconformity (workflow.quality);
        defer | resume (workflow.deferrals)."""
        return actions.act(complaint_id, action, data, self.tenant.id, self.tenant.user_id, self.db.uow(),
                           expected_version, roles=self.tenant.roles)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_case(self, complaint_id):
        return handlers.get_case(complaint_id, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_cases(self, estate=None, status=None, overdue=False, escalated=False, mine=False, limit=50, offset=0,
                   complaint_ids=None, extension_pending=False, assignee_names=(), sort=None, order=None):
        """The caller's queue (estate scope from the context's roles), soonest pending deadline first unless
        ``sort`` (due_at, received_at, severity, estate, status) and ``order`` (asc, desc) say otherwise."""
        return handlers.list_cases(self.tenant.id, self.tenant.roles, self.tenant.user_id, self.db.engine,
                                   self.db.clock.now(), estate, status, overdue, escalated, mine, limit, offset,
                                   complaint_ids, extension_pending, assignee_names, sort, order)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def case_summaries(self, complaint_ids):
        """Status, last change and resolution deadline of up to 1000 cases (status feeds such as Open311)."""
        return case_summaries.case_summaries(complaint_ids, self.tenant.id, self.tenant.caller_roles,
                                             self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def preview_sla(self, policy, received_at, severity, category=None, estate=None, channel=None, scope=None):
        """Deadlines under ``policy`` (a document, YAML/JSON text, or None for the tenant's policy in force);
        with ``scope`` the document is that scope's override on top of the layers in force."""
        return handlers.preview_sla(self.tenant.id, self.db.engine, policy, received_at, severity, category,
                                    estate, channel, scope)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_sla_policy(self, estate=None, at=None):
        return handlers.get_sla_policy(self.tenant.id, self.db.engine, estate, at, self.db.clock)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_sla_policy(self, scope, document, effective_from=None, recompute_open=False, directory=None,
                        preset=None):
        """Validate and store the next version of ``scope``'s policy; optionally recompute open cases
        (workflow.policy_admin). ``directory``: intake's estates [{code, region}] (the scope's estates).
        ``preset``: store that shipped preset's text instead of ``document`` (``list_sla_presets``)."""
        document = presets.for_scope(preset, scope) if preset is not None else document
        return policy_admin.save(self.db.uow(), self.tenant.id, self.tenant.user_id, scope, document,
                                 effective_from, bool(recompute_open), directory)

    @rpc
    def list_sla_presets(self):
        """The shipped presets (seed 002, 001, 000; the seed 004 handover override) with their text."""
        return {"items": presets.catalogue()}

    @rpc
    def list_calendar_years(self):
        """The years each calendar knows (``cn``: the package's and the operator-loaded ones; ``none``: any), so a
        form can refuse a closure in a year deadlines cannot be counted in."""
        return {"calendars": {"cn": statutory.known_years(), "none": None}}

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_sla_policy_versions(self, scope=None):
        with self.db.engine.connect() as conn:
            return policy_admin.versions(conn, self.tenant.id, scope)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_routing_rules(self, estate=None):
        """Routing rules the caller may read (workflow.routing); ``estate``: the group's and that estate's."""
        with self.db.engine.connect() as conn:
            return routing.list_rules(conn, self.tenant.id, self.tenant.roles, estate)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_routing_rules(self, scope, rules):
        """Replace ``scope``'s routing rules ("group": group_admin; "estate:<code>": also its site_manager)."""
        return routing.save_rules(self.db.uow(), self.tenant.id, self.tenant.user_id, self.tenant.roles, scope,
                                  rules)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_duty_roster(self, estate):
        """The estate's duty roster and who is on duty now (workflow.duty)."""
        with self.db.engine.connect() as conn:
            return duty.get_roster(conn, self.tenant.id, self.tenant.roles, estate, self.db.clock.now())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_duty_roster(self, estate, entries):
        """Replace the estate's duty roster (its site_manager, group_admin or head_office; workflow.duty)."""
        return duty.save_roster(self.db.uow(), self.tenant.id, self.tenant.user_id, self.tenant.roles, estate,
                                entries)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_nonconformities(self, estate=None, status=None):
        """Nonconformity records in the caller's estates (workflow.quality)."""
        with self.db.engine.connect() as conn:
            return quality.list_nonconformities(conn, self.tenant.id, self.tenant.roles, estate, status)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_capa(self, estate=None, status=None):
        """CAPA records in the caller's estates, each with ``overdue`` (workflow.quality)."""
        with self.db.engine.connect() as conn:
            return quality.list_capa(conn, self.tenant.id, self.tenant.roles, estate, status, self.db.clock.now())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def check_capa(self, capa_id, effective, note):
        """The effectiveness check of a CAPA record by the estate's site manager (workflow.quality)."""
        return quality.check_capa(self.db.uow(), self.tenant.id, self.tenant.user_id, self.tenant.roles, capa_id,
                                  effective, note)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def team_workload(self, estate=None):
        """Per estate and assignee: open, overdue, due within 24 h, deferred (workflow.workload)."""
        with self.db.engine.connect() as conn:
            return workload.team_workload(conn, self.tenant.id, self.tenant.roles, estate, self.db.clock.now())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def digest_figures(self, since, until, due_before, worst=10):
        """Per estate: received and resolved in [since, until), open, overdue, due before ``due_before``,
        escalated, extensions waiting; the worst cases per estate (notify's daily digest; workflow.digest)."""
        with self.db.engine.connect() as conn:
            return digest.digest_figures(conn, self.tenant.id, self.tenant.caller_roles, since, until, due_before,
                                         self.db.clock.now(), worst)

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
