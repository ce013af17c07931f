"""Template messages (模板消息): how an official account reaches a follower outside WeChat's 48-hour
customer-service window (客服消息 only go out within 48 hours of the owner's last message to the account).

Rules (plain Python):
- every WeChat row carries its template message as planned when it was queued (``plan``: the tenant's template
  is picked by ``message`` at send time, from the ids intake hands over with the AppSecret);
- fields, the same for every message (the tenant picks templates with these keywords in this order from
  WeChat's library, e.g. 投诉处理进度通知): ``first`` (what happened), ``keyword1`` the reference (受理编号),
  ``keyword2`` the status (处理状态), ``keyword3`` the time (时间, the estate's zone), ``keyword4`` the estate
  (所属项目), ``remark`` (what comes next; the note, remedy or new deadline); each value one line, cut to
  ``VALUE_LIMIT`` characters;
- ``url``: the owner's status page (``SURVEY_BASE_URL/t/<tenant id>/status``), or the survey link for the survey;
- the window is **known to be closed** when 48 hours have passed since the owner's last message notify knows of
  (the WeChat complaint's receipt; a later complaint from the same openid moves it): the template goes first,
  without a customer-service attempt. Otherwise the text is tried first and 45015 (window closed) or 45047 (too
  many messages without a reply) turn to the template.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from estatedesk_common import i18n

WINDOW = dt.timedelta(hours=48)
WINDOW_CLOSED = frozenset({45015, 45047})  # customer service cannot reach the owner now; a template can
VALUE_LIMIT = 120
# notify's message kinds -> the template a group admin configures for it (intake's ``TEMPLATE_MESSAGES``)
MESSAGES = {"acknowledgement": "acknowledgement", "owner_progress": "progress", "owner_reopened": "progress",
            "owner_resolved": "resolved", "callback_survey": "callback_survey"}

_T = "notify.wechat_template"
i18n.register({
    f"{_T}.acknowledgement.first": {"zh_CN": "您好，您的投诉已受理。", "en": "Your complaint has been received."},
    f"{_T}.acknowledgement.status": {"zh_CN": "已受理", "en": "Received"},
    f"{_T}.acknowledgement.remark": {"zh_CN": "工作人员将在 {due} 前与您联系，点击查看处理进度。",
                                     "en": "We will contact you by {due}. Tap to follow your complaint."},
    f"{_T}.acknowledgement.remark_soon": {"zh_CN": "工作人员将尽快与您联系，点击查看处理进度。",
                                          "en": "We will contact you soon. Tap to follow your complaint."},
    f"{_T}.progress.first": {"zh_CN": "您的投诉有新的处理进展。", "en": "There is news on your complaint."},
    f"{_T}.plan.first": {"zh_CN": "您的投诉处理方案已确定。", "en": "The plan for your complaint is set."},
    f"{_T}.progress.status": {"zh_CN": "处理中", "en": "In progress"},
    f"{_T}.progress.remark": {"zh_CN": "{note}（点击查看处理进度）", "en": "{note} (tap to follow your complaint)"},
    f"{_T}.reopened.first": {"zh_CN": "您的投诉已重新打开，我们将继续处理。",
                             "en": "Your complaint was reopened; we are working on it again."},
    f"{_T}.reopened.status": {"zh_CN": "重新处理中", "en": "Reopened"},
    f"{_T}.reopened.remark": {"zh_CN": "新的处理时限：{due}，点击查看处理进度。",
                              "en": "New time limit: {due}. Tap to follow your complaint."},
    f"{_T}.reopened.remark_plain": {"zh_CN": "点击查看处理进度。", "en": "Tap to follow your complaint."},
    f"{_T}.resolved.first": {"zh_CN": "您的投诉已处理完毕。", "en": "Your complaint has been resolved."},
    f"{_T}.resolved.status": {"zh_CN": "已办结", "en": "Resolved"},
    f"{_T}.resolved.remark": {"zh_CN": "处理措施：{remedy}。我们将回访您，了解您是否满意。",
                              "en": "What was done: {remedy}. We will call you to ask if you are satisfied."},
    f"{_T}.resolved.remark_plain": {"zh_CN": "我们将回访您，了解您是否满意。",
                                    "en": "We will call you to ask if you are satisfied."},
    f"{_T}.callback_survey.first": {"zh_CN": "请评价您投诉的处理结果。",
                                    "en": "Please tell us how your complaint was handled."},
    f"{_T}.callback_survey.status": {"zh_CN": "待评价", "en": "Awaiting your rating"},
    f"{_T}.callback_survey.remark": {"zh_CN": "我们几次致电未能联系到您，点击填写满意度评价。",
                                     "en": "We could not reach you by phone. Tap to rate the handling."},
})


def _one_line(text, limit: int = VALUE_LIMIT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _texts(kind: str, locale: str, context: dict) -> tuple[str, str, str]:
    """``(first, status, remark)`` of a message kind, from its template context."""
    t = lambda key, **kw: i18n.t(f"{_T}.{key}", locale, **kw)  # noqa: E731
    if kind == "acknowledgement":
        due = context.get("first_contact_due")
        remark = t("acknowledgement.remark", due=due) if due else t("acknowledgement.remark_soon")
        return t("acknowledgement.first"), t("acknowledgement.status"), remark
    if kind == "owner_progress":
        note = _one_line(context.get("note"), VALUE_LIMIT - 20)
        first = t("plan.first") if context.get("plan") else t("progress.first")
        return first, t("progress.status"), t("progress.remark", note=note) if note else t("reopened.remark_plain")
    if kind == "owner_reopened":
        due = context.get("resolution_due")
        remark = t("reopened.remark", due=due) if due else t("reopened.remark_plain")
        return t("reopened.first"), t("reopened.status"), remark
    if kind == "owner_resolved":
        remedy = _one_line(context.get("remedy"), VALUE_LIMIT - 30)
        remark = t("resolved.remark", remedy=remedy) if remedy else t("resolved.remark_plain")
        return t("resolved.first"), t("resolved.status"), remark
    if kind == "callback_survey":
        return t("callback_survey.first"), t("callback_survey.status"), t("callback_survey.remark")
    raise ValueError(f"no template message for {kind!r}")


def template_data(kind: str, locale: str, context: dict, at_local: str) -> dict:
    """The ``data`` of ``message/template/send``: first, keyword1..4 (reference, status, time, estate), remark."""
    first, status, remark = _texts(kind, locale, context)
    values = {"first": first, "keyword1": context.get("reference"), "keyword2": status, "keyword3": at_local,
              "keyword4": context.get("estate_name"), "remark": remark}
    return {key: {"value": _one_line(value)} for key, value in values.items()}


def plan(kind: str, locale: str, context: dict, now: dt.datetime, timezone: str | None, url: str | None,
         inbound_at: dt.datetime | None) -> dict | None:
    """What a WeChat row keeps for its template message (JSON): ``{message, data, url, window_until}``; None for a
    kind without a template. ``inbound_at``: the owner's last message notify knows of (None: ``now``)."""
    if kind not in MESSAGES:
        return None
    at_local = now.astimezone(ZoneInfo(timezone or "Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    return {"message": MESSAGES[kind], "data": template_data(kind, locale, context, at_local), "url": url or None,
            "window_until": ((inbound_at or now) + WINDOW).isoformat()}


def window_closed(template: dict | None, now: dt.datetime) -> bool:
    """True when the planned template says the 48 hours have passed (see the module docstring)."""
    until = (template or {}).get("window_until")
    try:
        return bool(until) and now >= dt.datetime.fromisoformat(until)
    except (TypeError, ValueError):
        return False


def status_url(pattern: str | None, tenant_id: str) -> str | None:
    """The owner's status page from ``WeChatPolicy.status_url`` (``.../t/{tenant}/status``)."""
    return pattern.format(tenant=tenant_id) if pattern else None
