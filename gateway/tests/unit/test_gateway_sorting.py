"""Sorting on lists: the page helper (unknown keys ignored), the queues' and the complaint list's sortable headers
(aria-sort, links that keep the filters), and the API passing sort/order to the service whose 400 invalid_sort
comes back as JSON."""
import re

import pytest

from estatedesk_common.sorting import Sort

from gateway import sorting
from test_gateway_callback_pages import callback, page
from test_gateway_console_pages import ESTATES, console_login, item
from test_gateway_queue import queue_item


@pytest.mark.parametrize("args, expected", [
    ({}, Sort("due_at", False)), ({"sort": "severity"}, Sort("severity", False)),
    ({"sort": "received_at", "order": "desc"}, Sort("received_at", True)),
    ({"sort": "reference"}, Sort("due_at", False)),  # unknown key: the default, not an error page
    ({"sort": "severity", "order": "sideways"}, Sort("due_at", False)),
    ({"order": "desc"}, Sort("due_at", True)),
])
def test_page_sort_keeps_known_keys_and_falls_back_to_the_default(args, expected):
    assert sorting.page_sort(args, sorting.QUEUE) == expected


def test_aria_sort_and_the_next_direction_of_a_header():
    current = Sort("severity", True)
    assert sorting.aria_sort(current, "severity") == "descending" and sorting.aria_sort(current, "estate") == "none"
    assert sorting.aria_sort(Sort("estate", False), "estate") == "ascending"
    assert sorting.next_order(current, "severity") == "asc" and sorting.next_order(current, "estate") == "asc"
    assert sorting.next_order(Sort("estate", False), "estate") == "desc"


def headers(html: str) -> dict:
    """{sort key: (aria-sort, the header link's order)} of the sortable headers."""
    found = re.findall(r'<th scope="col" aria-sort="(\w+)"[^>]*>\s*<a class="sort" href="[^"]*sort=(\w+)[^"]*?'
                       r'order=(\w+)', html.replace("&amp;", "&"))
    return {key: (state, order) for state, key, order in found}


@pytest.fixture
def supervisor(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    assert console_login(client, username="supervisor@demo").status_code == 302
    return client


@pytest.mark.parametrize("path", ["/queue", "/escalations"])
def test_queue_headers_sort_in_workflow_and_say_so_with_aria_sort(supervisor, fake_rpc, path):
    fake_rpc.reply("workflow", "list_cases", {"total": 120, "items": [queue_item(severity="major")]})
    html = supervisor.get(f"{path}?sort=severity&order=desc&status=all&overdue=1&page=2").get_data(as_text=True)
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_cases"]
    assert (call["kwargs"]["sort"], call["kwargs"]["order"], call["kwargs"]["offset"]) == ("severity", "desc", 50)
    found = headers(html)
    assert found == {"estate": ("none", "asc"), "status": ("none", "asc"), "severity": ("descending", "asc"),
                     "due_at": ("none", "asc"), "received_at": ("none", "asc")}
    link = html.replace("&amp;", "&")
    assert re.search(r'href="[^"]*sort=estate[^"]*"', link).group(0).count("overdue=1") == 1  # filters kept
    pager = re.findall(r'href="([^"]+)" rel="(?:prev|next)"', link)
    assert pager and all("sort=severity" in h and "order=desc" in h for h in pager)  # pages keep the sort
    assert '<input type="hidden" name="sort" value="severity">' in html  # and so does the filter form
    assert "重大" in html or "Major" in html  # the severity column


def test_queue_ignores_an_unknown_sort_key(supervisor, fake_rpc):
    fake_rpc.reply("workflow", "list_cases", {"total": 1, "items": [queue_item()]})
    r = supervisor.get("/queue?sort=reference;drop&order=up")
    assert r.status_code == 200
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_cases"]
    assert (call["kwargs"]["sort"], call["kwargs"]["order"]) == ("due_at", "asc")
    assert headers(r.get_data(as_text=True))["due_at"] == ("ascending", "desc")


def test_callback_queue_sorts_in_notify(client, fake_rpc):
    fake_rpc.reply("notify", "list_callbacks", page([callback()]))
    assert console_login(client, username="agent@demo").status_code == 302
    html = client.get("/callbacks?sort=resolved_at&order=desc&status=open").get_data(as_text=True)
    call = [c for c in fake_rpc.calls if c["method"] == "list_callbacks"][-1]
    assert call["args"] == (None, "open", 100, 0) and call["kwargs"] == {"sort": "resolved_at", "order": "desc"}
    assert headers(html) == {"estate": ("none", "asc"), "status": ("none", "asc"),
                             "resolved_at": ("descending", "asc"), "due_at": ("none", "asc")}
    client.get("/callbacks?sort=words")
    assert [c for c in fake_rpc.calls if c["method"] == "list_callbacks"][-1]["kwargs"] == {"sort": "due_at",
                                                                                            "order": "asc"}


@pytest.fixture
def complaints_page(supervisor, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 45, "items": [item(severity="major")]})
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})
    return supervisor


def test_complaint_list_headers_sort_in_intake_and_keep_the_filters(complaints_page, fake_rpc):
    html = complaints_page.get("/complaints?sort=severity&order=desc&estate=DEMO-RES&channel=hotline&page=2"
                               ).get_data(as_text=True)
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_complaints"]
    assert call["args"] == ("DEMO-RES", None, "hotline", 20, 20, False, "severity", "desc")  # page 2, in intake
    assert headers(html) == {"received_at": ("none", "asc"), "estate": ("none", "asc"),
                             "severity": ("descending", "asc"), "status": ("none", "asc")}  # intake's case status
    link = html.replace("&amp;", "&")
    estate = re.search(r'href="([^"]*sort=estate[^"]*)"', link).group(1)
    assert "estate=DEMO-RES" in estate and "channel=hotline" in estate and "page=" not in estate  # back to page 1
    pager = re.findall(r'href="([^"]+)" rel="(?:prev|next)"', link)
    assert len(pager) == 2 and all("sort=severity" in h and "order=desc" in h and "channel=hotline" in h
                                   for h in pager)  # pages keep the sort and the filters
    assert '<input type="hidden" name="sort" value="severity"><input type="hidden" name="order" value="desc">' in html
    assert "<td>重大</td>" in html  # the severity column


@pytest.mark.parametrize("query, expected", [
    ("", ("received_at", "desc")), ("?sort=received_at", ("received_at", "desc")),
    ("?sort=received_at&order=asc", ("received_at", "asc")), ("?sort=estate", ("estate", "asc")),
    ("?sort=status&order=asc", ("status", "asc")),  # the case status intake keeps (intake.case_status)
    ("?sort=reference;drop&order=up", ("received_at", "desc")),
])
def test_complaint_list_sends_known_keys_and_ignores_others(complaints_page, fake_rpc, query, expected):
    r = complaints_page.get(f"/complaints{query}")
    assert r.status_code == 200
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_complaints"]
    assert call["args"][6:] == expected
    state = {"asc": "ascending", "desc": "descending"}[expected[1]]
    assert headers(r.get_data(as_text=True))[expected[0]][0] == state


def test_home_lists_keep_plain_headers(supervisor, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 1, "items": [item()]})
    html = supervisor.get("/").get_data(as_text=True)
    assert "周女士" in html and 'aria-sort' not in html and 'id="complaints"' not in html


def test_api_complaints_pass_the_sort_to_intake(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    assert client.get("/api/v1/complaints?sort=severity&order=desc&estate=DEMO-RES",
                      headers=auth_headers).status_code == 200
    call = fake_rpc.calls[-1]
    assert (call["kwargs"]["sort"], call["kwargs"]["order"], call["kwargs"]["estate"]) == ("severity", "desc",
                                                                                          "DEMO-RES")
    client.get("/api/v1/complaints", headers=auth_headers)
    assert (fake_rpc.calls[-1]["kwargs"]["sort"], fake_rpc.calls[-1]["kwargs"]["order"]) == (None, None)


@pytest.mark.parametrize("path, service, method", [("/api/v1/complaints?sort=due_at", "intake", "list_complaints"),
                                                   ("/api/v1/callbacks?sort=severity", "notify", "list_callbacks")])
def test_api_unknown_sort_is_a_400_json_naming_the_field(client, auth_headers, fake_rpc, remote_error, path, service,
                                                         method):
    fake_rpc.reply(service, method, remote_error("InvalidSort", 400, "invalid_sort", field="sort",
                                                 allowed=["received_at"]))
    r = client.get(path, headers=auth_headers | {"Accept-Language": "en"})
    body = r.get_json()
    assert r.status_code == 400 and body["error"] == "invalid_sort" and body["details"]["field"] == "sort"
    assert body["message"] == "Unsupported sort key or order (see details.allowed)"
    assert fake_rpc.calls[-1]["kwargs"]["sort"] == path.split("sort=")[1]
