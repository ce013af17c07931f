"""A tenant's outgoing mail server (发件邮箱): what may be configured, and when a stored password may be reused.

Pure functions (no framework). ``check`` turns a request body into ``MailServer`` or raises ``InvalidMailSettings``
naming the field and a stable ``reason`` (the gateway words it in the user's language). Rules:

- ``mode`` ``platform`` (the operator's server from the environment) or ``custom``;
- ``host``: a DNS name or an IP literal, nothing else (no scheme, port or path); an IP literal must be one the
  operator allows (``address_allowed``: never link-local or metadata addresses, private/loopback only when
  ``TENANT_SMTP_ALLOW_PRIVATE``); names are checked again when resolved, at every connection;
- ``security`` ``none`` / ``starttls`` / ``tls`` (implicit TLS, SMTPS); certificates are always verified (the
  operator may add a private CA from the environment, never the tenant); a login only over STARTTLS or TLS;
- ``port`` 1-65535, by default 25 / 587 / 465 for the security chosen;
- ``username`` empty means no login; with one, a password is required: the one given, else the stored one, but
  the stored one only while host and username stay the same (a changed server must not receive the old
  password: the tenant re-enters it);
- ``from_address`` an ASCII addr-spec, ``from_name`` an optional display name (any script); no control characters
  anywhere; username and password ASCII (smtplib's AUTH encodes them as ASCII: a Chinese password would fail at
  every login, so it is refused here, where the admin sees why).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MODES = ("platform", "custom")
SECURITIES = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
MAX_HOST, MAX_USERNAME, MAX_PASSWORD, MAX_ADDRESS, MAX_NAME = 253, 254, 200, 254, 100

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ADDRESS = re.compile(r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class InvalidMailSettings(ValueError):
    def __init__(self, field: str, reason: str, message: str):
        super().__init__(message)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class MailServer:
    """A tenant's server as configured (no password: that stays sealed until a session needs it)."""
    host: str
    port: int
    security: str
    username: str
    from_address: str
    from_name: str

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def _text(data: dict, field: str, limit: int, required: bool = False) -> str:
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidMailSettings(field, "invalid", f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidMailSettings(field, "required", f"{field} is required")
    if len(value) > limit:
        raise InvalidMailSettings(field, "too_long", f"{field}: at most {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidMailSettings(field, "control_characters", f"{field} must not contain control characters")
    return value


def check_host(host: str, address_allowed) -> str:
    """A DNS name or an IP literal the operator allows; ``address_allowed(ip) -> bool``."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not address_allowed(str(literal)):
            raise InvalidMailSettings("host", "address_not_allowed", f"address {host} is not allowed")
        return str(literal)
    name = host.rstrip(".")
    if not name or len(name) > MAX_HOST or not all(_LABEL.match(label) for label in name.split(".")):
        raise InvalidMailSettings("host", "host_format", "host must be a server name such as smtp.example.com "
                                                         "or an IP address (no scheme, port or path)")
    return name.lower()


def check_address(address: str, field: str = "from_address") -> str:
    if not address.isascii() or not _ADDRESS.match(address) or len(address) > MAX_ADDRESS:
        raise InvalidMailSettings(field, "invalid_address", f"{field} must be an e-mail address")
    return address


def _port(value, security: str) -> int:
    if value in (None, ""):
        return DEFAULT_PORTS[security]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidMailSettings("port", "invalid_port", "port must be a number from 1 to 65535")
    return value


def check(data, stored: MailServer | None, stored_password: bool, address_allowed) -> tuple[MailServer, str | None]:
    """``(server, new password or None)`` for a custom server; ``new password`` None means keep the stored one
    (or none is needed). Raises ``InvalidMailSettings``."""
    if not isinstance(data, dict):
        raise InvalidMailSettings("body", "invalid", "the settings must be an object")
    security = data.get("security") or "starttls"
    if security not in SECURITIES:
        raise InvalidMailSettings("security", "invalid_security", f"security must be one of {', '.join(SECURITIES)}")
    host = check_host(_text(data, "host", MAX_HOST, required=True), address_allowed)
    port = _port(data.get("port"), security)
    username = _text(data, "username", MAX_USERNAME)
    if not username.isascii():
        raise InvalidMailSettings("username", "invalid_username", "username: letters, digits and symbols (SMTP AUTH "
                                                                  "takes ASCII)")
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidMailSettings("password", "invalid", "password must be text")
    if password and (len(password) > MAX_PASSWORD or not password.isascii()
                     or any(ord(c) < 32 or ord(c) == 127 for c in password)):
        raise InvalidMailSettings("password", "invalid_password", f"password: at most {MAX_PASSWORD} characters, "
                                  f"letters, digits and symbols (SMTP AUTH takes ASCII)")
    from_address = check_address(_text(data, "from_address", MAX_ADDRESS, required=True))
    from_name = _text(data, "from_name", MAX_NAME)
    if username and security == "none":
        raise InvalidMailSettings("security", "tls_required_for_login",
                                  "a login needs STARTTLS or TLS: the password must not cross the network in clear")
    server = MailServer(host, port, security, username, from_address, from_name)
    if not username:
        return server, None
    if password:
        return server, password
    if not stored_password or stored is None:
        raise InvalidMailSettings("password", "password_required", "a password is required with a username")
    if (stored.host, stored.username) != (host, username):
        raise InvalidMailSettings("password", "password_required_for_new_server",
                                  "enter the password again when the server or username changes")
    return server, None
