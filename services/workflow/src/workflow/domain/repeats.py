"""Repeat complaints (重复投诉) raise the case's severity. No framework imports.

Intake links a new complaint ``repeat_of`` a closed one of the same owner on the same issue (with
``repeat_count``: 1 for the first repeat, 2 when that one was itself a repeat...). The seeds:

- seed 001 part 3 §4(一)1: a complaint "经业户多次提出而得不到解决" (raised by the owner several times without
  being solved) is **major** (重大投诉);
- seed 002 §3.1: what moves a complaint up a level is impact and how strongly the owner feels
  (业主有较为明显的不满情绪 -> moderate, 引起业主强烈不满 -> major); an owner coming back with a problem we
  called solved is exactly that.

So: a first repeat is raised **one level** above the higher of its own severity and the earlier case's; a
second repeat or later (several times) goes to the **top** of the scheme. Severity keys are tenant data, so the
ranking comes from the policy's ``severity_order`` (lowest first); for policies written before that key existed
the three preset schemes (seed 002, 001, 000) are recognised by their keys. A scheme that cannot be ranked is
left alone and says so on the timeline rather than guessing.
"""
from __future__ import annotations

from dataclasses import dataclass

KNOWN_SCHEMES = (("minor", "moderate", "major"),          # seed 002
                 ("general", "important", "major"),       # seed 001 part 3
                 ("suggestion", "routine", "urgent"))     # seed 000
SEVERAL_TIMES = 2


@dataclass(frozen=True)
class Raise:
    severity: str
    note: str  # zh-CN, for the case timeline


def ranking(severity_order, severities) -> tuple[str, ...] | None:
    """The tenant's severities from lowest to highest, or None when the policy does not say."""
    keys = set(severities)
    if severity_order and set(severity_order) == keys:
        return tuple(severity_order)
    return next((scheme for scheme in KNOWN_SCHEMES if set(scheme) == keys), None)


def raise_for_repeat(order: tuple[str, ...] | None, severity: str, earlier: str | None, repeat_count: int,
                     reference: str, labels: dict | None = None) -> Raise:
    """The severity of a case that repeats the closed complaint ``reference`` (see the module docstring)."""
    label = (lambda key: (labels or {}).get(key) or key)
    prefix = f"重复投诉（原投诉 {reference} 已结案后再次投诉，第 {max(repeat_count, 1)} 次）"
    if order is None or severity not in order:
        return Raise(severity, f"{prefix}：策略未给出严重程度的高低顺序（severity_order），严重程度保持「{label(severity)}」")
    base = max((s for s in (severity, earlier) if s in order), key=order.index)
    if repeat_count >= SEVERAL_TIMES:
        raised, why = order[-1], "多次投诉未能解决，按重大投诉处理"
    else:
        raised, why = order[min(order.index(base) + 1, len(order) - 1)], "升一级处理"
    if raised == severity:
        return Raise(severity, f"{prefix}：已是「{label(severity)}」，{why}")
    return Raise(raised, f"{prefix}：严重程度由「{label(severity)}」升为「{label(raised)}」（{why}）")
