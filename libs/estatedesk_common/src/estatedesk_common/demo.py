"""Demo tenant shared by every package's ``seed-demo`` (ids are derived, so the packages agree). DEMO ONLY."""
from __future__ import annotations

import uuid

_NS = uuid.UUID("6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70")


def demo_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))


DEMO_TENANT = {"id": demo_id("tenant", "demo"), "slug": "demo", "name": "Demo Property Group",
               "name_zh": "演示物业集团"}
DEMO_PASSWORD = "demo-password"  # demo data only; printed by `make run`

DEMO_REGIONS = [{"code": "EAST", "name": "华东区域"}]

DEMO_ESTATES = [
    {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST",
     "buildings": {"1栋": ["101", "102", "201", "202"], "2栋": ["101", "102", "201", "202"]}},
    {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "EAST",
     "buildings": {"A座": ["1001", "1002", "2001"]}},
    {"code": "DEMO-NEW", "name": "滨江新城（交房期）", "kind": "handover", "timezone": "Asia/Shanghai",
     "region": "EAST", "buildings": {"3栋": ["301", "302", "401"]}},
]

# username -> (display name, [(role, estate code or None for every estate)])
DEMO_USERS = {
    "admin@demo": ("集团管理员", [("group_admin", None)]),
    "hq@demo": ("总部运营", [("head_office", None)]),
    "manager@demo": ("项目经理 王", [("site_manager", "DEMO-RES"), ("site_manager", "DEMO-NEW")]),
    "supervisor@demo": ("客服主管 李", [("cs_supervisor", "DEMO-RES")]),
    "agent@demo": ("客服专员 张", [("agent", "DEMO-RES"), ("agent", "DEMO-OFFICE")]),
    "committee@demo": ("业委会 陈", [("committee_member", "DEMO-RES")]),
}

# A second group on the same platform, so tenant isolation can be seen (and is tested end to end).
OTHER_TENANT = {"id": demo_id("tenant", "other"), "slug": "other", "name": "Other Property Group",
                "name_zh": "示范第二物业集团"}
OTHER_ESTATES = [
    {"code": "OTHER-RES", "name": "翠湖苑", "kind": "residential", "timezone": "Asia/Shanghai", "region": None,
     "buildings": {"5栋": ["501", "502"]}},
]
OTHER_USERS = {"hq@other": ("第二集团总部", [("head_office", None)])}

# (tenant, regions, estates, users) for every demo group
DEMO_GROUPS = [
    (DEMO_TENANT, DEMO_REGIONS, DEMO_ESTATES, DEMO_USERS),
    (OTHER_TENANT, [], OTHER_ESTATES, OTHER_USERS),
]
