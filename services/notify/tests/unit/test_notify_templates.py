from notify import templates
from notify.domain.messages import acknowledgement_context


def test_acknowledgement_in_chinese_shows_reference_estate_and_local_deadline(make_case_opened):
    payload = make_case_opened()  # first contact due 07:30 UTC = 15:30 in Shanghai
    out = templates.render("acknowledgement", "zh_CN", acknowledgement_context(payload))
    assert out.subject == f"【锦绣花园】您的投诉已受理，受理编号 {payload['reference']}"
    for part in (out.text, out.html):
        assert "您的投诉已受理" in part
        assert payload["reference"] in part
        assert "锦绣花园" in part
        assert "2026-11-24 15:30" in part
        assert "热线" in part
    assert "<" not in out.text


def test_acknowledgement_in_english(make_case_opened):
    payload = make_case_opened(estate={"name": "Jinxiu Garden"})
    out = templates.render("acknowledgement", "en", acknowledgement_context(payload))
    assert out.subject == f"[Jinxiu Garden] We have received your complaint - reference {payload['reference']}"
    assert "before 2026-11-24 15:30" in out.text
    assert "hotline" in out.html and "您" not in out.text


def test_deadline_shown_in_the_estates_own_zone(make_case_opened):
    payload = make_case_opened(estate={"timezone": "Asia/Urumqi"})  # UTC+6
    out = templates.render("acknowledgement", "zh_CN", acknowledgement_context(payload))
    assert "2026-11-24 13:30" in out.text


def test_without_a_deadline_says_as_soon_as_possible(make_case_opened):
    out = templates.render("acknowledgement", "zh_CN", acknowledgement_context(make_case_opened(deadlines=[])))
    assert "尽快与您联系" in out.text


def test_html_escapes_user_input_text_does_not(make_case_opened):
    payload = make_case_opened(description='<script>alert("x")</script> & more',
                               complainant={"name": "<b>王</b>"})
    out = templates.render("acknowledgement", "zh_CN", acknowledgement_context(payload))
    assert "<script>" not in out.html and "<b>王</b>" not in out.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in out.html
    assert '<script>alert("x")</script> & more' in out.text


def test_subject_is_one_line_even_if_data_has_newlines(make_case_opened):
    payload = make_case_opened(estate={"name": "锦绣\r\nBcc: evil@example.com"})
    out = templates.render("acknowledgement", "zh_CN", acknowledgement_context(payload))
    assert "\n" not in out.subject and "\r" not in out.subject


def test_unknown_locale_falls_back_to_chinese(make_case_opened):
    out = templates.render("acknowledgement", "fr", acknowledgement_context(make_case_opened()))
    assert "您的投诉已受理" in out.subject


def test_templates_are_sandboxed():
    from jinja2 import DictLoader
    from jinja2.exceptions import SecurityError
    import pytest

    env = templates.environment(DictLoader({"zh_CN/x/subject.txt": "{{ ''.__class__.__mro__ }}",
                                            "zh_CN/x/body.txt": "", "zh_CN/x/body.html": ""}))
    with pytest.raises(SecurityError):
        templates.render("x", "zh_CN", {}, env=env)
