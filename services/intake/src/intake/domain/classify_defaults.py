"""Default classification data every tenant starts from (seed 003 categories; seed 002 severity scheme).

Tenants edit their own copies (tables ``classification_categories`` and ``classification_rules``); these
defaults apply to a tenant that has none, and ``seed-demo`` writes them for the demo tenants.
"""
from __future__ import annotations

# (key, zh-CN name, English name), in the order the console lists them
DEFAULT_CATEGORIES = (
    ("facilities_equipment", "设施设备", "Facilities & equipment"),
    ("sanitation", "环境卫生", "Sanitation"),
    ("security", "安全保障", "Security"),
    ("greening", "绿化", "Greening"),
    ("customer_service", "客户服务", "Customer service"),
    ("house_quality", "房屋质量", "House quality"),
    ("handover", "交房手续", "Handover"),
    ("municipal", "市政", "Municipal utilities"),
    ("suggestion", "建议", "Suggestion"),
)

# Lowest to highest (seed 002: 轻微 / 中度 / 重大). The labelled sample set uses these keys.
DEFAULT_SEVERITY_LEVELS = ("minor", "moderate", "major")

# category -> ((keyword, weight), ...). Substring matches on the complaint text; weight 1 = a hint,
# 2 = typical of the category, 3 = nearly decisive. A tenant rule with a large weight (say 10) overrides the model.
DEFAULT_RULES = {
    "facilities_equipment": (
        ("电梯", 2), ("困人", 3), ("水泵", 2), ("水压", 1), ("二次供水", 2), ("跳闸", 2), ("配电", 2),
        ("空调", 2), ("暖气", 2), ("供暖", 1), ("消防栓", 2), ("烟感", 2), ("喷淋", 2), ("门禁", 2),
        ("对讲", 2), ("道闸", 2), ("充电桩", 1), ("声控灯", 2), ("照明", 1), ("水箱", 1), ("新风", 2),
        ("排水泵", 2), ("水管", 1), ("电表箱", 2), ("应急灯", 2), ("报修", 1),
    ),
    "sanitation": (
        ("垃圾", 2), ("保洁", 2), ("清扫", 2), ("打扫", 2), ("臭", 1), ("狗屎", 3), ("粪便", 2), ("老鼠", 2),
        ("蟑螂", 2), ("消杀", 2), ("苍蝇", 2), ("蚊子", 1), ("污水", 1), ("卫生", 1), ("小广告", 2),
        ("消毒", 1), ("拖地", 2), ("脏", 1), ("异味", 1), ("化粪池", 2), ("清运", 2),
    ),
    "security": (
        ("保安", 1), ("被盗", 3), ("偷", 2), ("盗窃", 3), ("小偷", 3), ("监控", 1), ("巡逻", 2), ("外来人员", 2),
        ("陌生人", 2), ("登记", 1), ("消防通道", 2), ("占用车位", 2), ("乱停", 2), ("飞线", 2), ("高空抛物", 3),
        ("往下扔", 3), ("不拴绳", 2), ("咬伤", 2), ("打架", 3), ("车位", 1), ("安全隐患", 1), ("起火", 1),
    ),
    "greening": (
        ("绿化", 3), ("草坪", 2), ("树", 1), ("修剪", 2), ("花坛", 2), ("绿植", 2), ("浇水", 2), ("农药", 2),
        ("打药", 2), ("枯死", 2), ("除草", 2), ("杂草", 2), ("补种", 2), ("树枝", 2), ("落叶", 1), ("飘絮", 2),
        ("马蜂窝", 1), ("灌木", 2),
    ),
    "customer_service": (
        ("态度", 2), ("客服", 2), ("物业费", 2), ("收费", 1), ("没人接", 1), ("不回复", 2), ("推诿", 2),
        ("服务中心", 2), ("管家", 2), ("发票", 1), ("押金", 1), ("噪音", 1), ("邻居", 1), ("回访", 2),
        ("道歉", 2), ("不耐烦", 2), ("服务", 1),
    ),
    "house_quality": (
        ("裂缝", 3), ("开裂", 2), ("渗水", 2), ("防水", 2), ("空鼓", 3), ("墙面", 1), ("墙体", 2), ("返潮", 2),
        ("发霉", 1), ("脱落", 1), ("沉降", 3), ("开发商", 1), ("保修", 2), ("起皮", 2), ("变形", 1), ("漏水", 1),
        ("天花板", 1), ("外墙", 1), ("隔音", 2), ("甲醛", 2),
    ),
    "handover": (
        ("交房", 3), ("收房", 3), ("验房", 3), ("钥匙", 2), ("房产证", 3), ("不动产", 2), ("网签", 3),
        ("交付", 2), ("延期", 1), ("整改", 1), ("面积", 1), ("契税", 3), ("测绘", 2), ("入住手续", 3),
        ("合同", 1), ("样板间", 2),
    ),
    "municipal": (
        ("停水", 2), ("停电", 1), ("燃气", 2), ("煤气", 2), ("天然气", 2), ("自来水公司", 3), ("供电局", 3),
        ("供电公司", 3), ("市政", 3), ("马路", 2), ("道路", 1), ("路灯", 1), ("宽带", 2), ("信号", 2),
        ("运营商", 2), ("公交", 2), ("热力公司", 3), ("城管", 2), ("环保", 1), ("施工", 1), ("有线电视", 3),
        ("光纤", 2), ("下水道", 1),
    ),
    "suggestion": (
        ("建议", 3), ("希望", 2), ("能不能", 1), ("能否", 1), ("增设", 2), ("增加", 1), ("可以考虑", 2),
        ("方便", 1),
    ),
}

# Urgency hints push the suggested severity up: strong ones to the top of the scheme, weak ones towards it.
# (seed 000: water/power cut, safety hazard; people trapped, fire, theft, injury, media, group complaints)
STRONG_URGENCY_HINTS = (
    "电梯困人", "困人", "被困", "着火", "起火", "火灾", "失火", "火警", "冒烟", "燃气泄漏", "煤气味", "燃气味",
    "被盗", "盗窃", "入室", "人身", "受伤", "砸伤", "咬伤", "摔伤", "流血", "媒体", "记者", "曝光", "电视台",
    "群体", "集体", "联名", "上访", "维权", "几十户", "上百户", "几百户", "倒灌", "爆炸", "持刀",
)
WEAK_URGENCY_HINTS = ("漏水", "停电", "停水", "爆了", "爆裂", "塌", "坠", "危险", "安全隐患", "火", "盗")
