"""Queries on the classification tables. Every query filters by tenant."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .domain.classify import Example, Rule
from .domain.classify_defaults import DEFAULT_CATEGORIES, DEFAULT_RULES
from .tables import (classification_categories, classification_feedback, classification_rules,
                     classification_versions, complaints)


def version(conn, tenant_id: str) -> int:
    q = select(classification_versions.c.version).where(classification_versions.c.tenant_id == tenant_id)
    return conn.execute(q).scalar_one_or_none() or 0


def bump_version(conn, tenant_id: str) -> None:
    """+1 on the tenant's classification version (an upsert, so two first corrections cannot collide)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    table = classification_versions
    stmt = dialect.insert(table).values(tenant_id=tenant_id, version=1)
    conn.execute(stmt.on_conflict_do_update(index_elements=[table.c.tenant_id],
                                            set_={"version": table.c.version + 1}))


def categories(conn, tenant_id: str) -> list[tuple[str, str, str]] | None:
    """The tenant's active ``(key, name_zh, name_en)`` in order; None when it has never set any."""
    t = classification_categories
    rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.position, t.c.key)).all()
    if not rows:
        return None
    return [(r.key, r.name_zh, r.name_en) for r in rows if r.active]


def rules(conn, tenant_id: str) -> list[Rule] | None:
    """The tenant's keyword rules; None when it has never set any."""
    t = classification_rules
    rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.category, t.c.keyword)).all()
    if not rows:
        return None
    return [Rule(r.category, r.keyword, float(r.weight)) for r in rows]


def feedback_examples(conn, tenant_id: str) -> list[Example]:
    """The latest correction of each of the tenant's complaints, as training examples."""
    t = classification_feedback
    latest = (select(t.c.complaint_id, func.max(t.c.corrected_at).label("at"))
              .where(t.c.tenant_id == tenant_id).group_by(t.c.complaint_id).subquery())
    q = (select(t.c.text, t.c.category, t.c.severity)
         .join(latest, (latest.c.complaint_id == t.c.complaint_id) & (latest.c.at == t.c.corrected_at))
         .where(t.c.tenant_id == tenant_id)
         .order_by(t.c.corrected_at, t.c.id))
    return [Example(r.text, r.category, r.severity, feedback=True) for r in conn.execute(q)]


def add_feedback(conn, tenant_id: str, complaint_id: str, text: str, category: str, severity: str | None,
                 corrected_by: str | None, corrected_at) -> str:
    feedback_id = str(uuid.uuid4())
    conn.execute(classification_feedback.insert().values(
        tenant_id=tenant_id, id=feedback_id, complaint_id=complaint_id, text=text, category=category,
        severity=severity, corrected_by=corrected_by, corrected_at=corrected_at))
    return feedback_id


def set_classification(conn, tenant_id: str, complaint_id: str, **values) -> None:
    conn.execute(update(complaints).where(complaints.c.tenant_id == tenant_id, complaints.c.id == complaint_id)
                 .values(**values))


def seed_defaults(conn, tenant_id: str) -> bool:
    """Write the default categories and rules for a tenant that has none of either (idempotent)."""
    wrote = False
    if categories(conn, tenant_id) is None:
        conn.execute(classification_categories.insert(), [
            {"tenant_id": tenant_id, "key": key, "name_zh": zh, "name_en": en, "position": i, "active": True}
            for i, (key, zh, en) in enumerate(DEFAULT_CATEGORIES)])
        wrote = True
    if rules(conn, tenant_id) is None:
        conn.execute(classification_rules.insert(), [
            {"tenant_id": tenant_id, "category": cat, "keyword": kw, "weight": float(w)}
            for cat, pairs in DEFAULT_RULES.items() for kw, w in pairs])
        wrote = True
    if wrote:
        bump_version(conn, tenant_id)
    return wrote
