"""Message catalogues: zh-CN is the default locale, English the second.

Kept as Python dicts for now (a few dozen strings, no build step); when the console grows (issue 8) these
move to gettext catalogues via Flask-Babel, keeping the same keys.
"""
from __future__ import annotations

DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")

_catalog: dict[str, dict[str, str]] = {}


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add ``{key: {"zh_CN": ..., "en": ...}}``; every key must have both locales."""
    for key, texts in messages.items():
        missing = [loc for loc in LOCALES if loc not in texts]
        if missing:
            raise ValueError(f"message {key!r} lacks {missing}")
        _catalog[key] = texts


def negotiate(accept_language: str | None) -> str:
    """Pick a locale from an Accept-Language header (or a bare locale); zh-CN unless English is preferred."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked = []
    for i, part in enumerate(accept_language.split(",")):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, i, lang.strip().lower().replace("-", "_")))
    for _, _, lang in sorted(ranked):
        if lang.startswith("zh"):
            return "zh_CN"
        if lang.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def t(key: str, locale: str = DEFAULT_LOCALE, **params) -> str:
    texts = _catalog.get(key)
    if texts is None:
        return key
    text = texts.get(locale) or texts[DEFAULT_LOCALE]
    return text.format(**params) if params else text
