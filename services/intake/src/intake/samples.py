"""The shipped labelled sample set (``data/complaints_labelled.csv``) and its fixed train/test split.

The split is by a hash of the text (about 80/20), so it never changes when rows are added elsewhere and no
text can be in both parts. The service trains only on the train part; ``intake.classify_eval`` reports
accuracy on the test part.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
from importlib import resources

from .domain.classify import Example

SAMPLES = "complaints_labelled.csv"
TEST_BUCKETS = 20  # of 100


def is_test(text: str) -> bool:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < TEST_BUCKETS


@functools.lru_cache(maxsize=1)
def load_samples() -> tuple[Example, ...]:
    raw = resources.files("intake").joinpath("data", SAMPLES).read_text(encoding="utf-8")
    return tuple(Example(row["text"], row["category"], row["severity"]) for row in csv.DictReader(io.StringIO(raw)))


def train_samples() -> tuple[Example, ...]:
    return tuple(ex for ex in load_samples() if not is_test(ex.text))


def heldout_samples() -> tuple[Example, ...]:
    return tuple(ex for ex in load_samples() if is_test(ex.text))
