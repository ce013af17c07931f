"""The console's gettext catalogues: every page string is in them, translated to Chinese, and compiled at start."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from gateway import web

GATEWAY = Path(web.__file__).resolve().parents[2]
SOURCE = Path(web.__file__).resolve().parent


def _catalog(locale):
    with (SOURCE / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def _extracted() -> set[str]:
    method_map = [("src/gateway/**.py", "python"), ("src/gateway/templates/*.html", "jinja2")]
    options = {"src/gateway/templates/*.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    return {msg[2] for msg in extract_from_dir(str(GATEWAY), method_map, options, keywords=keywords)}


def test_every_page_string_is_in_the_catalogues_and_translated_to_chinese():
    wanted = _extracted()
    assert "Staff login" in wanted and "Choose the estate." in wanted  # extraction sees templates and code
    zh = _catalog("zh_CN")
    missing = sorted(w for w in wanted if w not in zh or not zh[w].string)
    assert missing == [], "run pybabel extract/update (see gateway/src/gateway/web.py) and translate these"
    assert set(m.id for m in _catalog("en") if m.id) >= wanted


def test_compiled_catalogues_are_reused_and_found_under_the_parsed_locale_name(tmp_path):
    first = web.compile_translations()
    assert web.compile_translations() == first
    for locale in ("zh_CN", "zh_Hans_CN", "en"):
        assert (Path(first) / locale / "LC_MESSAGES" / "messages.mo").is_file()


def test_a_changed_po_file_compiles_into_a_new_directory(tmp_path):
    source = tmp_path / "translations"
    (source / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    po = source / "zh_CN" / "LC_MESSAGES" / "messages.po"
    po.write_text('msgid "Home"\nmsgstr "首页"\n', encoding="utf-8")
    first = web.compile_translations(source)
    po.write_text('msgid "Home"\nmsgstr "主页"\n', encoding="utf-8")
    assert web.compile_translations(source) != first
