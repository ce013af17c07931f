"""A committee's batch of complaints (one per row of an uploaded sheet): all or nothing.

Every row is checked before anything is stored; one bad row refuses the whole batch with every row's problems
(row number as the uploader sees it in the file, field, message), so a committee member fixes the file and
sends it again instead of working out which half went in. Plain Python (no framework).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

MAX_ROWS = 500  # a committee collects complaints for days, not thousands; bigger files: split them
MAX_ERRORS_REPORTED = 200  # enough to fix a file; the count says how many there were in all


@dataclass(frozen=True)
class RowError:
    row: int  # the row number in the uploaded file (header = row 1) or the 1-based position in the list
    field: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class BatchRejected(ValueError):
    """The batch as a whole is refused: ``errors`` (``RowError``) say where and why."""

    def __init__(self, errors: list[RowError], message: str | None = None):
        super().__init__(message or f"{len(errors)} problem(s) in the batch; nothing was imported")
        self.errors = errors


def rows_of(rows, max_rows: int = MAX_ROWS) -> list[tuple[int, dict]]:
    """``[(row number, complaint data), ...]`` from ``[{"row": n, "data": {...}}, ...]`` (or plain dicts,
    numbered by position). Raises ``BatchRejected`` for a batch that is empty, too long or not a list."""
    if not isinstance(rows, list) or not rows:
        raise BatchRejected([RowError(0, "rows", "the batch has no rows")])
    if len(rows) > max_rows:
        raise BatchRejected([RowError(0, "rows", f"at most {max_rows} rows per batch; this one has {len(rows)}")])
    out, errors = [], []
    for position, item in enumerate(rows, start=1):
        number, data = position, item
        if isinstance(item, dict) and isinstance(item.get("data"), dict):
            number, data = item.get("row"), item["data"]
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                number = position
        if not isinstance(data, dict):
            errors.append(RowError(position, "row", "a row must be an object"))
            continue
        out.append((number, dict(data)))
    if errors:
        raise BatchRejected(errors)
    return out


def duplicate_errors(items: list[tuple[int, dict]]) -> list[RowError]:
    """Rows repeating an earlier row of the same batch (same contact and same text): a copy-paste slip that
    would otherwise open two cases for one complaint."""
    seen: dict[tuple, int] = {}
    errors = []
    for number, data in items:
        who = data.get("complainant") if isinstance(data.get("complainant"), dict) else {}
        key = (str(data.get("estate") or "").strip(), str(who.get("phone") or "").strip(),
               str(who.get("email") or "").strip().lower(), " ".join(str(data.get("description") or "").split()))
        if not key[3]:
            continue
        if key in seen:
            errors.append(RowError(number, "description", f"same complaint as row {seen[key]}"))
        else:
            seen[key] = number
    return errors


def report(errors: list[RowError]) -> dict:
    """The ``details`` of the refusal: the first ``MAX_ERRORS_REPORTED`` problems in row order and the count."""
    ordered = sorted(errors, key=lambda e: (e.row, e.field))
    return {"field": "rows", "error_count": len(ordered),
            "rows": [e.as_dict() for e in ordered[:MAX_ERRORS_REPORTED]]}
