"""Reading a policy file (YAML or JSON) into plain data while remembering each value's line.

JSON is read by the YAML parser too, so both formats get line numbers. Scalars YAML 1.1 would turn into
base-60 integers (``13:30``) stay strings; duplicate keys are an error rather than a silent overwrite.
"""
from __future__ import annotations

import datetime as dt

import yaml

from .errors import PolicyInvalid


def path_str(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_text(text: str) -> tuple[object, dict]:
    """(data, {path tuple: 1-based line}); ``PolicyInvalid`` for text that does not parse."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            lines: dict = {}
            data = _walk(loader, node, (), lines) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyInvalid([{"path": "", "line": mark.line + 1 if mark else None,
                              "problem": f"not valid YAML/JSON: {exc.problem or exc.context}"}]) from None
    except yaml.YAMLError as exc:
        raise PolicyInvalid([{"path": "", "line": None, "problem": f"not valid YAML/JSON: {exc}"}]) from None
    return data, lines


def _walk(loader, node, path: tuple, lines: dict):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = key_node.value if not isinstance(key, (str, int)) else key
            key = str(key)
            if key in out:
                raise PolicyInvalid([{"path": path_str(path + (key,)), "line": key_node.start_mark.line + 1,
                                      "problem": f"duplicate key {key!r}"}])
            out[key] = _walk(loader, value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, path + (i,), lines) for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and ":" in node.value:
        return node.value  # "13:30" is a time of day, not 810 in base 60
    if isinstance(value, (dt.date, dt.datetime)):
        return node.value  # unquoted 2026-12-31 stays text, so documents are plain JSON
    return value
