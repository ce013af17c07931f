"""How notify's messages appear on a complaint's timeline and delivery list (zh-CN default, English second).

One entry per message, showing its latest state (queued / deferred / retrying / unknown / sent / delivered /
failed).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from estatedesk_common import i18n

from .lost_answers import UNKNOWN
from .messages import NO_EMAIL, mask_emails_in, mask_recipient
from .opt_outs import THROTTLED
from .owner_updates import OPTED_OUT
from .phones import mask_phones_in


# How a message's delivery state reads on a timeline (zh-CN, en); each message kind registers its own prefix.
DELIVERY_STATES = {"queued": ("排队中", "queued"),
                   "retrying": ("排队中（已尝试 {attempts} 次，稍后重试：{reason}）",
                                "queued (tried {attempts} times, will retry: {reason})"),
                   "sent": ("已发送至 {recipient}", "sent to {recipient}"),
                   "delivered": ("已送达 {recipient}", "delivered to {recipient}"),
                   "failed": ("发送失败（{recipient}）：{reason}", "to {recipient} failed: {reason}"),
                   "skipped": ("未发送：{reason}", "not sent: {reason}"),
                   "deferred": ("因免打扰时段暂缓，将于 {until} 发送", "held back for quiet hours until {until}"),
                   "unknown": ("已交给短信网关但未收到应答，等待状态报告至 {until}",
                               "handed to the SMS gateway without an answer, waiting for its delivery report until "
                               "{until}")}

i18n.register({
    "notify.acknowledgement.email.queued": {"zh_CN": "受理回执邮件排队中", "en": "Acknowledgement e-mail queued"},
    "notify.acknowledgement.email.retrying": {
        "zh_CN": "受理回执邮件排队中（已尝试 {attempts} 次，稍后重试：{reason}）",
        "en": "Acknowledgement e-mail queued (tried {attempts} times, will retry: {reason})"},
    "notify.acknowledgement.email.sent": {"zh_CN": "受理回执邮件已发送至 {recipient}",
                                          "en": "Acknowledgement e-mail sent to {recipient}"},
    "notify.acknowledgement.email.failed": {"zh_CN": "受理回执邮件发送失败：{reason}",
                                            "en": "Acknowledgement e-mail failed: {reason}"},
    "notify.acknowledgement.email.skipped": {"zh_CN": "受理回执未发送：{reason}",
                                             "en": "Acknowledgement not sent: {reason}"},
    "notify.acknowledgement.sms.queued": {"zh_CN": "受理短信排队中", "en": "Acknowledgement SMS queued"},
    "notify.acknowledgement.sms.deferred": {
        "zh_CN": "受理短信因免打扰时段暂缓，将于 {until} 发送",
        "en": "Acknowledgement SMS held back for quiet hours until {until}"},
    "notify.acknowledgement.sms.retrying": {
        "zh_CN": "受理短信排队中（已尝试 {attempts} 次，稍后重试：{reason}）",
        "en": "Acknowledgement SMS queued (tried {attempts} times, will retry: {reason})"},
    "notify.acknowledgement.sms.sent": {"zh_CN": "受理短信已发送至 {recipient}",
                                        "en": "Acknowledgement SMS sent to {recipient}"},
    "notify.acknowledgement.sms.unknown": {
        "zh_CN": "受理短信已交给短信网关但未收到应答，等待状态报告至 {until}",
        "en": "Acknowledgement SMS handed to the SMS gateway without an answer, waiting for its delivery report "
              "until {until}"},
    "notify.acknowledgement.sms.delivered": {"zh_CN": "受理短信已送达 {recipient}",
                                             "en": "Acknowledgement SMS delivered to {recipient}"},
    "notify.acknowledgement.sms.failed": {"zh_CN": "受理短信发送失败（{recipient}）：{reason}",
                                          "en": "Acknowledgement SMS to {recipient} failed: {reason}"},
    "notify.reason.no_email": {"zh_CN": "无电子邮箱", "en": "no e-mail address"},
    "notify.reason.opted_out": {"zh_CN": "业主已回复退订短信", "en": "the owner opted out of SMS"},
    "notify.throttled": {"zh_CN": "{what}（超过每小时发送上限，将于 {until} 发送）",
                         "en": "{what} (hourly limit for this number reached, goes at {until})"},
    "notify.callback_survey.sms.queued": {"zh_CN": "回访问卷短信排队中", "en": "Callback survey SMS queued"},
    "notify.callback_survey.sms.deferred": {"zh_CN": "回访问卷短信因免打扰时段暂缓，将于 {until} 发送",
                                            "en": "Callback survey SMS held back for quiet hours until {until}"},
    "notify.callback_survey.sms.retrying": {
        "zh_CN": "回访问卷短信排队中（已尝试 {attempts} 次，稍后重试：{reason}）",
        "en": "Callback survey SMS queued (tried {attempts} times, will retry: {reason})"},
    "notify.callback_survey.sms.sent": {"zh_CN": "回访问卷短信已发送至 {recipient}",
                                        "en": "Callback survey SMS sent to {recipient}"},
    "notify.callback_survey.sms.unknown": {
        "zh_CN": "回访问卷短信已交给短信网关但未收到应答，等待状态报告至 {until}",
        "en": "Callback survey SMS handed to the SMS gateway without an answer, waiting for its delivery report "
              "until {until}"},
    "notify.callback_survey.sms.delivered": {"zh_CN": "回访问卷短信已送达 {recipient}",
                                             "en": "Callback survey SMS delivered to {recipient}"},
    "notify.callback_survey.sms.failed": {"zh_CN": "回访问卷短信发送失败（{recipient}）：{reason}",
                                          "en": "Callback survey SMS to {recipient} failed: {reason}"},
    "notify.callback_survey.sms.skipped": {"zh_CN": "回访问卷短信未发送：{reason}",
                                           "en": "Callback survey SMS not sent: {reason}"},
})


def _reason(last_error: str | None, locale: str) -> str:
    if last_error == NO_EMAIL:
        return i18n.t("notify.reason.no_email", locale)
    if last_error == OPTED_OUT:
        return i18n.t("notify.reason.opted_out", locale)
    return mask_phones_in(mask_emails_in(last_error or ""))[:300]


def _local(at, timezone: str | None) -> str:
    return at.astimezone(ZoneInfo(timezone or "Asia/Shanghai")).strftime("%m-%d %H:%M")


def timeline_entry(row, locale: str = i18n.DEFAULT_LOCALE) -> dict:
    """One ``{"at","kind","actor","text"}`` for a ``messages`` row (mapping)."""
    status = row["status"]
    prefix = f"notify.{row['kind']}.{row['channel']}"
    recipient = mask_recipient(row["channel"], row["recipient"]) or "—"
    at, kind = row["created_at"], f"notification_{status}"
    deferred = row.get("deferred_until")
    if status == "sent":
        at = row["sent_at"] or at
        text = i18n.t(f"{prefix}.{'sent_template' if via(row) == 'template' else 'sent'}", locale,
                      recipient=recipient)
    elif status == "delivered":
        at = row.get("dlr_at") or row["updated_at"] or at
        text = i18n.t(f"{prefix}.delivered", locale, recipient=recipient)
    elif status == "queued" and row["attempts"]:
        text = i18n.t(f"{prefix}.retrying", locale, attempts=row["attempts"],
                      reason=_reason(row["last_error"], locale))
    elif status == "queued" and deferred and (row["last_error"] or "").startswith(THROTTLED):
        kind = "notification_deferred"
        text = i18n.t("notify.throttled", locale, what=i18n.t(f"{prefix}.queued", locale),
                      until=_local(deferred, row.get("timezone")))
    elif status == "queued" and deferred:
        kind = "notification_deferred"
        text = i18n.t(f"{prefix}.deferred", locale, until=_local(deferred, row.get("timezone")))
    elif status == UNKNOWN:  # still pending for the console: a delivery report or a repeat will settle it
        kind = "notification_queued"
        text = i18n.t(f"{prefix}.unknown", locale, until=_local(row["next_attempt_at"] or at, row.get("timezone")))
    elif status in ("failed", "skipped"):
        at = row["updated_at"] or at
        text = i18n.t(f"{prefix}.{status}", locale, recipient=recipient, reason=_reason(row["last_error"], locale))
    else:
        text = i18n.t(f"{prefix}.{status}", locale)
    return {"at": at.isoformat(), "kind": kind, "actor": "notify", "text": text}


def via(row) -> str | None:
    """How a sent WeChat row went (``customer_service`` | ``template``); None for other channels or not sent."""
    fallback = row.get("fallback") if row.get("channel") == "wechat" else None
    return fallback.get("via") if isinstance(fallback, dict) else None


def delivery_view(row) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {
        "id": row["id"], "kind": row["kind"], "channel": row["channel"],
        "recipient": mask_recipient(row["channel"], row["recipient"]),
        "status": row["status"], "attempts": row["attempts"], "created_at": iso(row["created_at"]),
        "sent_at": iso(row["sent_at"]), "last_error": _reason(row["last_error"], "en") or None,
        "deferred_until": iso(row.get("deferred_until")), "dlr_type": row.get("dlr_type"), "via": via(row),
        "dlr_attempt": row.get("dlr_attempt"), "ambiguous_at": iso(row.get("ambiguous_at")),
        "ambiguous_retries": row.get("ambiguous_retries") or 0,
    }
