"""Rendering of outgoing messages: ``templates/<locale>/<message>/{subject.txt, body.txt, body.html, sms.txt}``,
with a tenant's or estate's overrides (``template_overrides``) in front of these shipped defaults.

Pure: a context in, strings out. A sandboxed environment because overrides are edited by tenants: attributes
such as ``__class__`` are refused (``SecurityError``), and ``*`` / ``**`` that would build huge values too;
HTML is autoescaped (complaint text is user input), text is not; undefined variables raise instead of silently
rendering empty.

Compiled overrides are cached by their source text, not by tenant: a save changes the source, so the next
message renders the new one at once, in every notify process, with nothing to invalidate or go stale.
"""
from __future__ import annotations

import functools
import os
import traceback
from dataclasses import dataclass
from numbers import Number

from jinja2 import BaseLoader, FileSystemLoader, StrictUndefined, TemplateSyntaxError, meta, nodes, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from .domain.messages import DEFAULT_LOCALE, LOCALES
from .domain.template_overrides import FILES, MAX_SMS_RENDERED, InvalidOverride

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
MAX_REPEAT = 10_000  # ``"x" * n`` / ``[..] * n`` building more items or characters than this is refused (memory)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Sandbox(SandboxedEnvironment):
    """The sandbox, also refusing repetition and powers that would build huge values."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        numbers = isinstance(left, Number) and isinstance(right, Number)
        if operator == "**" and numbers and abs(right) > 100:
            raise SecurityError("exponent too large")
        if operator == "*" and not numbers:
            count, seq = (left, right) if isinstance(left, int) else (right, left)
            if isinstance(count, int) and hasattr(seq, "__len__") and len(seq) * count > MAX_REPEAT:
                raise SecurityError(f"repetition beyond {MAX_REPEAT} items or characters")
        return super().call_binop(context, operator, left, right)


def environment(loader: BaseLoader | None = None, autoescape=None) -> SandboxedEnvironment:
    return Sandbox(
        loader=loader or FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False)
        if autoescape is None else autoescape,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


_default_env = environment()
_source_envs = {False: environment(autoescape=False), True: environment(autoescape=True)}


def default_source(message: str, locale: str, part: str) -> str:
    """The shipped template of one part ('' when the message has no such file)."""
    path = os.path.join(TEMPLATE_DIR, locale, message, FILES[part])
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


@functools.lru_cache(maxsize=512)
def compiled(part: str, source: str):
    """An override compiled once per distinct source (HTML autoescaped)."""
    return _source_envs[part == "body_html"].from_string(source)


class Scoped:
    """``render`` / ``render_sms`` with overrides ``{(message, locale, part): source}`` before the defaults."""

    def __init__(self, sources: dict | None = None, env: SandboxedEnvironment | None = None):
        self.sources, self.env = sources or {}, env or _default_env

    def part(self, message: str, locale: str, part: str, context: dict) -> str:
        source = self.sources.get((message, locale, part))
        if source is not None:
            return compiled(part, source).render(context)
        return self.env.get_template(f"{locale}/{message}/{FILES[part]}").render(context)

    def render(self, message: str, locale: str, context: dict) -> Rendered:
        """Subject (one line), plain-text body and HTML body of ``message`` in ``locale`` (zh_CN if unknown)."""
        locale = locale if locale in LOCALES else DEFAULT_LOCALE
        subject = one_line(self.part(message, locale, "subject", context))  # no header folding or CR/LF injection
        return Rendered(subject=subject, text=self.part(message, locale, "body_txt", context),
                        html=self.part(message, locale, "body_html", context))

    def render_sms(self, message: str, locale: str, context: dict) -> str:
        """The SMS text: one line, runs of whitespace collapsed (an SMS part is 70 UCS-2 characters)."""
        locale = locale if locale in LOCALES else DEFAULT_LOCALE
        return one_line(self.part(message, locale, "sms", context))


def one_line(text: str) -> str:
    return " ".join(text.split())


def render(message: str, locale: str, context: dict, env: SandboxedEnvironment | None = None) -> Rendered:
    """The shipped defaults only (mail that no tenant words, and the tests of the defaults)."""
    return Scoped(env=env).render(message, locale, context)


def render_sms(message: str, locale: str, context: dict, env: SandboxedEnvironment | None = None) -> str:
    return Scoped(env=env).render_sms(message, locale, context)


def check(part: str, source: str, context: dict) -> str:
    """Compile ``source`` in the sandbox and render it against ``context``: the output (subject and SMS on one
    line), or ``InvalidOverride`` naming ``parts.<part>`` and the line at fault: a syntax error, a variable the
    message does not have, an unsafe attribute or call, any other error while rendering."""
    field = f"parts.{part}"
    env = _source_envs[part == "body_html"]
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidOverride(f"syntax error: {exc.message}", field, exc.lineno) from None
    unknown = meta.find_undeclared_variables(tree) - set(context)
    if unknown:
        names = [n for n in tree.find_all(nodes.Name) if n.name in unknown and n.ctx == "load"]
        first = min(names, key=lambda n: n.lineno)
        raise InvalidOverride(f"unknown variable {first.name!r} (this message has: {', '.join(sorted(context))})",
                              field, first.lineno)
    try:
        out = compiled(part, source).render(context)
    except SecurityError as exc:
        raise InvalidOverride(f"not allowed in a template: {exc}", field, _line(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any template error is the template's, reported with its line
        raise InvalidOverride(f"{type(exc).__name__}: {exc}", field, _line(exc)) from None
    if part in ("subject", "sms"):
        out = one_line(out)
    if part == "sms" and len(out) > MAX_SMS_RENDERED:
        raise InvalidOverride(f"the SMS is {len(out)} characters long (at most {MAX_SMS_RENDERED})", field)
    return out


def _line(exc: BaseException) -> int | None:
    """The template line of a rendering error (Jinja rewrites the traceback to point into the template)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return lines[-1] if lines else None
