"""notify: entrypoints only."""
from nameko.rpc import rpc
from nameko.web.handlers import http

from estatedesk_common.db import ping
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.observability import Observability
from estatedesk_common.tenant import Tenant

from . import account_mail, callbacks, handlers, opt_outs, owner_updates, periodic_reports, staff, superior
from . import mail_settings, template_overrides
from .dependencies import CallbackConfig, Mailer, Sms, WeChat
from .reminders import ReminderLoop
from . import digest
from .digest import DigestLoop
from .exceptions import EXPECTED_EXCEPTIONS
from .tables import reliability
from . import webhook_entrypoints  # not its class by name: `nameko run` would take the mixin for a service
from .webhooks import WebhookDeliverer


class NotifyService(webhook_entrypoints.WebhookEntrypoints):
    name = "notify"

    db = Database("notify", reliability)
    mailer = Mailer(database="db")
    sms = Sms(database="db")
    wechat = WeChat(database="db")  # customer-service replies to owners who came through WeChat (wechat.py)
    tenant = Tenant()
    obs = Observability()
    callback_config = CallbackConfig()
    webhooks = WebhookDeliverer()  # outgoing webhooks (webhooks.py; entrypoints in webhook_entrypoints.py)
    reminders = ReminderLoop()  # overdue callbacks -> the estate's cs_supervisor (reminders.py)
    digests = DigestLoop()  # managers' daily digest at each tenant's hour (digest.py)

    @reliable_event_handler("workflow", "case_opened")
    def on_case_opened(self, envelope):
        self._wake(handlers.on_case_opened(envelope, self.db.uow(), sms=self.sms.policy, wechat=self.wechat.policy))

    @reliable_event_handler("workflow", "case_resolved")
    def on_case_resolved(self, envelope):
        callbacks.on_case_resolved(envelope, self.db.uow(), self.callback_config.due_hours)

    @reliable_event_handler("reporting", "report_ready")
    def on_report_ready(self, envelope):
        if periodic_reports.on_report_ready(envelope, self.db.uow()):
            self.mailer.wake()

    @reliable_event_handler("workflow", "case_opened")
    def remember_superior(self, envelope):
        superior.remember(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_closed")
    def report_to_superior_on_close(self, envelope):
        self._wake(superior.on_case_closed(envelope, self.db.uow(), superior.CONSUMER_CLOSED, self.sms.policy))

    @reliable_event_handler("workflow", "owner_accepted")
    def report_to_superior_on_acceptance(self, envelope):
        self._wake(superior.on_case_closed(envelope, self.db.uow(), superior.CONSUMER_ACCEPTED, self.sms.policy))

    @reliable_event_handler("workflow", "case_opened")
    def remember_owner(self, envelope):
        owner_updates.remember_contacts(envelope, self.db.uow())

    @reliable_event_handler("workflow", "case_progress_recorded")
    def tell_owner_progress(self, envelope):
        self._wake(owner_updates.on_case_event(envelope, self.db.uow(), self.sms.policy, wechat=self.wechat.policy))

    @reliable_event_handler("workflow", "case_plan_recorded")
    def tell_owner_plan(self, envelope):
        self._wake(owner_updates.on_case_event(envelope, self.db.uow(), self.sms.policy, wechat=self.wechat.policy))

    @reliable_event_handler("workflow", "case_resolved")
    def tell_owner_resolved(self, envelope):
        self._wake(owner_updates.on_case_event(envelope, self.db.uow(), self.sms.policy, wechat=self.wechat.policy))

    @reliable_event_handler("workflow", "case_reopened")
    def tell_owner_reopened(self, envelope):
        self._wake(owner_updates.on_case_event(envelope, self.db.uow(), self.sms.policy, wechat=self.wechat.policy))

    @reliable_event_handler("workflow", "sla_warning")
    def alert_staff_warning(self, envelope):
        self._wake({"email"} if staff.on_case_event(envelope, self.db.uow()) else set())

    @reliable_event_handler("workflow", "sla_breached")
    def alert_staff_breach(self, envelope):
        self._wake({"email"} if staff.on_case_event(envelope, self.db.uow()) else set())

    @reliable_event_handler("workflow", "case_escalated")
    def alert_staff_escalation(self, envelope):
        self._wake({"email"} if staff.on_case_event(envelope, self.db.uow()) else set())

    @reliable_event_handler("workflow", "major_case_opened")
    def alert_site_manager_major(self, envelope):
        self._wake({"email"} if staff.on_case_event(envelope, self.db.uow()) else set())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_staff_contacts(self):
        return staff.list_staff_contacts(self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def set_staff_contacts(self, contacts):
        return staff.set_staff_contacts(self.tenant.id, self.tenant.caller_roles, contacts, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_digest_settings(self):
        return digest.get_settings(self.tenant.id, self.tenant.caller_roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def set_digest_settings(self, settings):
        return digest.save_settings(self.tenant.id, self.tenant.user_id, self.tenant.caller_roles, settings,
                                    self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def send_daily_digest(self, day=None):
        """The tenant's digest of ``day`` (today, local) now, once per manager and day (operators, tests)."""
        return self.digests.send(self.tenant.id, self.tenant.caller_roles, day)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_template_overrides(self):
        return template_overrides.list_template_overrides(self.tenant.id, self.tenant.caller_roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_template(self, message, locale, estate=None):
        return template_overrides.get_template(self.tenant.id, self.tenant.caller_roles, self.db.engine, message,
                                               locale, estate)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def preview_template(self, message, locale, parts=None, estate=None):
        return template_overrides.preview_template(self.tenant.id, self.tenant.caller_roles, self.db.engine,
                                                   message, locale, parts, estate)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_template(self, message, locale, parts, estate=None):
        return template_overrides.save_template(self.tenant.id, self.tenant.user_id, self.tenant.caller_roles,
                                                self.db.uow(), message, locale, parts, estate)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def delete_template(self, message, locale, estate=None, part=None):
        return template_overrides.delete_template(self.tenant.id, self.tenant.caller_roles, self.db.uow(), message,
                                                  locale, estate, part)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def queue_password_reset(self, recipient, locale, link, expires_at):
        """The reset link a user asked for on the gateway's forgot-password page (account_mail.py)."""
        result = account_mail.queue_password_reset(self.tenant.id, self.tenant.caller_roles, recipient, locale,
                                                   link, expires_at, self.db.uow())
        self.mailer.wake()
        return result

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_mail_settings(self):
        """The tenant's outgoing mail server, never its password (mail_settings.py)."""
        return mail_settings.get_mail_settings(self.tenant.id, self.tenant.caller_roles, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def save_mail_settings(self, data):
        return mail_settings.save_mail_settings(data, self.tenant.id, self.tenant.user_id, self.tenant.caller_roles,
                                                self.db.uow(), self.mailer.policy)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def send_test_mail(self, to, locale=None, settings=None):
        return mail_settings.send_test_mail(to, locale, settings, self.tenant.id, self.tenant.caller_roles,
                                            self.db.engine, self.mailer.policy)

    @http("GET", "/kannel/mo")
    def kannel_mo(self, request):
        """An owner's SMS reply through Kannel's sms-service; "TD"/"退订" opts the number out (opt_outs.py)."""
        return opt_outs.on_kannel_mo(request.args, self.db.uow(), self.sms.policy.mo_token)

    def _wake(self, channels):
        for channel, loop in (("email", self.mailer), ("sms", self.sms), ("wechat", self.wechat)):
            if channel in channels:
                loop.wake()

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def list_callbacks(self, estate=None, status=None, limit=50, offset=0, complaint_id=None, sort=None,
                       order=None):
        return callbacks.list_callbacks(self.tenant.id, self.tenant.roles, self.db.engine, estate, status, limit,
                                        offset, complaint_id, sort, order)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def claim_callback(self, id):  # noqa: A002 - the RPC's documented argument name
        return callbacks.claim_callback(id, self.tenant.id, self.tenant.user_id, self.tenant.roles, self.db.uow())

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def log_callback_attempt(self, id, outcome, satisfaction=None, words=None, valid=None, solved=None):  # noqa: A002
        fields = {"outcome": outcome, "satisfaction": satisfaction, "words": words, "valid": valid, "solved": solved}
        result = callbacks.log_callback_attempt(id, self.tenant.id, self.tenant.user_id, self.tenant.roles,
                                                self.db.uow(), fields, self.sms.policy, self.callback_config.survey_url,
                                                wechat=self.wechat.policy)
        if result["survey_queued"]:
            self._wake({"sms", "wechat"})  # a WeChat owner's survey goes by WeChat (callbacks.py)
        return result

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def get_survey(self, token):
        """Owner page (tenant from the URL's slug, no user): the survey behind an SMS link."""
        return callbacks.get_survey(token, self.tenant.id, self.db.engine)

    @rpc(expected_exceptions=EXPECTED_EXCEPTIONS)
    def answer_survey(self, token, satisfaction, words=None):
        return callbacks.answer_survey(token, satisfaction, words, self.tenant.id, self.db.uow())

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
