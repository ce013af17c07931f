"""Plain IMAP is upgraded with STARTTLS except on this machine (the private dev Dovecot)."""
import pytest

from intake.mailbox import needs_starttls


@pytest.mark.parametrize("host, upgrade", [
    ("127.0.0.1", False), ("::1", False), ("localhost", False), ("LOCALHOST", False), ("127.0.0.53", False),
    ("imap.example.com", True), ("10.0.0.5", True), ("192.168.1.20", True), ("localhost.evil.com", True),
])
def test_plain_imap_to_another_machine_needs_starttls(host, upgrade):
    assert needs_starttls(host) is upgrade
