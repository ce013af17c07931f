"""Open311 GeoReport v2 output: JSON or XML of the same documents, and the spec's error list.

XML is built with ``xml.etree.ElementTree`` (element names are ours, never the client's; text is escaped by
the serializer) after removing the characters XML 1.0 cannot carry (control characters, lone surrogates), so
no client input can break or inject markup. ``None`` is an empty element in XML and ``null`` in JSON, as the
spec's examples show. Every response is UTF-8 with the XML declaration the spec asks for.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from flask import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, value, item_tag: str | None = None) -> None:
    """``value`` under ``parent``: dicts become child elements, lists repeat ``item_tag``."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = ET.SubElement(parent, key)
            _fill(child, item, ITEM_TAGS.get(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _fill(ET.SubElement(parent, item_tag or "item"), item)
    elif value is not None:
        parent.text = xml_text(value)


# container element -> the element each of its list items gets (spec: <attributes><attribute>, ...)
ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def to_xml(root_tag: str, value, item_tag: str | None = None) -> bytes:
    root = ET.Element(root_tag)
    _fill(root, value, item_tag)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def render(fmt: str, value, root_tag: str, item_tag: str | None = None, status: int = 200,
           headers: dict | None = None) -> Response:
    """``value`` as JSON, or as XML under ``<root_tag>`` (list items as ``<item_tag>``)."""
    if fmt == "xml":
        body = to_xml(root_tag, value, item_tag)
    else:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    response = Response(body, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def error(fmt: str, status: int, description: str, headers: dict | None = None) -> Response:
    """The spec's error document: ``[{"code": status, "description": ...}]`` / ``<errors><error>...``."""
    return render(fmt, [{"code": status, "description": description}], "errors", "error", status, headers)
