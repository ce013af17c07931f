"""The SLA policy engine: pure Python (no framework), used by the workflow handlers, its CLI and RPC.

``policy.parse``/``from_document`` read and validate a policy file; ``policy.build`` layers group -> region ->
estate documents; ``engine.compute`` turns a policy and a receipt time into deadlines whose ``explanation`` is
structured data, rendered by ``explain.render`` in zh-CN or English.
"""
from .engine import Deadline, compute, restart
from .errors import CalendarUnavailable, NoWorkingTime, PolicyInvalid
from .explain import render
from .grammar import Limit, parse_limit
from .policy import Policy, Stage, build, from_document, merge, parse, validate

__all__ = ["CalendarUnavailable", "Deadline", "Limit", "NoWorkingTime", "Policy", "PolicyInvalid", "Stage",
           "build", "compute", "restart", "from_document", "merge", "parse", "parse_limit", "render", "validate"]
