"""E-mail as a complaint channel: parse one raw RFC 5322 message into what intake needs. Stdlib only.

``parse_mail(raw)`` never raises on bad input it can survive: unknown or wrong charsets are decoded with
``errors="replace"`` (the raw bytes are kept by the caller for audit), an HTML-only body is turned into text,
and attachments over the size limit are listed as skipped rather than kept. ``MailUnparseable`` is raised only
when nothing usable can be read (no parsable From address, or a MIME structure nested so deep that the parser
recurses out). Hostile shapes are bounded: a subject keeps ``MAX_SUBJECT`` characters, at most ``MAX_ATTACHMENTS``
files are kept (the rest listed as skipped, that list itself bounded), and NUL and other control characters
(which PostgreSQL's text type refuses) are dropped from the subject, text and file names.
"""
from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import hashlib
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

REFERENCE = re.compile(r"\bTS\d{8}-[0-9A-HJKMNP-TV-Z]{6}\b")
ESTATE_TAG = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9_-]{0,39})\]")
_AUTO_SUBJECT = re.compile(r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|自动回复|自動回覆|自动答复|"
                           r"undeliver(able|ed)|delivery status notification|returned mail|"
                           r"mail delivery failed|退信|系统退信)", re.I)
_QUOTE_START = re.compile(r"^\s*(-{2,}\s*(original message|原始邮件|回复的原邮件)|on .+ wrote:\s*$|在.+写道[:：]\s*$|"
                          r"(from|发件人)\s*[:：])", re.I)
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
MAX_SKIPPED_LISTED = 50
MAX_SUBJECT = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MailUnparseable(ValueError):
    pass


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedMail:
    message_id: str
    from_name: str
    from_addr: str
    subject: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: list[dict] = field(default_factory=list)  # {filename, content_type, size, reason}
    auto: str | None = None        # why this is an auto-reply or bounce (None: a person wrote it)
    decode_problems: list[str] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        return REFERENCE.findall(self.subject.upper())

    @property
    def estate_tag(self) -> str | None:
        found = ESTATE_TAG.search(self.subject)
        return found.group(1).upper() if found else None

    def reply_text(self, limit: int = 5000) -> str:
        """The new text of a reply: the body above the quoted original (``>`` lines, "-----Original Message",
        "On ... wrote:", "在 ... 写道：", "发件人:"), else the whole description."""
        kept = []
        for line in self.text.split("\n"):
            if _QUOTE_START.match(line):
                break
            if not line.lstrip().startswith(">"):
                kept.append(line)
        text = "\n".join(kept).strip()
        return text[:limit] if text else self.description(limit)

    def description(self, limit: int = 5000) -> str:
        """Subject (without tags and references) and body, as the complaint's description."""
        subject = REFERENCE.sub("", ESTATE_TAG.sub("", self.subject))
        subject = re.sub(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", "", subject, flags=re.I).strip()
        body = self.text.strip()
        text = body if not subject or body.startswith(subject) else (f"{subject}\n\n{body}" if body else subject)
        if len(text) > limit:
            marker = "\n…（邮件过长，已截断，全文见原始邮件）"
            text = text[: limit - len(marker)] + marker
        return text


def parse_mail(raw: bytes, max_attachment: int = MAX_ATTACHMENT_BYTES) -> ParsedMail:
    try:
        return _parse(raw, max_attachment)
    except RecursionError:  # thousands of nested multiparts: the stdlib parser recurses per level
        raise MailUnparseable("MIME structure nested too deeply") from None


def _parse(raw: bytes, max_attachment: int) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems: list[str] = []
    from_name, from_addr = _sender(msg, problems)
    subject = _clean(_header(msg, "Subject", problems))
    if len(subject) > MAX_SUBJECT:
        problems.append(f"subject of {len(subject)} characters cut to {MAX_SUBJECT}")
        subject = subject[:MAX_SUBJECT]
    message_id = _clean(_header(msg, "Message-ID", problems)).strip()
    if not message_id:  # no Message-ID: the content decides, so a copy of the same bytes is still a duplicate
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()}@estatedesk.invalid>"
    parsed = ParsedMail(message_id=message_id[:250], from_name=from_name, from_addr=from_addr, subject=subject,
                        text="", decode_problems=problems)
    parsed.text = _clean(_body_text(msg, problems))
    _collect_attachments(msg, parsed, max_attachment)
    parsed.auto = auto_reason(msg, from_addr, subject)
    return parsed


def _clean(text: str) -> str:
    """Without NUL and the other control characters (tabs and line breaks stay)."""
    return _CONTROL.sub("", text)


def auto_reason(msg, from_addr: str, subject: str) -> str | None:
    """Why ``msg`` is machine-generated (RFC 3834 Auto-Submitted, Precedence, X-Autoreply, a delivery
    report, a MAILER-DAEMON sender, a typical subject), or None."""
    auto_submitted = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted[:40]}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "auto_reply", "list", "junk"):
        return f"precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond"):
        value = str(msg.get(header, "")).strip().lower()
        if value and value not in ("no", "false", "0"):
            return f"{header.lower()}: {value[:40]}"
    if msg.get_content_type() == "multipart/report":
        return f"delivery report: {msg.get_param('report-type', '') or 'report'}"
    if _BOUNCE_SENDERS.match(from_addr or ""):
        return f"bounce sender: {from_addr}"
    if _AUTO_SUBJECT.match(subject or ""):
        return "auto-reply subject"
    return None


def _header(msg, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception as exc:  # a header the policy cannot parse: fall back to the raw value
        problems.append(f"{name}: {type(exc).__name__}")
        raw = msg.get_all(name, failobj=[""])[0]
        return str(email.header.make_header(email.header.decode_header(str(raw)))) if raw else ""


def _sender(msg, problems: list[str]) -> tuple[str, str]:
    value = _header(msg, "From", problems)
    name, addr = email.utils.parseaddr(value)
    if "@" not in addr:
        raise MailUnparseable(f"no sender address in From: {value[:100]!r}")
    return _clean(name).strip()[:50], _clean(addr).strip().lower()


def _decode(part, problems: list[str]) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = (part.get_content_charset() or "utf-8").lower()
    charset = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030"}.get(charset, charset)  # supersets
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        problems.append(f"unknown charset {charset[:40]}")
        return payload.decode("utf-8", errors="replace")


def _body_text(msg, problems: list[str]) -> str:
    plain = html_part = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode(part, problems)
        elif kind == "text/html" and html_part is None:
            html_part = _decode(part, problems)
    if plain is not None and plain.strip():
        return _normalise(plain)
    if html_part is not None:
        return _normalise(html_to_text(html_part))
    return ""


def _collect_attachments(msg, parsed: ParsedMail, max_attachment: int) -> None:
    if msg.get_content_type() == "multipart/report":
        return
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        is_file = (disposition == "attachment"
                   or (disposition == "inline" and not kind.startswith("text/"))
                   or (disposition is None and not kind.startswith("text/") and part.get_filename()))
        if not is_file:
            continue
        content = part.get_payload(decode=True) or b""
        name = _clean(part.get_filename() or "attachment").replace("/", "_").replace("\\", "_")[:200] or "attachment"
        if len(parsed.attachments) >= MAX_ATTACHMENTS:
            if len(parsed.skipped_attachments) < MAX_SKIPPED_LISTED:
                parsed.skipped_attachments.append({"filename": name, "content_type": kind[:100], "size": len(content),
                                                   "reason": f"more than {MAX_ATTACHMENTS} files"})
            continue
        if len(content) > max_attachment:
            parsed.skipped_attachments.append({"filename": name, "content_type": kind, "size": len(content),
                                               "reason": f"larger than {max_attachment} bytes"})
            continue
        parsed.attachments.append(Attachment(filename=name, content_type=kind[:100], content=content))


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()


class _HtmlText(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient; keep whatever was read
        pass
    return html.unescape("".join(parser.out))
