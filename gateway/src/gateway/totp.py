"""TOTP second factor (RFC 6238 via pyotp: SHA-1, 6 digits, 30 s) and its ten single-use recovery codes.

Enrolment is two steps: ``begin`` stores a new secret (not yet required) and answers it with its
``otpauth://`` URI (and an SVG QR code of it); ``confirm`` with a code from the app switches it on and answers the
recovery codes once. From then on a login needs a code (``verify``): the current step or one either side (clock
drift), each step accepted once per user (``totp_last_step``), or an unused recovery code. Recovery codes are 12
random base32 characters (60 bits), so a SHA-256 of each is enough (no slow hash needed to resist guessing; the
lockout bounds tries). A group admin's ``reset`` (or the user's own ``disable``) removes secret and codes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import uuid

import pyotp
from sqlalchemy import delete, select, update

from estatedesk_common.db import utcnow

from . import audit
from .tables import recovery_codes, users

ISSUER = "EstateDesk"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class TotpError(Exception):
    """``reason``: already_enabled, not_pending, not_enabled, invalid_code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _user(conn, tenant_id: str, user_id: str):
    return conn.execute(select(users.c.username, users.c.totp_secret, users.c.totp_enabled_at,
                               users.c.totp_last_step).where(
        users.c.tenant_id == tenant_id, users.c.id == user_id, users.c.active.is_(True))).first()


def enabled(conn, tenant_id: str, user_id: str) -> bool:
    row = _user(conn, tenant_id, user_id)
    return bool(row and row.totp_enabled_at)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (qrcode's path image: one ``<path>``, no script)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    out = io.BytesIO()
    qrcode.make(uri, image_factory=SvgPathImage, box_size=8, border=2).save(out)
    return out.getvalue().decode("utf-8")


def begin(conn, tenant_id: str, user_id: str) -> dict:
    """A new pending secret: ``{"secret", "otpauth_uri"}``. ``TotpError("already_enabled")`` when on."""
    row = _user(conn, tenant_id, user_id)
    if row is None or row.totp_enabled_at is not None:
        raise TotpError("already_enabled")
    secret = pyotp.random_base32()
    conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(
        totp_secret=secret, totp_last_step=None))
    return {"secret": secret, "otpauth_uri": pyotp.TOTP(secret).provisioning_uri(row.username, issuer_name=ISSUER)}


def pending(conn, tenant_id: str, user_id: str) -> dict | None:
    """The secret being enrolled (shown again on the account page until confirmed), or None."""
    row = _user(conn, tenant_id, user_id)
    if row is None or row.totp_secret is None or row.totp_enabled_at is not None:
        return None
    uri = pyotp.TOTP(row.totp_secret).provisioning_uri(row.username, issuer_name=ISSUER)
    return {"secret": row.totp_secret, "otpauth_uri": uri}


def _step(secret: str, code: str, at: dt.datetime, last: int | None) -> int | None:
    """The time step ``code`` belongs to (now or one either side), unless it is not newer than ``last``."""
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp, now_step = pyotp.TOTP(secret), int(at.timestamp()) // 30
    for step in (now_step, now_step - 1, now_step + 1):
        if secrets.compare_digest(totp.at(step * 30), code) and (last is None or step > last):
            return step
    return None


def _new_codes(conn, tenant_id: str, user_id: str) -> list[str]:
    conn.execute(delete(recovery_codes).where(recovery_codes.c.tenant_id == tenant_id,
                                              recovery_codes.c.user_id == user_id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(12)) for _ in range(RECOVERY_CODES)]
    for code in codes:
        conn.execute(recovery_codes.insert().values(tenant_id=tenant_id, id=str(uuid.uuid4()), user_id=user_id,
                                                    code_hash=_digest(code), used_at=None))
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def _digest(code: str) -> str:
    normal = (code or "").strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def confirm(conn, tenant_id: str, user_id: str, code: str, at: dt.datetime | None = None) -> list[str]:
    """Switch TOTP on with a first good code; answers the recovery codes (shown once)."""
    at = at or utcnow()
    row = _user(conn, tenant_id, user_id)
    if row is None or row.totp_secret is None or row.totp_enabled_at is not None:
        raise TotpError("not_pending")
    step = _step(row.totp_secret, code, at, None)
    if step is None:
        raise TotpError("invalid_code")
    conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(
        totp_enabled_at=at, totp_last_step=step))
    codes = _new_codes(conn, tenant_id, user_id)
    audit.record(conn, tenant_id, "totp_enabled", user_id=user_id, target_kind="user", target_id=user_id)
    return codes


def verify(conn, tenant_id: str, user_id: str, code: str, at: dt.datetime | None = None) -> str | None:
    """``"totp"`` or ``"recovery_code"`` when ``code`` is a good second factor (and spends it), else None."""
    at = at or utcnow()
    row = _user(conn, tenant_id, user_id)
    if row is None or row.totp_enabled_at is None:
        return None
    step = _step(row.totp_secret, code, at, row.totp_last_step)
    if step is not None:
        spent = conn.execute(update(users).where(
            users.c.tenant_id == tenant_id, users.c.id == user_id,
            (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step)).values(totp_last_step=step))
        return "totp" if spent.rowcount == 1 else None
    spent = conn.execute(update(recovery_codes).where(
        recovery_codes.c.tenant_id == tenant_id, recovery_codes.c.user_id == user_id,
        recovery_codes.c.code_hash == _digest(code), recovery_codes.c.used_at.is_(None)).values(used_at=at))
    if spent.rowcount == 1:
        audit.record(conn, tenant_id, "recovery_code_used", user_id=user_id, target_kind="user", target_id=user_id)
        return "recovery_code"
    return None


def remaining_codes(conn, tenant_id: str, user_id: str) -> int:
    return len(conn.execute(select(recovery_codes.c.id).where(
        recovery_codes.c.tenant_id == tenant_id, recovery_codes.c.user_id == user_id,
        recovery_codes.c.used_at.is_(None))).all())


def remove(conn, tenant_id: str, user_id: str, *, by_admin: bool) -> bool:
    """Switch TOTP off (secret and recovery codes gone); False when it was neither on nor pending. An admin's
    reset also ends the user's tokens (``token_version``)."""
    row = _user(conn, tenant_id, user_id)
    if row is None or row.totp_secret is None:
        return False
    values = {"totp_secret": None, "totp_enabled_at": None, "totp_last_step": None}
    if by_admin:
        values["token_version"] = users.c.token_version + 1
    conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(**values))
    conn.execute(delete(recovery_codes).where(recovery_codes.c.tenant_id == tenant_id,
                                              recovery_codes.c.user_id == user_id))
    audit.record(conn, tenant_id, "totp_reset" if by_admin else "totp_disabled", target_kind="user",
                 target_id=user_id)
    return True
