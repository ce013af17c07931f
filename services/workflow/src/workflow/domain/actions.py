"""What handlers do to a case. No framework imports.

Which stages an action meets is policy data: each stage's ``met_by`` (domain/sla/meeting.py), with defaults
for the preset stage names; ``ACTION_STAGES`` is those defaults seen from the action (what ``Decision.stages``
reports). Status only moves forward (received -> assigned -> contacted -> in progress -> resolved -> closed),
so recording the first contact before the assignment does not move a case backwards.
"""
from __future__ import annotations

from dataclasses import dataclass

from .sla.meeting import DEFAULT_MET_BY

STAFF_ACTIONS = ("contact", "assign", "plan", "progress", "resolve", "accept", "cancel")
ACTION_STAGES = {action: tuple(stage for stage, actions in DEFAULT_MET_BY.items() if action in actions)
                 for action in STAFF_ACTIONS}
STATUS_AFTER = {"contact": "contacted", "assign": "assigned", "plan": "in_progress", "progress": "in_progress",
                "resolve": "resolved", "accept": "closed", "cancel": "cancelled"}
RANK = {"open": 0, "assigned": 1, "contacted": 2, "in_progress": 3, "resolved": 4, "callback": 5, "closed": 6,
        "cancelled": 7}
DONE = {"resolved", "closed", "cancelled"}

# Seed 001 part 5 §4.3: the cause decides the remedy; seed 000 §4.2: a complaint can be judged invalid.
CAUSES = ("facility_fault", "staff_service", "staff_fault_with_loss", "other_owner", "developer_defect",
          "municipal", "owner_misunderstanding", "invalid_complaint", "other")
NONCONFORMITY_LOSS_YUAN = 500  # seed 001 part 5 §4.2.5: a loss of 500 yuan or more needs a nonconformity record

LABELS_ZH = {"contact": "已联系业主", "assign": "已派单", "plan": "已制定处理方案", "progress": "已沟通进展",
             "resolve": "已处理完毕", "accept": "业主已验收", "cancel": "已撤销"}


# Internal actions: the callback loop (notify's callback_completed / callback_dissatisfied) drives them; they are
# not staff actions, so ``decide`` (the ``act`` RPC) does not know them. Seed 001 part 1 §4.6.4: a dissatisfied
# owner sends the case back to its handler, and it is called back again after the next resolution.
INTERNAL_ACTIONS = ("close", "reopen")
INTERNAL_LABELS_ZH = {"close": "回访满意，结案", "reopen": "回访不满意，重新处理"}
REOPENED_STATUS = "in_progress"


def decide_internal(action: str, status: str) -> str | None:
    """The status after an internal action on a case in ``status``; None when it does not apply (the event is
    stale: e.g. the case was already closed by the owner's acceptance, or reopened and not resolved again)."""
    if action not in INTERNAL_ACTIONS:
        raise ValueError(f"unknown internal action {action!r}")
    if status != "resolved":
        return None
    return "closed" if action == "close" else REOPENED_STATUS


class InvalidAction(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Decision:
    action: str
    status: str
    stages: tuple[str, ...]
    note: str
    details: dict


def decide(action: str, status: str, data: dict) -> Decision:
    """Validate ``action`` on a case in ``status`` with ``data``; what it changes. Raises ``InvalidAction``."""
    if action not in ACTION_STAGES:
        raise InvalidAction("action", f"unknown action {action!r}")
    if status in DONE and not (action == "accept" and status == "resolved"):
        raise InvalidAction("action", f"the case is {status}")
    if action == "accept" and status != "resolved":
        raise InvalidAction("action", "owner acceptance comes after resolution")
    note = _text(data, "note", 2000, required=action in ("plan", "progress"))
    details: dict = {}
    if action == "assign":
        details["assignee"] = _text(data, "assignee", 100, required=True)
    if action == "resolve":
        cause = data.get("cause")
        if cause not in CAUSES:
            raise InvalidAction("cause", f"cause must be one of {', '.join(CAUSES)}")
        details["cause"] = cause
        details["remedy"] = _text(data, "remedy", 2000, required=True)
        loss = data.get("loss_amount", 0) or 0
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or loss < 0:
            raise InvalidAction("loss_amount", "loss_amount must be a non-negative number of yuan")
        details["loss_amount"] = loss
        details["nonconformity_required"] = loss >= NONCONFORMITY_LOSS_YUAN
    if action == "cancel":
        details["reason"] = _text(data, "reason", 500, required=True)
    new_status = STATUS_AFTER[action]
    if RANK[new_status] < RANK.get(status, 0):
        new_status = status
    return Decision(action, new_status, ACTION_STAGES[action], note, details)


def _text(data: dict, key: str, limit: int, required: bool = False) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise InvalidAction(key, f"{key} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidAction(key, f"{key} is required")
    if len(value) > limit:
        raise InvalidAction(key, f"{key} is longer than {limit} characters")
    return value
