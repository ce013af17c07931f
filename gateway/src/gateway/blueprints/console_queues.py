"""Work queues: ``/queue`` (案件队列) and ``/escalations`` (升级案件), both from workflow's ``list_cases``.

Workflow filters by the caller's estate scope (the roles in the call context), so a supervisor of one estate
never sees another's cases whatever the query string says. Each row is coloured by its next pending deadline
with the case page's rule (``labels.deadline_state_of``): red overdue, amber when less than 25 % of the stage's
time is left, green on time; a deferred case (暂缓, clocks paused with the owner's consent) is shown as paused
until its ``deferred_until``, never as overdue.

| page           | who                                                          | shows                        |
|----------------|--------------------------------------------------------------|------------------------------|
| ``/queue``     | agent, cs_supervisor, site_manager, head_office, group_admin | active cases, soonest due first; filters estate, status, overdue only, mine (received by or assigned to me) |
| ``/escalations`` | cs_supervisor, site_manager, head_office, group_admin      | active cases with escalation level > 0 |

Both sort by the column headers (``?sort=due_at|received_at|severity|estate|status&order=asc|desc``, in workflow's
query; an unknown key is ignored) and keep the sort across filter and page links.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from estatedesk_common.db import utcnow

from .. import labels, rpc, scope, sorting
from ..accounts import username_of
from .console import page, page_error

bp = Blueprint("console_queues", __name__)

QUEUE_ROLES = ("agent", "cs_supervisor", "site_manager", "head_office", "group_admin")
ESCALATION_ROLES = ("cs_supervisor", "site_manager", "head_office", "group_admin")
PAGE_SIZE = 50


@bp.get("/queue")
@page(*QUEUE_ROLES)
def queue():
    return _render("queue")


@bp.get("/escalations")
@page(*ESCALATION_ROLES)
def escalations():
    return _render("escalations")


def _render(kind: str):
    args = request.args
    estates = _estates()
    estate = args.get("estate") or None
    if estate not in {e["code"] for e in estates}:
        estate = None
    status = args.get("status") or "active"
    if status not in ("active", "all", *labels.CASE_STATUSES):
        status = "active"
    overdue, mine = args.get("overdue") == "1", args.get("mine") == "1"
    try:
        page_no = max(1, min(int(args.get("page", 1)), 10**6))
    except ValueError:
        page_no = 1
    names = [username_of(g.principal)] if mine else []  # routing and the duty roster assign usernames
    chosen = sorting.page_sort(args, sorting.QUEUE)  # an unknown key keeps the default order (workflow sorts)
    result = rpc.client().call("workflow", "list_cases", estate=estate,
                               status=None if status == "all" else status, overdue=overdue,
                               escalated=kind == "escalations", mine=mine, limit=PAGE_SIZE,
                               offset=(page_no - 1) * PAGE_SIZE, assignee_names=[n for n in names if n],
                               sort=chosen.key, order=chosen.order)
    now = utcnow()
    rows = [_row(item, now) for item in result["items"]]
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    filters = {"estate": estate, "status": status, "overdue": overdue, "mine": mine}
    return render_template("queue.html", kind=kind, rows=rows, total=result["total"], estates=estates,
                           filters=filters, page_no=page_no, pages=pages, sort=chosen)


def _estates() -> list[dict]:
    allowed = scope.estates_of(g.principal)
    return [e for e in rpc.client().call("intake", "list_estates") if allowed is None or e["code"] in allowed]


def _row(item: dict, now) -> dict:
    """A queue item with its SLA state (none = nothing pending, paused = deferred) and the time left."""
    deadline = item.get("next_deadline")
    if item.get("status") == "deferred":  # clocks paused with the owner's consent: not late while it waits
        state, remaining = "paused", ""
    elif deadline:
        state = labels.deadline_state_of(deadline, item["received_at"], now)
        remaining = labels.remaining(deadline, now)
    else:
        state, remaining = "none", ""
    return item | {"sla": state, "remaining": remaining}


bp.register_error_handler(Exception, page_error)
