"""How notify's messages appear on a complaint's timeline and delivery list (zh-CN default, English second)."""
from __future__ import annotations

from estatedesk_common import i18n

from .messages import NO_EMAIL, mask_email, mask_emails_in

i18n.register({
    "notify.acknowledgement.queued": {"zh_CN": "受理回执邮件排队中", "en": "Acknowledgement e-mail queued"},
    "notify.acknowledgement.retrying": {
        "zh_CN": "受理回执邮件排队中（已尝试 {attempts} 次，稍后重试：{reason}）",
        "en": "Acknowledgement e-mail queued (tried {attempts} times, will retry: {reason})"},
    "notify.acknowledgement.sent": {"zh_CN": "受理回执邮件已发送至 {recipient}",
                                    "en": "Acknowledgement e-mail sent to {recipient}"},
    "notify.acknowledgement.failed": {"zh_CN": "受理回执邮件发送失败：{reason}",
                                      "en": "Acknowledgement e-mail failed: {reason}"},
    "notify.acknowledgement.skipped": {"zh_CN": "受理回执未发送：{reason}", "en": "Acknowledgement not sent: {reason}"},
    "notify.reason.no_email": {"zh_CN": "无电子邮箱", "en": "no e-mail address"},
})


def _reason(last_error: str | None, locale: str) -> str:
    if last_error == NO_EMAIL:
        return i18n.t("notify.reason.no_email", locale)
    return mask_emails_in(last_error or "")[:300]


def timeline_entry(row, locale: str = i18n.DEFAULT_LOCALE) -> dict:
    """One ``{"at","kind","actor","text"}`` for a ``messages`` row (mapping)."""
    status = row["status"]
    key = f"notify.{row['kind']}.{status}"
    at = row["created_at"]
    if status == "sent":
        at = row["sent_at"] or at
        text = i18n.t(key, locale, recipient=mask_email(row["recipient"]))
    elif status == "queued" and row["attempts"]:
        text = i18n.t(f"notify.{row['kind']}.retrying", locale, attempts=row["attempts"],
                      reason=_reason(row["last_error"], locale))
    elif status in ("failed", "skipped"):
        at = row["updated_at"] or at
        text = i18n.t(key, locale, reason=_reason(row["last_error"], locale))
    else:
        text = i18n.t(key, locale)
    return {"at": at.isoformat(), "kind": f"notification_{status}", "actor": "notify", "text": text}


def delivery_view(row) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {
        "id": row["id"], "kind": row["kind"], "channel": row["channel"],
        "recipient": mask_email(row["recipient"]) if row["recipient"] else "",
        "status": row["status"], "attempts": row["attempts"], "created_at": iso(row["created_at"]),
        "sent_at": iso(row["sent_at"]), "last_error": mask_emails_in(row["last_error"]) or None,
    }
