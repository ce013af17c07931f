"""reporting: entrypoints only. Consumes events into read models; answers per-tenant, estate-scoped queries.

Reporting publishes one event, ``report_ready`` (a periodic report made: notify e-mails it), and archives every
event of every service (``archive.py``). The caller's estates come from the
``roles`` in the context (``domain.scope``); binary exports cross RPC as base64.
"""
import base64

from nameko.rpc import rpc

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import archive_event_handler, reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import archive, handlers, periodic_reports, reports, rollup_merge
from .domain.scope import scope_from_roles
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import event_archive, reliability


class ReportingService:
    name = "reporting"

    db = Database("reporting", reliability,  # relay: the periodic reports' report_ready events
                  retention=[("event_archive", event_archive.c.occurred_at, "EVENT_ARCHIVE_RETENTION_DAYS")])
    scheduler = periodic_reports.ReportScheduler()
    merger = rollup_merge.RollupMerger()  # rollup deltas a handler left behind; the backlog's metrics
    tenant = Tenant()
    obs = Observability()

    @reliable_event_handler("intake", "complaint_received")
    def on_complaint_received(self, envelope):
        handlers.record_complaint_received(envelope, self.db.uow())

    @reliable_event_handler("intake", "complaint_reclassified")
    def on_complaint_reclassified(self, envelope):
        handlers.record_complaint_reclassified(envelope, self.db.uow())

    @reliable_event_handler("intake", "estate_saved")
    def on_estate_saved(self, envelope):
        handlers.record_estate_saved(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        handlers.record_case_opened(envelope, self.db.uow())

    @reliable_event_handler("notify", "notification_sent")
    def on_notification_sent(self, envelope):
        handlers.record_notification(envelope, self.db.uow())

    @reliable_event_handler("notify", "notification_failed")
    def on_notification_failed(self, envelope):
        handlers.record_notification(envelope, self.db.uow())

    # the case's later life (handlers.LIFECYCLE)
    @reliable_event_handler("workflow", "case_contacted")
    def on_case_contacted(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_resolved")
    def on_case_resolved(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_cancelled")
    def on_case_cancelled(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_reopened")
    def on_case_reopened(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "sla_breached")
    def on_sla_breached(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_escalated")
    def on_case_escalated(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "extension_requested")
    def on_extension_requested(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "extension_decided")
    def on_extension_decided(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_resumed")
    def on_case_resumed(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("notify", "callback_completed")
    def on_callback_completed(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    @reliable_event_handler("notify", "callback_dissatisfied")
    def on_callback_dissatisfied(self, envelope):
        handlers.record_case_event(envelope, self.db.uow())

    # quality records (domain/quality.py): nonconformity records and CAPA, for their KPIs
    @reliable_event_handler("workflow", "nonconformity_opened")
    def on_nonconformity_opened(self, envelope):
        handlers.record_quality_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "nonconformity_decided")
    def on_nonconformity_decided(self, envelope):
        handlers.record_quality_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "capa_opened")
    def on_capa_opened(self, envelope):
        handlers.record_quality_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "capa_case_added")
    def on_capa_case_added(self, envelope):
        handlers.record_quality_event(envelope, self.db.uow())

    @reliable_event_handler("workflow", "capa_checked")
    def on_capa_checked(self, envelope):
        handlers.record_quality_event(envelope, self.db.uow())

    # the event archive (archive.py): every event of every service, once; rebuild --from-events replays it
    @archive_event_handler("intake")
    def archive_intake(self, envelope):
        archive.archive_event(envelope, "intake", self.db.uow())

    @archive_event_handler("workflow")
    def archive_workflow(self, envelope):
        archive.archive_event(envelope, "workflow", self.db.uow())

    @archive_event_handler("notify")
    def archive_notify(self, envelope):
        archive.archive_event(envelope, "notify", self.db.uow())

    @archive_event_handler("reporting")
    def archive_reporting(self, envelope):
        archive.archive_event(envelope, "reporting", self.db.uow())

    def _caller(self):
        return self.tenant.id, scope_from_roles(self.tenant.roles), self.db.engine, self.db.clock.now()

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def complaint_counts(self, date_from=None, date_to=None):
        tenant_id, scope, engine, _ = self._caller()
        return handlers.complaint_counts(tenant_id, date_from, date_to, engine, scope)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def kpis(self, date_from=None, date_to=None, estate=None):
        return reports.kpis(*self._caller(), date_from, date_to, estate)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def league_table(self, date_from=None, date_to=None, sort="received", region=None):
        return reports.league_table(*self._caller(), date_from, date_to, sort, region)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def hot_spots(self, date_from=None, date_to=None):
        tenant_id, scope, engine, _ = self._caller()
        return reports.hot_spots(tenant_id, scope, engine, date_from, date_to)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def drilldown(self, metric=None, date_from=None, date_to=None, estate=None, category=None, channel=None,
                  limit=50, offset=0, building=None, facility=None):
        return reports.drilldown(*self._caller(), metric, date_from, date_to, estate, category, channel, limit,
                                 offset, building, facility)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def export(self, report=None, format="csv", date_from=None, date_to=None, estate=None, sort="received",
               region=None, locale=None):
        out = reports.export(*self._caller(), report, format, date_from, date_to, estate, sort, region, locale)
        content = out.pop("content")
        return dict(out, content_base64=base64.b64encode(content).decode("ascii"))

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def subscribe_report(self, data):
        return periodic_reports.subscribe(data, self.tenant.id, self.tenant.user_id, self.tenant.roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_report_subscriptions(self):
        return periodic_reports.list_subscriptions(self.tenant.id, self.tenant.roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def unsubscribe_report(self, subscription_id):
        return periodic_reports.unsubscribe(subscription_id, self.tenant.id, self.tenant.roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def run_report_now(self, subscription_id):
        return periodic_reports.run_now(subscription_id, self.tenant.id, self.tenant.roles, self.db.engine,
                                        self.db.clock)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_report_runs(self, limit=50):
        return periodic_reports.list_runs(self.tenant.id, self.tenant.roles, self.db.engine, limit)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_report_run(self, run_id):
        return periodic_reports.get_run(run_id, self.tenant.id, self.tenant.roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def export_report_run(self, run_id, format="csv", locale=None):
        out = periodic_reports.export_run(run_id, format, self.tenant.id, self.tenant.roles, self.db.engine,
                                          self.db.clock.now(), locale)
        content = out.pop("content")
        return dict(out, content_base64=base64.b64encode(content).decode("ascii"))

    @rpc
    def health(self):
        ping(self.db.engine)
        return {"status": "ok", "service": self.name}
