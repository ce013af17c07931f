"""``python -m workflow.sla preview --policy FILE --received-at ISO8601 --severity KEY [--category KEY]``.

Prints ``{"policy_version", "timezone", "severity", "category", "stages": [{"name", "due_at", "explanation",
"explanation_en"}]}`` (``--details`` adds the structured explanation). ``--policy`` may also name a preset
(``seed002``, ``seed001``, ``seed000``). Exit status 2 with the problems (and their lines) on stderr for a policy
that does not validate or a date the calendar cannot count.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from estatedesk_common.errors import EstateDeskError

from . import policies, presets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow.sla")
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("preview", help="deadlines for a complaint received at a given time")
    pre.add_argument("--policy", required=True, help="policy file (YAML or JSON) or a preset name")
    pre.add_argument("--received-at", required=True, help="ISO 8601 with offset, e.g. 2026-02-13T16:00:00+08:00")
    pre.add_argument("--severity", required=True)
    pre.add_argument("--category")
    pre.add_argument("--channel", help="include stages limited to this channel (e.g. committee)")
    pre.add_argument("--details", action="store_true", help="include the structured explanation")
    check = sub.add_parser("validate", help="check a policy file; problems are printed with their lines")
    check.add_argument("--policy", required=True)
    check.add_argument("--partial", action="store_true", help="a region/estate override, not a full policy")
    args = parser.parse_args(argv)
    try:
        text = _read(args.policy)
        if args.command == "validate":
            with policies.errors_as_validation():
                from .domain import sla
                sla.parse(text, partial=args.partial)
            print("ok")
            return 0
        result = policies.preview(None, None, text, args.received_at, args.severity, args.category,
                                  channel=args.channel)
    except EstateDeskError as exc:
        print(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot read policy: {exc}", file=sys.stderr)
        return 2
    if not args.details:
        for stage in result["stages"]:
            stage.pop("details")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _read(name: str) -> str:
    if not os.path.exists(name) and name in presets.NAMES:
        return presets.text(name)
    with open(name, encoding="utf-8") as f:
        return f.read()


if __name__ == "__main__":
    sys.exit(main())
