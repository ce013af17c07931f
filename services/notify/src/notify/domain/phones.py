"""Mainland China mobile numbers: validation, the national form we store, the E.164 form we send, masking."""
from __future__ import annotations

import re

_MOBILE = re.compile(r"^1\d{10}$")
_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?(1\d{2})\d{4}(\d{4})(?!\d)")


class InvalidPhone(ValueError):
    """Not a mainland mobile number: an SMS cannot be sent, retrying will not help."""


def national_mobile(raw) -> str:
    """``"+86 138-1234-5678"`` -> ``"13812345678"``; anything else raises ``InvalidPhone`` with the reason."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("no phone number")
    digits = _SEPARATORS.sub("", raw.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if not _MOBILE.match(digits):
        raise InvalidPhone(f"not a mainland mobile number: {mask_phone(raw)}")
    return digits


def e164(national: str) -> str:
    """``"13812345678"`` -> ``"+8613812345678"`` (what we hand to Kannel)."""
    return "+86" + national_mobile(national)


def mask_phone(number: str) -> str:
    """``13812345678`` -> ``138****5678``; short or odd input keeps at most its last 2 characters."""
    digits = _SEPARATORS.sub("", (number or "").strip())
    if digits.startswith("+86") and len(digits) == 14:
        digits = digits[3:]
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "***" + digits[-2:] if len(digits) > 4 else "***"


def mask_phones_in(text: str) -> str:
    """Mask every mobile number inside free text (provider replies may quote the receiver)."""
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text or "")
