"""``python -m intake.classify_eval``: held-out accuracy of the default classifier on the shipped sample set.

Trains on the train part only (see ``intake.samples``) with the default rules and categories, and prints
category and severity accuracy on the test part, the same figures for the model alone and the rules alone,
and a per-category confusion summary. ``--cv`` instead prints 5-fold cross-validation on the train part
(what any tuning may look at; the test part is for reporting only).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter

from .domain.classify import Classifier, Segmenter, default_category_keys, default_rules
from .samples import heldout_samples, train_samples


def evaluate(train, test, **options) -> dict:
    categories = default_category_keys()
    clf = Classifier(categories, default_rules(), list(train), **options)
    pairs = []
    for ex in test:
        s = clf.suggest(ex.text)
        pairs.append((ex, s.category, s.severity))
    n = len(pairs) or 1
    return {
        "n": len(pairs),
        "category": sum(ex.category == c for ex, c, _ in pairs) / n,
        "severity": sum(ex.severity == s for ex, _, s in pairs) / n,
        "pairs": pairs,
    }


def confusion_summary(pairs) -> list[str]:
    lines = [f"{'category':<22}{'n':>4}{'recall':>8}{'precision':>11}  most often confused with"]
    predicted = Counter(c for _, c, _ in pairs)
    for cat in default_category_keys():
        mine = [(ex, c) for ex, c, _ in pairs if ex.category == cat]
        right = sum(c == cat for _, c in mine)
        wrong = Counter(c for _, c in mine if c != cat).most_common(2)
        precision = right / predicted[cat] if predicted[cat] else 0.0
        lines.append(f"{cat:<22}{len(mine):>4}{right / (len(mine) or 1):>8.2f}{precision:>11.2f}  "
                     + (", ".join(f"{c} ({k})" for c, k in wrong) or "-"))
    return lines


def severity_matrix(pairs) -> list[str]:
    levels = ("minor", "moderate", "major")
    counts = Counter((ex.severity, s) for ex, _, s in pairs)
    lines = ["severity (rows: labelled, columns: suggested)", f"{'':<10}" + "".join(f"{lvl:>10}" for lvl in levels)]
    for actual in levels:
        lines.append(f"{actual:<10}" + "".join(f"{counts[(actual, p)]:>10}" for p in levels))
    return lines


def cross_validate(folds: int = 5) -> None:
    train = list(train_samples())
    fold_of = [int(hashlib.md5(ex.text.encode()).hexdigest(), 16) % folds for ex in train]
    for label, options in (("combined", {}), ("model only", {"use_rules": False}),
                           ("rules only", {"use_model": False})):
        cat = sev = n = 0
        for k in range(folds):
            result = evaluate([e for e, f in zip(train, fold_of) if f != k],
                              [e for e, f in zip(train, fold_of) if f == k], **options)
            cat += result["category"] * result["n"]
            sev += result["severity"] * result["n"]
            n += result["n"]
        print(f"{folds}-fold CV on train ({n} texts), {label:<10}: category {cat / n:.3f}  severity {sev / n:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake.classify_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="cross-validate on the train part instead")
    args = parser.parse_args(argv)
    Segmenter.warm()
    if args.cv:
        cross_validate()
        return 0
    train, test = train_samples(), heldout_samples()
    print(f"samples: {len(train) + len(test)} labelled complaints; train {len(train)}, held-out test {len(test)}")
    result = evaluate(train, test)
    for label, options in (("model only", {"use_rules": False}), ("rules only", {"use_model": False})):
        other = evaluate(train, test, **options)
        print(f"held-out, {label:<10}: category accuracy {other['category']:.3f}  "
              f"severity accuracy {other['severity']:.3f}")
    print(f"held-out, combined  : category accuracy {result['category']:.3f}  "
          f"severity accuracy {result['severity']:.3f}   <- what the service uses")
    print()
    print("\n".join(confusion_summary(result["pairs"])))
    print()
    print("\n".join(severity_matrix(result["pairs"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
