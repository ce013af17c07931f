"""Real SMTP peers for the tenant mail server tests (module name unique across the repository): a private CA and
a server certificate for 127.0.0.1/localhost made here with ``cryptography``, and aiosmtpd servers that demand
STARTTLS (or speak implicit TLS) and a login, each in a process of its own."""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

try:
    from nameko.testing.utils import find_free_port
except ImportError:  # pragma: no cover - the server process needs none of it
    find_free_port = None


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: str) -> dict:
    """``{"ca": path, "cert": path, "key": path}``: a CA and a server certificate it signed (127.0.0.1, localhost)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("EstateDesk test CA")).issuer_name(_name("EstateDesk test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": os.path.join(folder, "ca.pem"), "cert": os.path.join(folder, "server.pem"),
             "key": os.path.join(folder, "server.key")}
    with open(paths["ca"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class _Handler:
    """Runs in the server's own process: keeps each login attempt and message as a JSON file in ``folder``."""

    def __init__(self, folder: str, users: dict, security: str):
        self.folder, self.users, self.security, self.count = folder, users, security, 0

    def _write(self, name: str, data: dict) -> None:
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(path + ".tmp", path)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
        ok = self.users.get(login) == password
        self.count += 1
        self._write(f"login-{self.count:04d}.json", {"login": login, "ok": ok, "tls": bool(session.ssl)})
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self._write(f"mail-{self.count:04d}.json", {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "tls": bool(session.ssl) or self.security == "tls", "authenticated": bool(session.authenticated),
            "content": base64.b64encode(envelope.original_content).decode()})
        return "250 Message accepted for delivery"


def serve(port: int, security: str, cert: str, key: str, users: dict, folder: str) -> None:
    """The server process (``python notify_tls_smtp.py``): until SIGTERM."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = _Handler(folder, users, security)
    options = {"authenticator": handler.authenticate, "auth_required": True}
    if security == "tls":  # TLS from the first byte
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                auth_require_tls=False, **options)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, auth_require_tls=True, **options)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


class Received:
    def __init__(self, data: dict):
        self.mail_from, self.rcpt_tos = data["mail_from"], data["rcpt_tos"]
        self.original_content = base64.b64decode(data["content"])


class TlsSmtpServer:
    """An aiosmtpd server requiring TLS (``starttls``: STARTTLS before anything else; ``tls``: implicit TLS) and a
    login from ``users`` (``{username: password}``), in a process of its own (aiosmtpd's asyncio loop and the
    tests' eventlet do not share a thread). ``received``: ``[(envelope, {tls, authenticated})]``; ``logins``:
    ``[(login, ok)]``. Not listening until ``start()`` (a server that is "down")."""

    def __init__(self, certs: dict, users: dict, folder: str, security: str = "starttls", port: int | None = None):
        self.certs, self.users, self.security, self.folder = certs, dict(users), security, folder
        self.port = port or find_free_port()
        self.process = None

    def start(self):
        os.makedirs(self.folder, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(self.port), self.security, self.certs["cert"], self.certs["key"],
             json.dumps(self.users), self.folder], stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the SMTP test server on {self.port} did not start")
        return self

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _files(self, prefix: str) -> list[dict]:
        if not os.path.isdir(self.folder):
            return []
        out = []
        for name in sorted(os.listdir(self.folder)):
            if name.startswith(prefix) and name.endswith(".json"):
                with open(os.path.join(self.folder, name), encoding="utf-8") as f:
                    out.append(json.load(f))
        return out

    @property
    def received(self) -> list:
        return [(Received(d), {"tls": d["tls"], "authenticated": d["authenticated"]}) for d in self._files("mail-")]

    @property
    def logins(self) -> list:
        return [(d["login"], d["ok"]) for d in self._files("login-")]

    def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]), sys.argv[6])
