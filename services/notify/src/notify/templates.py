"""Rendering of outgoing messages: ``templates/<locale>/<message>/{subject.txt, body.txt, body.html, sms.txt}``.

Pure: a context in, three strings out. A sandboxed environment because tenant-specific overrides (a later
issue) will be edited by tenants; HTML is autoescaped (complaint text is user input), text is not; undefined
variables raise instead of silently rendering empty.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from jinja2 import BaseLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .domain.messages import DEFAULT_LOCALE, LOCALES

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def environment(loader: BaseLoader | None = None) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=loader or FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


_default_env = environment()


def render(message: str, locale: str, context: dict, env: SandboxedEnvironment | None = None) -> Rendered:
    """Subject (one line), plain-text body and HTML body of ``message`` in ``locale`` (zh_CN if unknown)."""
    env = env or _default_env
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    part = lambda name: env.get_template(f"{locale}/{message}/{name}").render(context)  # noqa: E731
    subject = " ".join(part("subject.txt").split())  # one line: no header folding or injection via CR/LF
    return Rendered(subject=subject, text=part("body.txt"), html=part("body.html"))


def render_sms(message: str, locale: str, context: dict, env: SandboxedEnvironment | None = None) -> str:
    """The SMS text of ``message``: one line, runs of whitespace collapsed (an SMS part is 70 UCS-2 characters)."""
    env = env or _default_env
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    return " ".join(env.get_template(f"{locale}/{message}/sms.txt").render(context).split())
