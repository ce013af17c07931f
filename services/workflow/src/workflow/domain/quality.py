"""Nonconformity records and corrective/preventive actions (CAPA). No framework imports.

- Seed 001 part 5 §4.2.5: an owner's loss of **500 yuan or more** needs a nonconformity record
  (《不合格品/服务记录处理单》) approved by the management representative: opened when the case is resolved with
  such a loss (status ``open``), then ``approved`` or ``rejected`` by the estate's site manager (or head office).
- Seed 001 part 5 §4.5: after an approved nonconformity record, a corrective/preventive action report
  (《纠正/预防措施报告》) is written: a CAPA record opens, owned by the approver.
- Clusters (Workflow issue, "Causes and remedies"): the same cause resolved ``CLUSTER_SIZE`` times at one estate
  within ``CLUSTER_WINDOW`` opens a CAPA record too. A complaint judged invalid is no cause to act on.
- One open CAPA record per estate and cause: a later trigger adds its case to it instead of opening another.
- A CAPA record is due ``CAPA_DUE`` after it opens; its effectiveness check (by the site manager) closes it
  when the action worked, or keeps it open with a new due date ``RECHECK`` later when it did not (yet).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LOSS_THRESHOLD_YUAN = 500
CLUSTER_SIZE = 3
CLUSTER_WINDOW = dt.timedelta(days=30)
CAPA_DUE = dt.timedelta(days=30)
RECHECK = dt.timedelta(days=30)
NOT_ACTIONABLE = frozenset({"invalid_complaint"})
DECIDERS = ("site_manager",)  # at the case's estate; group roles decide everywhere
GROUP_DECIDERS = ("head_office", "group_admin")
ACTIONS = ("decide_nonconformity",)
CAUSE_ZH = {"facility_fault": "设施设备故障", "staff_service": "员工服务问题", "staff_fault_with_loss": "员工过失造成损失",
            "other_owner": "其他业主原因", "developer_defect": "开发商遗留问题", "municipal": "市政原因",
            "owner_misunderstanding": "业主误解", "invalid_complaint": "无效投诉", "other": "其他"}


class QualityInvalid(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


class NotAllowed(PermissionError):
    pass


def needs_record(loss_amount) -> bool:
    return (loss_amount or 0) >= LOSS_THRESHOLD_YUAN


def cluster_reached(cause: str, resolved_at: list[dt.datetime], now: dt.datetime) -> bool:
    """Whether the cause's resolutions at one estate (``resolved_at``, this one included) make a cluster."""
    if cause in NOT_ACTIONABLE:
        return False
    return sum(1 for t in resolved_at if now - CLUSTER_WINDOW <= t <= now) >= CLUSTER_SIZE


def may_decide(roles, estate: str) -> bool:
    for item in roles or ():
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            continue
        role, at = item
        if role in GROUP_DECIDERS or (role in DECIDERS and at == estate):
            return True
    return False


@dataclass(frozen=True)
class Verdict:
    approve: bool
    note: str


def parse_verdict(data: dict, approve_key: str = "approve") -> Verdict:
    """``{approve: bool, note}``: a note is required to reject (the reason is kept)."""
    approve = data.get(approve_key)
    if not isinstance(approve, bool):
        raise QualityInvalid(approve_key, f"{approve_key} must be true or false")
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > 2000:
        raise QualityInvalid("note", "note must be text of at most 2000 characters")
    if not approve and not note.strip():
        raise QualityInvalid("note", "a note is required to reject")
    return Verdict(approve, note.strip())


def capa_due(opened_at: dt.datetime) -> dt.datetime:
    return opened_at + CAPA_DUE


def after_check(effective: bool, now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """``(status, new due or None)`` after an effectiveness check."""
    return ("closed", None) if effective else ("open", now + RECHECK)


def is_overdue(status: str, due_at: dt.datetime, now: dt.datetime) -> bool:
    return status == "open" and due_at < now
