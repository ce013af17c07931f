"""Classification use cases (seed 003): classify a new complaint, suggest for live text, correct and learn.

Each tenant's classifier (its categories, rules and a model trained on the sample set's train part plus its
corrections) is kept in memory by ``ClassifierCache`` and rebuilt lazily: every use reads the tenant's
classification version (one primary-key read) and retrains only when a correction or a rule change bumped it,
in whichever service instance that happened.
"""
from __future__ import annotations

import functools
import logging
import threading
import uuid
from dataclasses import dataclass

from . import classification_repository as repo
from . import repository
from .domain.classify import Classifier, Segmenter, Suggestion, default_rules
from .domain.classify_defaults import DEFAULT_CATEGORIES, DEFAULT_SEVERITY_LEVELS
from .domain.complaint import Complaint
from .exceptions import ComplaintNotFound, ValidationFailed
from .samples import train_samples

log = logging.getLogger(__name__)

MAX_TEXT = 5000


@functools.lru_cache(maxsize=8192)
def _features(text: str) -> list[str]:
    return Segmenter.features(text)


@dataclass(frozen=True)
class TenantClassifier:
    categories: tuple[tuple[str, str, str], ...]   # (key, name_zh, name_en)
    classifier: Classifier

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _zh, _en in self.categories)

    def names(self, key: str) -> tuple[str, str]:
        """``(zh-CN, English)`` display names of a category key."""
        return next(((zh, en) for k, zh, en in self.categories if k == key), (key, key))

    def suggest(self, text: str) -> Suggestion:
        return self.classifier.suggest(text, tokens=Segmenter.features(text))


class ClassifierCache:
    """tenant id -> (version, TenantClassifier), rebuilt when the tenant's version moves."""

    def __init__(self, samples=None, severity_levels: tuple[str, ...] = DEFAULT_SEVERITY_LEVELS):
        self._samples = samples
        self.severity_levels = severity_levels
        self._built: dict[str, tuple[int, TenantClassifier]] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, conn, tenant_id: str) -> TenantClassifier:
        version = repo.version(conn, tenant_id)
        hit = self._built.get(tenant_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        built = self._build(conn, tenant_id)
        with self._lock:
            self._built[tenant_id] = (version, built)
        return built

    def _build(self, conn, tenant_id: str) -> TenantClassifier:
        categories = repo.categories(conn, tenant_id) or list(DEFAULT_CATEGORIES)
        rules = repo.rules(conn, tenant_id)
        samples = train_samples() if self._samples is None else self._samples
        examples = list(samples) + repo.feedback_examples(conn, tenant_id)
        classifier = Classifier([k for k, _zh, _en in categories], default_rules() if rules is None else rules,
                                examples, self.severity_levels, tokens_of=_features)
        self.builds += 1
        log.info("classifier rebuilt for tenant %s from %d examples", tenant_id, len(examples))
        return TenantClassifier(tuple(categories), classifier)


_default_cache = ClassifierCache()


def default_cache() -> ClassifierCache:
    return _default_cache


def classify_new(complaint: Complaint, conn, cache: ClassifierCache) -> None:
    """Fill a new complaint's category and severity where the caller gave none (source ``auto``) and keep the
    suggestion. A category the caller gave must be one of the tenant's."""
    tenant = cache.get(conn, complaint.tenant_id)
    if complaint.category is not None and complaint.category not in tenant.keys:
        raise ValidationFailed(f"unknown category {complaint.category!r}", field="category")
    s = tenant.suggest(complaint.description)
    complaint.classification = {"categories": s.categories, "severity": s.severity,
                                "matched_keywords": [m["keyword"] for m in s.matched_keywords],
                                "urgency_hints": s.urgency_hints}
    if complaint.category is None and s.category is not None:
        complaint.category, complaint.category_source = s.category, "auto"
    if complaint.severity is None:
        severity = cache.severity_levels[-1] if complaint.urgent else s.severity
        if severity is not None:
            complaint.severity, complaint.severity_source = severity, "auto"


def suggest_classification(text, tenant_id: str, engine, cache: ClassifierCache) -> dict:
    """Top-3 categories with scores, the suggested severity and the matched keywords, for live typing."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("text is required", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"text is longer than {MAX_TEXT} characters", field="text")
    with engine.connect() as conn:
        tenant = cache.get(conn, tenant_id)
    result = tenant.suggest(text.strip()).to_dict()
    for entry in result["categories"]:
        entry["name"], entry["name_en"] = tenant.names(entry["category"])
    return result


def correct_classification(complaint_id, category, severity, tenant_id: str, user_id: str | None, uow,
                           cache: ClassifierCache, scope=None) -> dict:
    """An agent's correction: update the complaint, keep it as training feedback and announce
    ``complaint_reclassified``, all in one transaction."""
    complaint_id = _complaint_id(complaint_id)
    if not isinstance(category, str) or not category.strip():
        raise ValidationFailed("category is required", field="category")
    category = category.strip()
    if severity is not None:
        if not isinstance(severity, str) or not severity.strip() or len(severity.strip()) > 40:
            raise ValidationFailed("severity must be a key of at most 40 characters", field="severity")
        severity = severity.strip()
    with uow:
        if category not in cache.get(uow.conn, tenant_id).keys:
            raise ValidationFailed(f"unknown category {category!r}", field="category")
        row = repository.get_complaint_row(uow.conn, tenant_id, complaint_id)
        if row is None or (scope is not None and row["estate_code"] not in scope):
            raise ComplaintNotFound("no such complaint", field="id")
        old = {k: row[k] for k in ("category", "severity", "category_source", "severity_source")}
        new = dict(old, category=category, category_source="agent")
        if severity is not None:
            new.update(severity=severity, severity_source="agent")
        now = uow.clock.now()
        repo.set_classification(uow.conn, tenant_id, complaint_id, **new)
        repo.add_feedback(uow.conn, tenant_id, complaint_id, row["description"], category, severity, user_id, now)
        repo.bump_version(uow.conn, tenant_id)
        uow.publish("complaint_reclassified", tenant_id, {
            "complaint_id": complaint_id, "reference": row["reference"], "estate_code": row["estate_code"],
            "old": old, "new": new, "corrected_by": user_id, "corrected_at": now.isoformat(),
        })
        uow.commit()
    log.info("complaint %s reclassified %s -> %s", row["reference"], old["category"], category)
    return {"id": complaint_id, "reference": row["reference"], **new, "previous": old}


def _complaint_id(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ComplaintNotFound("no such complaint", field="id") from None
