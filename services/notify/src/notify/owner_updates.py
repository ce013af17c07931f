"""Owner updates after the acknowledgement (``domain.owner_updates``): keep the owner's contacts from
``case_opened``, then queue progress / resolution / reopening messages from workflow's case events, each once
per event (inbox claim in the same transaction as the queued rows), on the complaint's timeline like every
message. A case event for a complaint notify never saw open (notify's data lost, or a case opened before this
feature) has nobody to tell: logged, nothing queued.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from estatedesk_common import i18n

from . import opt_outs, repository, template_overrides
from . import wechat as wechat_replies
from .domain.owner_updates import KINDS, contact_from_case_opened, owner_messages
from .domain.timeline import DELIVERY_STATES
from .tables import owner_contacts

CONSUMER_CONTACTS = "notify.owner_contacts"
CONSUMERS = {event: f"notify.owner_update.{event}" for event in KINDS}

log = logging.getLogger(__name__)

_WHAT = {"owner_progress": ("处理进展", "Progress"), "owner_resolved": ("办结通知", "Resolution"),
         "owner_reopened": ("重新处理通知", "Reopening")}
i18n.register({f"notify.{kind}.{channel}.{state}": {
    "zh_CN": f"{zh_what}{'邮件' if channel == 'email' else '短信'}{zh}",
    "en": f"{en_what} {'e-mail' if channel == 'email' else 'SMS'} {en}"}
    for kind, (zh_what, en_what) in _WHAT.items() for channel in ("email", "sms")
    for state, (zh, en) in DELIVERY_STATES.items()})


def remember_contacts(envelope, uow) -> bool:
    """Keep the owner's contacts of a ``case_opened`` (once per complaint); True when newly kept."""
    with uow:
        if not uow.claim(envelope, CONSUMER_CONTACTS):
            return False
        row = contact_from_case_opened(envelope.tenant_id, envelope.payload, uow.clock.now())
        inserted = row is not None and _contact(uow.conn, envelope.tenant_id, row["complaint_id"]) is None
        if inserted:
            uow.conn.execute(owner_contacts.insert().values(**row))
        uow.commit()
    return inserted


def _contact(conn, tenant_id: str, complaint_id: str):
    return conn.execute(select(owner_contacts).where(
        owner_contacts.c.tenant_id == tenant_id, owner_contacts.c.complaint_id == complaint_id)).mappings().first()


def on_case_event(envelope, uow, sms=None, render=None, render_sms=None, wechat=None) -> set:
    """Queue the owner's update for a progress / plan / resolved / reopened event; the channels to wake."""
    p = envelope.payload
    complaint_id = str(p.get("complaint_id") or p.get("case_id") or "")
    with uow:
        if not uow.claim(envelope, CONSUMERS[envelope.event_type]):
            return set()
        contact = _contact(uow.conn, envelope.tenant_id, complaint_id)
        if contact is None:
            uow.commit()
            log.warning("%s for %s: no owner contacts kept (case_opened not seen), nobody told",
                        envelope.event_type, p.get("reference"))
            return set()
        now = uow.clock.now()
        scoped = template_overrides.scoped(uow.conn, envelope.tenant_id, contact["estate_code"])
        render, render_sms = render or scoped.render, render_sms or scoped.render_sms
        opted_out = bool(contact["phone"]) and opt_outs.is_opted_out(uow.conn, envelope.tenant_id, contact["phone"])
        messages = owner_messages(contact, envelope.event_type, p, now, render, render_sms, sms, opted_out)
        if wechat is not None and wechat.enabled:  # an owner kept with an openid: WeChat instead of SMS
            inbound = wechat_replies.last_inbound(uow.conn, envelope.tenant_id, contact["wechat_app_id"],
                                                  contact["wechat_openid"]) if contact["wechat_openid"] else None
            messages = wechat_replies.owner_update(contact, envelope.event_type, p, now, messages,
                                                   status_url=getattr(wechat, "status_url", None), inbound_at=inbound)
        for message in messages:
            repository.add_message(uow.conn, message)
        uow.commit()
    log.info("%s for %s: %s", KINDS[envelope.event_type], contact["reference"],
             ", ".join(f"{m.channel} {m.status}" for m in messages))
    return {m.channel for m in messages if m.status == "queued"}
