"""Channel secrets at rest (estatedesk_common.secrets): Fernet round trip, rotation, clear errors."""
import logging

import pytest

from estatedesk_common import secrets

KEY_A, KEY_B = secrets.generate_key(), secrets.generate_key()


def env(*keys, **more):
    return {secrets.KEY_ENV: ",".join(keys), **more}


def test_sealed_value_round_trips_and_is_not_readable_as_stored():
    stored = secrets.seal("demo-mail-password", env(KEY_A))
    assert stored.startswith("enc:v1:") and "demo-mail-password" not in stored
    assert secrets.reveal(stored, env(KEY_A)) == "demo-mail-password"
    assert secrets.seal("密码-ümlaut", env(KEY_A)) != secrets.seal("密码-ümlaut", env(KEY_A))  # random IV
    assert secrets.reveal(secrets.seal("密码-ümlaut", env(KEY_A)), env(KEY_A)) == "密码-ümlaut"


@pytest.fixture(autouse=True)
def no_process_key(monkeypatch):
    monkeypatch.delenv(secrets.KEY_ENV, raising=False)  # make test exports a dev key (scripts/env.sh)


def test_the_process_environment_supplies_the_key_when_the_mapping_has_none(monkeypatch):
    monkeypatch.setenv(secrets.KEY_ENV, KEY_A)
    stored = secrets.seal("x", {"OTHER": "1"})
    assert secrets.reveal(stored, {}) == "x" and secrets.reveal(stored, env(KEY_A)) == "x"
    with pytest.raises(secrets.SecretError):
        secrets.reveal(stored, env(KEY_B))  # an explicit mapping's key wins


def test_references_empty_and_already_encrypted_values_are_stored_as_given():
    stored = secrets.seal("x", env(KEY_A))
    for value in ("env:MAILBOX_PW", "", None, stored):
        assert secrets.seal(value, env(KEY_A)) == value
    assert secrets.seal("plain", {}) == "plain"  # no key configured: stored as given


def test_rotation_new_key_first_reads_old_values_and_rewrap_moves_them_to_the_new_key():
    old = secrets.seal("token-1", env(KEY_A))
    rotated = env(KEY_B, KEY_A)
    assert secrets.reveal(old, rotated) == "token-1"
    new = secrets.rewrap(old, rotated)
    assert new != old and secrets.reveal(new, env(KEY_B)) == "token-1"
    with pytest.raises(secrets.SecretError):
        secrets.reveal(new, env(KEY_A))
    assert secrets.reveal(secrets.rewrap("legacy", rotated), env(KEY_B)) == "legacy"
    assert secrets.rewrap("env:X", rotated) == "env:X"


def test_wrong_or_missing_key_is_a_clear_error_that_names_no_secret():
    stored = secrets.seal("s3cret-value", env(KEY_A))
    with pytest.raises(secrets.SecretError, match="no key in ESTATEDESK_SECRETS_KEY fits") as wrong:
        secrets.reveal(stored, env(KEY_B), "mailbox password")
    assert "s3cret" not in str(wrong.value) and "mailbox password" in str(wrong.value)
    with pytest.raises(secrets.SecretError, match="ESTATEDESK_SECRETS_KEY is not set"):
        secrets.reveal(stored, {})
    with pytest.raises(secrets.SecretError, match="not set"):
        secrets.rewrap("x", {})
    with pytest.raises(secrets.SecretError, match="Fernet keys"):
        secrets.seal("x", env("not-a-key"))
    with pytest.raises(secrets.SecretError, match="cannot be decrypted"):
        secrets.reveal("enc:v1:garbage", env(KEY_A))


def test_env_references_and_legacy_plain_values_are_read_plain_with_one_warning(caplog):
    assert secrets.reveal("env:PW", {"PW": "from-env"}) == "from-env"
    with pytest.raises(secrets.SecretError, match="variable PW is not set"):
        secrets.reveal("env:PW", {})
    caplog.set_level(logging.WARNING, logger="estatedesk_common.secrets")
    value = f"legacy-{KEY_A[:8]}"
    assert secrets.reveal(value, {}, "WeChat token") == value
    assert secrets.reveal(value, {}, "WeChat token") == value
    warnings = [r for r in caplog.records if "plain text" in r.getMessage()]
    assert len(warnings) == 1 and value not in warnings[0].getMessage()


def test_cli_generates_a_usable_key(capsys):
    assert secrets.main(["generate-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert secrets.reveal(secrets.seal("x", env(key)), env(key)) == "x"
    assert secrets.main([]) == 2
