"""Kannel provider: the sendsms request we build and how Kannel's answers are classified (no network)."""
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from http.client import RemoteDisconnected

from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from notify.sms import (AnswerLost, KannelProvider, PermanentFailure, TemporaryFailure, classify_kannel, dlr_url,
                        kannel_params)

TEXT = "【锦绣花园】您的投诉已受理，编号 TS20261124-7KQ2MX，我们将于 15:30 前联系您。"


class FakeResponse:
    def __init__(self, status, text):
        self.status_code, self.text = status, text


class FakeSession:
    def __init__(self, response=None, error=None):
        self.response, self.error, self.calls = response, error, []

    def get(self, url, params=None, timeout=None):
        self.calls.append((url, params, timeout))
        if self.error:
            raise self.error
        return self.response


def test_chinese_text_goes_as_ucs2_with_utf8_charset_and_every_dlr_type():
    params = kannel_params(username="u", password="p", to="+8613812345678", text=TEXT,
                           dlr_url="http://127.0.0.1:9203/kannel/dlr?m=1&type=%d")
    assert params == {"username": "u", "password": "p", "to": "+8613812345678", "text": TEXT, "charset": "UTF-8",
                      "coding": 2, "dlr-mask": 31, "dlr-url": "http://127.0.0.1:9203/kannel/dlr?m=1&type=%d"}


def test_ascii_text_goes_as_gsm_7bit_and_sender_only_when_configured():
    params = kannel_params(username="u", password="p", to="+8613812345678", text="ref TS1", dlr_url=None,
                           sender="10690000")
    assert params["coding"] == 0 and params["from"] == "10690000"
    assert "dlr-url" not in params and "dlr-mask" not in params


def test_the_wire_query_escapes_the_dlr_url_so_kannel_gets_its_placeholders_back():
    prepared = requests.Request("GET", "http://127.0.0.1:13013/cgi-bin/sendsms", params=kannel_params(
        username="u", password="p", to="+8613812345678", text=TEXT,
        dlr_url="http://127.0.0.1:9203/kannel/dlr?t=a&m=b&k=c&type=%d&ts=%T")).prepare()
    query = parse_qs(urlsplit(prepared.url).query)
    assert query["dlr-url"] == ["http://127.0.0.1:9203/kannel/dlr?t=a&m=b&k=c&type=%d&ts=%T"]
    assert query["text"] == [TEXT] and query["to"] == ["+8613812345678"] and query["coding"] == ["2"]


def test_dlr_url_carries_the_key_and_token_then_kannels_placeholders():
    row = {"tenant_id": "3f2b7c1e-0d0a-4d5e-9a57-1b2c3d4e5f60", "id": "0b7e2b8e-1a55-4d7e-9a0e-4f4c6a1f7d11",
           "dlr_token": "abc123", "attempts": 0}
    url = dlr_url("http://127.0.0.1:9203/", row)
    assert url == ("http://127.0.0.1:9203/kannel/dlr?t=3f2b7c1e-0d0a-4d5e-9a57-1b2c3d4e5f60"
                   "&m=0b7e2b8e-1a55-4d7e-9a0e-4f4c6a1f7d11&k=abc123&a=1&type=%d&reply=%A&to=%p&ts=%T")
    # a repeat keeps the message and token (a report of the first attempt still finds the row); only ``a`` moves
    assert dlr_url("http://127.0.0.1:9203/", row | {"attempts": 2}) == url.replace("&a=1&", "&a=3&")


@pytest.mark.parametrize("status, body", [(202, "0: Accepted for delivery"), (202, "3: Queued for later delivery"),
                                          (200, "Sent.")])
def test_accepted(status, body):
    assert classify_kannel(status, body) is None


@pytest.mark.parametrize("status, body, error", [
    (400, "Number(s) has/have been denied by white- and/or black-lists.", PermanentFailure),
    (400, "Missing receiver number", PermanentFailure),
    (403, "Authorization failed for sendsms", TemporaryFailure),  # our configuration, not the message
    (503, "Temporal failure, try again later.", TemporaryFailure),
    (500, "Internal error", TemporaryFailure),
])
def test_refusals(status, body, error):
    with pytest.raises(error) as exc:
        classify_kannel(status, body)
    assert str(status) in str(exc.value) and body in str(exc.value)


def test_provider_sends_one_get_with_timeout():
    session = FakeSession(FakeResponse(202, "0: Accepted for delivery"))
    provider = KannelProvider("http://127.0.0.1:13013/cgi-bin/sendsms", "u", "p", timeout=3.5, session=session)
    assert provider.send("+8613812345678", TEXT, "http://x/kannel/dlr?type=%d") is None
    [(url, params, timeout)] = session.calls
    assert url == "http://127.0.0.1:13013/cgi-bin/sendsms" and timeout == 3.5
    assert params["coding"] == 2 and params["charset"] == "UTF-8" and params["dlr-mask"] == 31


def test_connection_trouble_is_temporary_and_marks_kannel_unreachable():
    session = FakeSession(error=requests.ConnectionError("Connection refused"))
    provider = KannelProvider("http://127.0.0.1:1/cgi-bin/sendsms", "u", "p", session=session)
    with pytest.raises(TemporaryFailure) as exc:
        provider.send("+8613812345678", TEXT)
    assert exc.value.unreachable and "Connection refused" in str(exc.value)


def test_a_refused_message_is_permanent_and_not_unreachable():
    provider = KannelProvider("http://k/cgi-bin/sendsms", "u", "p",
                              session=FakeSession(FakeResponse(400, "Missing receiver number")))
    with pytest.raises(PermanentFailure):
        provider.send("+8613812345678", TEXT)


_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"
_REFUSED = requests.ConnectionError(MaxRetryError(None, _URL, NewConnectionError(None, "Connection refused")))
_DROPPED = requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("closed")))


# (the exceptions as requests 2.x raises them: refused -> ConnectionError(MaxRetryError(NewConnectionError)),
# closed after the request -> ConnectionError(ProtocolError("Connection aborted.")))
@pytest.mark.parametrize("error", [_REFUSED, requests.ConnectTimeout("connect timed out"),
                                   requests.exceptions.InvalidURL("bad")])
def test_a_failure_before_the_request_went_out_is_an_ordinary_retry(error):
    provider = KannelProvider(_URL, "u", "p", session=FakeSession(error=error))
    with pytest.raises(TemporaryFailure) as exc:
        provider.send("+8613812345678", TEXT)
    assert not isinstance(exc.value, AnswerLost) and exc.value.unreachable


@pytest.mark.parametrize("error", [requests.ReadTimeout("Read timed out. (read timeout=10)"), _DROPPED,
                                   requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")])
def test_an_answer_lost_after_the_request_went_out_is_unknown_not_failed(error):
    provider = KannelProvider(_URL, "u", "p", session=FakeSession(error=error))
    with pytest.raises(AnswerLost) as exc:
        provider.send("+8613812345678", TEXT)
    assert exc.value.unreachable and str(exc.value).startswith("Kannel did not answer (the request was sent): ")
