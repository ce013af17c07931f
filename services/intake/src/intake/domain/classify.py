"""Automatic classification of Chinese complaint text: category + suggested severity (seed 003).

Two sources of evidence are combined:

- **tenant keyword rules** (``Rule``): substring matches with weights, the kind of rule a service centre
  writes itself ("困人" -> facilities_equipment);
- **a multinomial naive Bayes model** over jieba tokens (plus character bigrams, which make the model
  robust to segmentation choices: +4 points in cross-validation on the train part), trained on the shipped
  labelled sample set plus the tenant's corrected history (agents' corrections weigh more than a sample).

The combination is a convex mix of two distributions: the model's posterior and the rules' share of the
matched weight, trusting the rules in proportion to how much weight matched (``w / (w + RULE_HALF)``), so a
single weak keyword nudges, and a strong tenant rule (weight 10+) decides. Severity is a second naive Bayes
over the same tokens, pushed up by urgency hints (people trapped, fire, theft, injury, media, groups).

Plain Python rather than scikit-learn: ~100 lines, no numpy/scipy in the service, trains on a few hundred
texts in milliseconds, and loads instantly. No framework imports here; jieba is a pure-Python library whose
dictionary ships inside the package (nothing is downloaded at run time).
"""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .classify_defaults import (DEFAULT_CATEGORIES, DEFAULT_RULES, DEFAULT_SEVERITY_LEVELS, STRONG_URGENCY_HINTS,
                                WEAK_URGENCY_HINTS)

RULE_HALF = 1.0          # matched rule weight at which rules and model are trusted equally
FEEDBACK_WEIGHT = 5.0    # one agent correction counts as this many samples
WEAK_HINT_PUSH = 0.35    # probability mass a weak urgency hint moves to the top severity
TOP = 3

# Words jieba's general dictionary splits or misses; added so they become single tokens.
DOMAIN_WORDS = (
    "困人", "物业费", "停车费", "交房", "收房", "验房", "房产证", "不动产证", "网签", "漏水", "渗水",
    "停电", "停水", "跳闸", "狗屎", "消防通道", "烟感", "门禁卡", "道闸", "充电桩", "空鼓", "二次供水", "飞线",
    "高空抛物", "不拴绳", "声控灯", "物业", "业委会", "业主群", "装修押金", "维修基金", "燃气", "化粪池", "消杀",
    "飘絮", "马蜂窝", "起皮", "返潮", "沉降", "热力公司", "供电局", "自来水公司", "宽带", "快递柜",
)
_STOPWORDS = frozenset(
    "的 了 是 在 我 我们 你 你们 他 她 它 他们 也 都 就 和 与 及 还 又 很 太 吧 吗 呢 啊 呀 着 过 这 那 这个 那个 "
    "一个 有 没 没有 不 说 让 给 把 被 对 到 从 请 要 会 能 就是 而且 但是 可是 因为 所以 如果 已经 现在 一直 "
    "每次 什么 怎么 为什么 一下 一些 自己 还是 或者 个 上 下 里 中 后 前 时候 得 地 之 其 该".split())
_TOKEN_OK = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")

log = logging.getLogger(__name__)


class Segmenter:
    """jieba tokens minus punctuation, numbers and stopwords. One jieba dictionary per process (loading it
    takes about a second; ``warm()`` does it up front)."""

    _lock = threading.Lock()
    _tokenizer = None

    @classmethod
    def _jieba(cls):
        if cls._tokenizer is None:
            with cls._lock:
                if cls._tokenizer is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in DOMAIN_WORDS:
                        tokenizer.add_word(word, freq=200000)
                    cls._tokenizer = tokenizer
        return cls._tokenizer

    @classmethod
    def warm(cls) -> None:
        cls._jieba()

    @classmethod
    def tokens(cls, text: str) -> list[str]:
        return [t for t in cls._jieba().lcut(text or "", HMM=True)
                if t.strip() and t not in _STOPWORDS and _TOKEN_OK.search(t)]

    @classmethod
    def features(cls, text: str) -> list[str]:
        """What the model counts: the tokens, then the bigrams of consecutive Chinese characters."""
        chars = _HAN.findall(text or "")
        return cls.tokens(text) + [a + b for a, b in zip(chars, chars[1:])]


class NaiveBayes:
    """Multinomial naive Bayes with Laplace smoothing and per-sample weights."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha
        self.labels: list[str] = []
        self._log_prior: dict[str, float] = {}
        self._log_lik: dict[str, dict[str, float]] = {}
        self._log_unseen: dict[str, float] = {}
        self.vocab: set[str] = set()

    def fit(self, docs: list[list[str]], labels: list[str], weights: list[float] | None = None) -> "NaiveBayes":
        weights = weights or [1.0] * len(docs)
        counts: dict[str, Counter] = defaultdict(Counter)
        mass: Counter = Counter()
        for tokens, label, w in zip(docs, labels, weights):
            mass[label] += w
            for tok in tokens:
                counts[label][tok] += w
        self.labels = sorted(mass)
        self.vocab = {tok for c in counts.values() for tok in c}
        total = sum(mass.values())
        v = len(self.vocab) or 1
        for label in self.labels:
            self._log_prior[label] = math.log(mass[label] / total)
            denom = sum(counts[label].values()) + self.alpha * v
            self._log_lik[label] = {tok: math.log((n + self.alpha) / denom) for tok, n in counts[label].items()}
            self._log_unseen[label] = math.log(self.alpha / denom)
        return self

    def predict_proba(self, tokens: list[str]) -> dict[str, float]:
        if not self.labels:
            return {}
        known = [t for t in tokens if t in self.vocab]
        scores = {}
        for label in self.labels:
            lik, unseen = self._log_lik[label], self._log_unseen[label]
            scores[label] = self._log_prior[label] + sum(lik.get(t, unseen) for t in known)
        return _softmax(scores)


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


@dataclass(frozen=True)
class Rule:
    category: str
    keyword: str
    weight: float


@dataclass(frozen=True)
class Example:
    """A labelled text: a sample from the shipped set, or an agent's correction (``feedback``)."""
    text: str
    category: str
    severity: str | None = None
    feedback: bool = False


@dataclass
class Suggestion:
    category: str | None
    severity: str | None
    categories: list[dict] = field(default_factory=list)   # top 3: {"category", "score"}
    severity_scores: dict[str, float] = field(default_factory=dict)
    matched_keywords: list[dict] = field(default_factory=list)
    urgency_hints: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"category": self.category, "severity": self.severity, "categories": self.categories,
                "severity_scores": self.severity_scores, "matched_keywords": self.matched_keywords,
                "urgency_hints": self.urgency_hints}


def default_rules() -> list[Rule]:
    return [Rule(cat, kw, float(w)) for cat, pairs in DEFAULT_RULES.items() for kw, w in pairs]


def default_category_keys() -> list[str]:
    return [key for key, _zh, _en in DEFAULT_CATEGORIES]


def map_severity(label: str | None, levels: tuple[str, ...]) -> str | None:
    """A label of the default 3-level scheme (or of ``levels`` itself) as a key of ``levels``, by rank."""
    if label in levels:
        return label
    if label not in DEFAULT_SEVERITY_LEVELS or len(levels) < 2:
        return None
    rank = DEFAULT_SEVERITY_LEVELS.index(label)
    position = rank * (len(levels) - 1) / (len(DEFAULT_SEVERITY_LEVELS) - 1)
    return levels[math.ceil(position - 0.5)]  # halfway rounds down: urgency hints push up separately


class Classifier:
    """A tenant's classifier: its categories, rules and a model trained on samples + its corrections."""

    def __init__(self, categories: list[str], rules: list[Rule], examples: list[Example],
                 severity_levels: tuple[str, ...] = DEFAULT_SEVERITY_LEVELS, tokens_of=None,
                 use_model: bool = True, use_rules: bool = True):
        self.categories = list(categories)
        known = set(self.categories)
        self.rules = [r for r in rules if r.category in known and r.keyword and r.weight > 0]
        self.severity_levels = tuple(severity_levels)
        self.use_model, self.use_rules = use_model, use_rules
        tokens_of = tokens_of or Segmenter.features
        docs, cats, sevs, weights = [], [], [], []
        for ex in examples:
            if ex.category not in known:
                continue
            docs.append(tokens_of(ex.text))
            cats.append(ex.category)
            sevs.append(map_severity(ex.severity, self.severity_levels))
            weights.append(FEEDBACK_WEIGHT if ex.feedback else 1.0)
        self.category_model = NaiveBayes().fit(docs, cats, weights)
        with_sev = [(d, s, w) for d, s, w in zip(docs, sevs, weights) if s is not None]
        self.severity_model = NaiveBayes().fit([d for d, _, _ in with_sev], [s for _, s, _ in with_sev],
                                               [w for _, _, w in with_sev])

    def suggest(self, text: str, tokens: list[str] | None = None) -> Suggestion:
        tokens = Segmenter.features(text) if tokens is None else tokens
        scores = self._category_scores(text, tokens)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self.categories.index(kv[0])))
        matched = [{"keyword": r.keyword, "category": r.category, "weight": r.weight}
                   for r in self.rules if r.keyword in text] if self.use_rules else []
        severity, sev_scores, hints = self._severity(text, tokens)
        return Suggestion(
            category=ranked[0][0] if ranked and ranked[0][1] > 0 else None,
            severity=severity,
            categories=[{"category": c, "score": round(s, 4)} for c, s in ranked[:TOP] if s > 0],
            severity_scores={k: round(v, 4) for k, v in sev_scores.items()},
            matched_keywords=matched, urgency_hints=hints,
        )

    def _category_scores(self, text: str, tokens: list[str]) -> dict[str, float]:
        model = self.category_model.predict_proba(tokens) if self.use_model else {}
        rule_weight: Counter = Counter()
        if self.use_rules:
            for r in self.rules:
                if r.keyword in text:
                    rule_weight[r.category] += r.weight
        matched = sum(rule_weight.values())
        trust = matched / (matched + RULE_HALF) if matched and model else (1.0 if matched else 0.0)
        return {c: (1 - trust) * model.get(c, 0.0) + trust * (rule_weight[c] / matched if matched else 0.0)
                for c in self.categories}

    def _severity(self, text: str, tokens: list[str]) -> tuple[str | None, dict[str, float], list[str]]:
        levels = self.severity_levels
        probs = self.severity_model.predict_proba(tokens) if self.severity_model.labels else {}
        probs = {lvl: probs.get(lvl, 0.0) for lvl in levels}
        if not any(probs.values()):
            probs[levels[len(levels) // 2]] = 1.0
        strong = [h for h in STRONG_URGENCY_HINTS if h in text]
        weak = [h for h in WEAK_URGENCY_HINTS if h in text and not any(h in s for s in strong)]
        top = levels[-1]
        if strong:
            chosen = top
        else:
            if weak:
                moved = {lvl: p * (1 - WEAK_HINT_PUSH) for lvl, p in probs.items()}
                moved[top] += WEAK_HINT_PUSH
                probs = moved
            chosen = max(levels, key=lambda lvl: (probs[lvl], levels.index(lvl)))
        return chosen, probs, strong + weak
