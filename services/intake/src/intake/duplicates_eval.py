"""How the duplicate and repeat thresholds were chosen: ``python -m intake.duplicates_eval``.

Negatives: every pair of the 450 different complaints of the shipped labelled set (and the same-category
pairs, the ones a repeat could wrongly link). Positives: each text re-typed the ways a second submission
differs from the first (punctuation, a greeting, "please hurry", a clause dropped, a few characters
mistyped), generated with a fixed seed so the numbers are reproducible. Prints, per threshold, the share of
re-typings merged and how many different pairs would be merged.
"""
from __future__ import annotations

import itertools
import random
import re

from .domain.duplicates import DUPLICATE_THRESHOLD, REPEAT_THRESHOLD, similarity
from .samples import load_samples

# An owner coming back after closure, in their own words (hand-written for this check; a small set, not a
# benchmark): (the first complaint, the repeat).
REPEAT_PAIRS = (
    ("5栋2单元电梯今天早上又停了，住在高层的老人下不了楼，请马上派人维修", "5栋电梯又坏了，上次修完才十天，老人还是下不了楼"),
    ("3号楼地下车库渗水严重，车位上全是水", "地下车库又渗水了，上次说修好了，现在车位还是积水"),
    ("楼道里的声控灯坏了好几天，晚上一片漆黑", "楼道声控灯又不亮了，晚上回家很危险"),
    ("小区垃圾桶三天没人清理，臭气熏天", "垃圾桶又是好几天没清，味道很大"),
    ("楼上每天晚上十二点以后还在装修，吵得睡不着", "楼上又在半夜装修，上次反映后只停了两天"),
    ("A座12楼空调一直不制冷，办公室里三十多度", "12楼空调还是不制冷，上周报修说修好了"),
    ("门口道闸经常抬不起来，车辆排长队", "道闸又坏了，早上进不了小区"),
    ("卫生间天花板漏水，是楼上防水没做好", "卫生间天花又开始漏水了，上次维修没解决"),
)
HEADS = ("你好，", "您好，", "物业你好，", "[DEMO-RES] ", "再反映一次：")
TAILS = ("请尽快处理", "谢谢", "麻烦尽快安排人来看看", "急！", "已经打过电话了", "请回电")


def retypings(text: str, rng: random.Random) -> dict[str, str]:
    """A second submission of ``text``, in the ways owners and channels vary it."""
    clauses = [c for c in re.split(r"(?<=[，。！？；,!?])", text) if c]
    typo = list(text)
    for k in rng.sample(range(len(typo)), max(1, len(typo) // 12)):
        typo[k] = "某"
    out = {"punctuation": re.sub(r"[，。！？]", " ", text) + "!!", "tail": text + rng.choice(TAILS),
           "head": rng.choice(HEADS) + text, "head+tail": rng.choice(HEADS) + text + rng.choice(TAILS),
           "typo": "".join(typo), "typo+tail": "".join(typo) + rng.choice(TAILS)}
    if len(clauses) > 1:
        out["last clause dropped"] = "".join(clauses[:-1])
        out["first clause dropped"] = "".join(clauses[1:])
    return out


def evaluate(seed: int = 1) -> dict:
    samples = load_samples()
    pairs = [(similarity(a.text, b.text), a.category == b.category)
             for a, b in itertools.combinations(samples, 2)]
    rng = random.Random(seed)
    positives: dict[str, list[float]] = {}
    for ex in samples:
        for kind, variant in retypings(ex.text, rng).items():
            positives.setdefault(kind, []).append(similarity(ex.text, variant))
    return {"pairs": pairs, "positives": positives}


def main() -> None:
    result = evaluate()
    pairs, positives = result["pairs"], result["positives"]
    same = [s for s, same_category in pairs if same_category]
    every = sorted(s for kind in positives.values() for s in kind)
    print(f"{len(pairs)} pairs of different complaints: max similarity {max(s for s, _ in pairs):.3f}; "
          f"{len(same)} same-category pairs: max {max(same):.3f}")
    for kind, scores in sorted(positives.items()):
        scores.sort()
        print(f"  re-typed ({kind}): min {scores[0]:.3f}, 5th percentile {scores[len(scores) // 20]:.3f}")
    repeats = [similarity(first, again) for first, again in REPEAT_PAIRS]
    print("hand-written repeats:", ", ".join(f"{s:.2f}" for s in repeats))
    print("threshold  re-typings merged  different pairs merged  same-category pairs linked  repeats linked")
    for threshold in (0.15, 0.2, 0.25, 0.3, 0.35, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        merged = sum(s >= threshold for s in every) / len(every)
        wrong = sum(s >= threshold for s, _ in pairs)
        linked = sum(s >= threshold for s in same)
        mark = " <- duplicate" if threshold == DUPLICATE_THRESHOLD else (
            " <- repeat (same category)" if threshold == REPEAT_THRESHOLD else "")
        found = sum(s >= threshold for s in repeats)
        print(f"{threshold:9.2f}  {merged:17.1%}  {wrong:22d}  {linked:5d} ({linked / len(same):.3%})"
              f"  {found:8d}/{len(repeats)}{mark}")


if __name__ == "__main__":
    main()
