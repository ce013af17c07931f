"""Callback (回访) use cases: the task a ``case_resolved`` creates, the queue, claims, attempts, the owner's
SMS survey. Rules are in ``domain.callbacks``; this module does the reading and writing (queries inline: they
are few and used nowhere else).

The survey SMS reuses the messages table and the SMS delivery loop (kind ``callback_survey``): the owner's
number and locale come from the complaint's acknowledgement SMS (notify's own rows), quiet hours apply as for
any non-urgent SMS. Without a usable number the survey message is recorded ``skipped`` with the reason. An
owner who came through WeChat (WeChat on) gets the link there instead (``wechat.callback_survey``: the text, the
template message outside the 48-hour window, the SMS to the number they gave as the last resort).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid

from sqlalchemy import case, func, select, update

from estatedesk_common.sorting import Sort, parse_sort

from . import template_overrides
from . import wechat as wechat_replies
from .domain import callbacks as rules
from .domain.messages import Message
from .domain.phones import InvalidPhone, national_mobile
from .exceptions import (CallbackConflict, CallbackNotFound, Forbidden, ResolverCannotClaim, SurveyNotFound,
                         ValidationFailed)
from .repository import add_message
from .tables import callback_attempts, callbacks, messages, owner_contacts

ON_CASE_RESOLVED = "notify.on_case_resolved"
CALLBACK_SURVEY = "callback_survey"
NO_PHONE = "no phone number"
MAX_LIMIT = 200

log = logging.getLogger(__name__)


def on_case_resolved(envelope, uow, due_hours: float = rules.DEFAULT_DUE_HOURS) -> str | None:
    """A callback task for every resolution (a case resolved again gets a new one). Idempotent."""
    p = envelope.payload
    with uow:
        if not uow.claim(envelope, ON_CASE_RESOLVED):
            return None
        now = uow.clock.now()
        complaint_id = str(p.get("complaint_id") or p["case_id"])
        earlier = uow.conn.execute(select(func.count()).select_from(callbacks).where(
            callbacks.c.tenant_id == envelope.tenant_id, callbacks.c.complaint_id == complaint_id,
            callbacks.c.satisfaction == "dissatisfied")).scalar_one()
        resolved_at = _instant(p.get("at")) or now
        callback_id = str(uuid.uuid4())
        uow.conn.execute(callbacks.insert().values(
            tenant_id=envelope.tenant_id, id=callback_id, complaint_id=complaint_id,
            reference=str(p.get("reference") or ""), estate_code=str(p.get("estate_code") or ""),
            resolved_by=p.get("by"), resolved_at=resolved_at, round=earlier + 1, status="open", attempts=0,
            due_at=rules.due_at(resolved_at, due_hours), created_at=now, updated_at=now))
        uow.commit()
    log.info("callback %s for %s (round %d)", callback_id, p.get("reference"), earlier + 1)
    return callback_id


def _instant(value):
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def view(row) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": row["id"], "complaint_id": row["complaint_id"], "reference": row["reference"],
            "estate": row["estate_code"], "resolved_by": row["resolved_by"], "resolved_at": iso(row["resolved_at"]),
            "round": row["round"], "status": row["status"], "attempts": row["attempts"], "due_at": iso(row["due_at"]),
            "next_attempt_at": iso(row["next_attempt_at"]), "claimed_by": row["claimed_by"],
            "claimed_at": iso(row["claimed_at"]), "outcome": row["outcome"], "satisfaction": row["satisfaction"],
            "words": row["words"], "valid": row["valid"], "solved": row["solved"],
            "completed_by": row["completed_by"], "completed_at": iso(row["completed_at"]),
            "survey_sent_at": iso(row["survey_sent_at"]), "created_at": iso(row["created_at"])}


CALLBACK_SORTS = ("due_at", "resolved_at", "estate", "status")


def list_callbacks(tenant_id: str, roles, engine, estate=None, status=None, limit=50, offset=0,
                   complaint_id=None, sort=None, order=None) -> dict:
    """Callbacks the caller's roles reach, earliest due first (a retry's time counts as its due time); ``sort``
    (``CALLBACK_SORTS``; status by lifecycle) and ``order`` (asc|desc) reorder in the query, ties by creation
    and id; anything else is ``InvalidSort`` (400)."""
    chosen = parse_sort(sort, order, CALLBACK_SORTS, Sort("due_at", descending=False))
    if status is not None and status not in rules.STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(rules.STATUSES)}", field="status")
    for name, value, top in (("limit", limit, MAX_LIMIT), ("offset", offset, None)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (top and not 0 < value <= top):
            raise ValidationFailed(f"{name} is out of range", field=name)
    estates = rules.visible_estates(roles)
    q = select(callbacks).where(callbacks.c.tenant_id == tenant_id)
    if estates is not None:
        q = q.where(callbacks.c.estate_code.in_(sorted(estates)))
    if estate:
        q = q.where(callbacks.c.estate_code == str(estate))
    if status:
        q = q.where(callbacks.c.status == status)
    if complaint_id:
        q = q.where(callbacks.c.complaint_id == str(complaint_id))
    when = func.coalesce(callbacks.c.next_attempt_at, callbacks.c.due_at)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        primary = {"due_at": when, "resolved_at": callbacks.c.resolved_at, "estate": callbacks.c.estate_code,
                   "status": case({s: i for i, s in enumerate(rules.STATUSES)}, value=callbacks.c.status,
                                  else_=len(rules.STATUSES))}[chosen.key]
        rows = conn.execute(q.order_by(primary.desc() if chosen.descending else primary.asc(),
                                       callbacks.c.created_at, callbacks.c.id)
                            .limit(limit).offset(offset)).mappings().all()
    return {"items": [view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def _load(conn, tenant_id: str, callback_id) -> dict:
    try:
        callback_id = str(uuid.UUID(str(callback_id)))
    except ValueError:
        raise CallbackNotFound("no such callback", field="id") from None
    row = conn.execute(select(callbacks).where(callbacks.c.tenant_id == tenant_id, callbacks.c.id == callback_id)
                       ).mappings().first()
    if row is None:
        raise CallbackNotFound("no such callback", field="id")
    return dict(row)


def _raise(exc: rules.CallbackError):
    cls = {"forbidden": Forbidden, "resolver": ResolverCannotClaim, "conflict": CallbackConflict}.get(
        exc.code, ValidationFailed)
    raise cls(str(exc), field=exc.field) from exc


def claim_callback(callback_id, tenant_id: str, user_id, roles, uow) -> dict:
    with uow:
        row = _load(uow.conn, tenant_id, callback_id)
        if row["estate_code"] and not rules.covers(roles, row["estate_code"]):
            raise CallbackNotFound("no such callback", field="id")  # outside the caller's estates: invisible
        try:
            rules.check_claim(row, user_id, roles)
        except rules.CallbackError as exc:
            _raise(exc)
        now = uow.clock.now()
        if row["status"] == "open":
            uow.conn.execute(update(callbacks).where(
                callbacks.c.tenant_id == tenant_id, callbacks.c.id == row["id"], callbacks.c.status == "open"
            ).values(status="claimed", claimed_by=user_id, claimed_at=now, updated_at=now))
        uow.commit()
        row = _load(uow.conn, tenant_id, row["id"])
    return view(row)


def log_callback_attempt(callback_id, tenant_id: str, user_id, roles, uow, fields: dict, sms=None,
                         survey_url=None, render_sms=None, wechat=None) -> dict:
    """One attempt by the claimer; returns the callback view plus ``survey_queued`` (wake the SMS and WeChat
    loops); ``wechat``: the ``WeChatPolicy`` (a WeChat owner gets the survey there)."""
    with uow:
        row = _load(uow.conn, tenant_id, callback_id)
        if not rules.covers(roles, row["estate_code"]):
            raise CallbackNotFound("no such callback", field="id")
        if row["status"] == "open":
            try:
                rules.check_claim(row, user_id, roles)  # logging an attempt claims an open callback
            except rules.CallbackError as exc:
                _raise(exc)
            row["claimed_by"] = user_id
        elif row["status"] == "claimed" and row["claimed_by"] != user_id:
            raise CallbackConflict("someone else claimed this callback", field="status")
        try:
            attempt = rules.parse_attempt(**fields)
            result = rules.apply_attempt(row, attempt, uow.clock.now())
        except rules.CallbackError as exc:
            _raise(exc)
        queued = _record(uow, row, attempt, result, user_id, "phone", sms, survey_url, render_sms, wechat)
        uow.commit()
        row = _load(uow.conn, tenant_id, row["id"])
    return view(row) | {"survey_queued": queued}


def _record(uow, row, attempt, result, by, via, sms, survey_url, render_sms, wechat=None) -> bool:
    now = uow.clock.now()
    uow.conn.execute(callback_attempts.insert().values(
        tenant_id=row["tenant_id"], id=str(uuid.uuid4()), callback_id=row["id"], at=now, by=by,
        outcome=attempt.outcome, satisfaction=attempt.satisfaction, words=attempt.words or None))
    status = result.status if result.status in rules.FINISHED else "claimed" if row["claimed_by"] else "open"
    values = dict(status=status, attempts=result.attempts, next_attempt_at=result.next_attempt_at,
                  outcome=attempt.outcome, updated_at=now, claimed_by=row["claimed_by"],
                  claimed_at=row["claimed_at"] or (now if row["claimed_by"] else None))
    if result.event:
        values.update(satisfaction=attempt.satisfaction, words=attempt.words or None, valid=attempt.valid,
                      solved=attempt.solved, completed_by=by, completed_at=now)
        uow.publish(result.event, row["tenant_id"], rules.outcome_payload(row, attempt, by, via))
    queued = False
    if result.send_survey:
        token = rules.new_survey_token()
        message = _survey_message(uow.conn, row, token, now, sms, survey_url, render_sms, wechat)
        add_message(uow.conn, message)
        queued = message.status == "queued"
        values.update(survey_token=rules.hash_token(token), survey_sent_at=now, survey_message_id=message.id)
    uow.conn.execute(update(callbacks).where(callbacks.c.tenant_id == row["tenant_id"],
                                             callbacks.c.id == row["id"]).values(**values))
    return queued


def _survey_message(conn, row, token, now, sms, survey_url, render_sms, wechat=None) -> Message:
    url = (survey_url or "/t/{tenant}/survey/{token}").format(tenant=row["tenant_id"], token=token)
    contact = _wechat_owner(conn, row) if wechat is not None and wechat.enabled else None
    if contact is not None:
        inbound = wechat_replies.last_inbound(conn, row["tenant_id"], contact["wechat_app_id"],
                                              contact["wechat_openid"])
        fallback = _contact_sms(conn, row, contact, url, now, sms, render_sms)
        return wechat_replies.callback_survey(contact, url, now, fallback, inbound)
    ack = conn.execute(select(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.complaint_id == row["complaint_id"],
        messages.c.channel == "sms", messages.c.status != "failed").order_by(messages.c.created_at.desc())
    ).mappings().first()
    common = dict(tenant_id=row["tenant_id"], complaint_id=row["complaint_id"], case_id=row["complaint_id"],
                  kind=CALLBACK_SURVEY, channel="sms", reference=row["reference"], created_at=now, subject="",
                  body_html="")
    if ack is None or sms is None or not sms.enabled:
        reason = NO_PHONE if ack is None else "SMS is disabled"
        return Message(**common, recipient="", locale=ack["locale"] if ack else "zh_CN", body_text="",
                       status="skipped", last_error=reason)
    render_sms = render_sms or template_overrides.scoped(conn, row["tenant_id"], row["estate_code"]).render_sms
    deferred = sms.quiet_hours.deferred_until(now, ack["timezone"] or "Asia/Shanghai")
    return Message(**common, recipient=ack["recipient"], locale=ack["locale"], timezone=ack["timezone"],
                   body_text=render_sms(CALLBACK_SURVEY, ack["locale"], {"reference": row["reference"], "url": url}),
                   status="queued", next_attempt_at=deferred, deferred_until=deferred,
                   dlr_token=secrets.token_hex(16))


def _wechat_owner(conn, row):
    """The complaint's ``owner_contacts`` row when the owner came through WeChat, else None."""
    contact = conn.execute(select(owner_contacts).where(
        owner_contacts.c.tenant_id == row["tenant_id"], owner_contacts.c.complaint_id == row["complaint_id"])
    ).mappings().first()
    return contact if contact is not None and contact["wechat_openid"] and contact["wechat_app_id"] else None


def _contact_sms(conn, row, contact, url, now, sms, render_sms) -> Message | None:
    """The survey SMS to the number the WeChat owner gave (the WeChat row's fallback), or None: SMS off, no
    number or not a mainland mobile. Quiet hours are applied when the fallback is sent."""
    if sms is None or not sms.enabled or not contact["phone"]:
        return None
    try:
        number = national_mobile(contact["phone"])
    except InvalidPhone:
        return None
    render_sms = render_sms or template_overrides.scoped(conn, row["tenant_id"], row["estate_code"]).render_sms
    text = render_sms(CALLBACK_SURVEY, contact["locale"], {"reference": row["reference"], "url": url})
    return Message(tenant_id=row["tenant_id"], complaint_id=row["complaint_id"], case_id=row["complaint_id"],
                   kind=CALLBACK_SURVEY, channel="sms", recipient=number, locale=contact["locale"],
                   reference=row["reference"], created_at=now, subject="", body_html="", status="queued",
                   body_text=text, timezone=contact["timezone"])


def _by_token(conn, tenant_id: str, token) -> dict:
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        raise SurveyNotFound("no such survey", field="token")
    row = conn.execute(select(callbacks).where(callbacks.c.tenant_id == tenant_id,
                                               callbacks.c.survey_token == rules.hash_token(token))).mappings().first()
    if row is None or row["status"] in rules.FINISHED:
        raise SurveyNotFound("no such survey", field="token")  # single use: an answered survey is gone
    return dict(row)


def get_survey(token, tenant_id: str, engine) -> dict:
    """What the owner's page shows: the reference only (no names, no staff)."""
    with engine.connect() as conn:
        row = _by_token(conn, tenant_id, token)
    return {"reference": row["reference"], "satisfactions": list(rules.SATISFACTIONS)}


def answer_survey(token, satisfaction, words, tenant_id: str, uow) -> dict:
    with uow:
        row = _by_token(uow.conn, tenant_id, token)
        try:
            attempt = rules.parse_attempt("reached", satisfaction, words)
        except rules.CallbackError as exc:
            _raise(exc)
        result = rules.finish(row, attempt.satisfaction, row["attempts"])
        _record(uow, row, attempt, result, "owner", "survey", None, None, None)
        uow.commit()
    return {"reference": row["reference"], "status": result.status}
