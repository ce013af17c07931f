"""Duplicates and repeats (issue 4 "Normalisation"): when a complaint is the same as one already recorded.

- **Duplicate**: the same complaint arriving twice. Either the channel says so (the same channel message id,
  ``external_id``, per tenant and channel), or the same owner (phone, else e-mail) at the same estate sends a
  near-identical text within ``DUPLICATE_WINDOW`` while the first is still open. It is merged, not doubled.
- **Repeat** (重复投诉): a new complaint from the same owner at the same estate on the same issue (same category,
  similar text, ``REPEAT_THRESHOLD``) within ``REPEAT_WINDOW`` after the earlier one was **closed**. It is a
  complaint of its own, linked ``repeat_of`` the earlier one; workflow raises its severity (seed 001 part 3 §4:
  a complaint the owner raised several times without a lasting fix is major).

Similarity is the Dice coefficient of the character bigrams of the normalised texts (NFKC, lower case, only
letters and digits). Character bigrams need no segmentation, so they behave the same on jieba's good and bad
days, and they are cheap enough to compare against the handful of candidates one owner has in a window.
The thresholds were measured on the shipped labelled set (``python -m intake.duplicates_eval``):

- 450 different complaints, 101,025 pairs: the most similar pair scores 0.377; same-category pairs score
  0.33 at most (0.2 or more: 60 pairs of 11,025, 0.54 %).
- re-typings of each text (punctuation changed, a greeting or "please hurry" added, a clause dropped, a
  character in 12 mistyped) score 0.60 or more in 95 % of cases (99 % keep >= 0.45).
- eight hand-written repeats ("5栋电梯又坏了，上次修完才十天…" after "5栋2单元电梯今天早上又停了…") score
  0.08-0.33; 6 of 8 reach 0.2.

``DUPLICATE_THRESHOLD`` 0.6 merges no two different complaints of the set, with a margin of 0.22 over the
closest pair, because a false merge hides a complaint. ``REPEAT_THRESHOLD`` 0.2 is much lower because an
owner complaining again words it afresh; it is only tried on the same owner's complaints at the same estate,
in the same category, closed in the last 90 days, so the 0.54 % of unrelated same-category pairs above it
need all of that to coincide before a case is wrongly raised (and the link is on the timeline for an agent
to see). No framework imports.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace

DUPLICATE_THRESHOLD = 0.6
REPEAT_THRESHOLD = 0.2
DUPLICATE_WINDOW = dt.timedelta(hours=24)
REPEAT_WINDOW = dt.timedelta(days=90)
EXTERNAL_ID_MAX = 128


def normalise(text: str) -> str:
    """Letters and digits only, NFKC (full-width -> half-width), lower case: what two typings share."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if ch.isalnum())


def _bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of the normalised texts, 0.0 .. 1.0."""
    x, y = _bigrams(normalise(a)), _bigrams(normalise(b))
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


@dataclass(frozen=True)
class Contact:
    """Who the owner is for matching: the phone when given (an owner is known by phone, DOMAIN), else the
    e-mail address (mail and web complaints without a phone)."""
    phone: str = ""
    email: str = ""

    @classmethod
    def of(cls, phone: str | None, email: str | None) -> "Contact":
        phone = digits(phone)
        return cls(phone=phone, email="" if phone else (email or "").strip().lower())

    def __bool__(self) -> bool:
        return bool(self.phone or self.email)


@dataclass(frozen=True)
class Earlier:
    """A complaint of the same owner at the same estate, as the matching needs it."""
    id: str
    reference: str
    description: str
    category: str | None
    received_at: dt.datetime
    closed_at: dt.datetime | None = None
    repeat_count: int = 0
    repeat_of: str | None = None


def find_duplicate(description: str, received_at: dt.datetime, earlier: list[Earlier]) -> Earlier | None:
    """The open complaint, received within ``DUPLICATE_WINDOW``, that this text near-duplicates (the most
    similar; the oldest on a tie, so every copy merges into the first)."""
    best, best_score = None, -1.0
    for e in sorted(earlier, key=lambda e: e.received_at):
        if e.closed_at is not None or not received_at - DUPLICATE_WINDOW <= e.received_at <= received_at:
            continue
        score = similarity(description, e.description)
        if score >= DUPLICATE_THRESHOLD and score > best_score:
            best, best_score = e, score
    return best


def find_repeat(description: str, category: str | None, received_at: dt.datetime,
                earlier: list[Earlier]) -> Earlier | None:
    """The closed complaint this one repeats, or None.

    A match is a complaint closed within ``REPEAT_WINDOW`` before ``received_at`` on the same issue (same
    category, similarity >= ``REPEAT_THRESHOLD``). Its chain (the complaints it repeats or that repeat it) is
    one issue raised several times: the link goes to the chain's most recently closed complaint, carrying the
    chain's highest ``repeat_count``, whichever wording of it the new text resembles."""
    if not category:
        return None
    since = received_at - REPEAT_WINDOW
    closed = [e for e in earlier if e.closed_at is not None and since <= e.closed_at <= received_at]
    found = [e for e in closed
             if e.category == category and similarity(description, e.description) >= REPEAT_THRESHOLD]
    if not found:
        return None
    ids = {e.id for e in found} | {e.repeat_of for e in found if e.repeat_of}
    chain = [e for e in closed if e.id in ids or e.repeat_of in ids]
    latest = max(chain, key=lambda e: e.closed_at)
    return replace(latest, repeat_count=max(e.repeat_count for e in chain))


def clean_external_id(value) -> str | None:
    """The channel's message id as given (trimmed), None when absent; ``ValueError`` when unusable."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("external_id must be text")
    value = str(value).strip()
    if not value or len(value) > EXTERNAL_ID_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"external_id must be 1 to {EXTERNAL_ID_MAX} printable characters")
    return value
