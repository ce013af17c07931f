"""The gateway's user-facing strings (zh-CN default, English second), registered with estatedesk_common.i18n.

Error messages are keyed ``error.<code>``; a service error whose code has a key here is shown in the
caller's language, otherwise the service's own message is kept.
"""
from __future__ import annotations

from estatedesk_common import i18n

MESSAGES = {
    # authentication
    "error.invalid_credentials": {"zh_CN": "用户名或密码错误", "en": "Wrong username or password"},
    "error.unauthenticated": {"zh_CN": "请先登录", "en": "Authentication required"},
    "error.token_expired": {"zh_CN": "登录已过期，请重新登录", "en": "The access token has expired"},
    "error.invalid_token": {"zh_CN": "访问令牌无效", "en": "The access token is invalid"},
    "error.account_locked": {"zh_CN": "登录失败次数过多，账户已锁定 {minutes} 分钟",
                             "en": "Too many failed logins: the account is locked for {minutes} minutes"},
    "error.totp_required": {"zh_CN": "请输入身份验证器中的动态验证码（或恢复码）",
                            "en": "Enter the code from your authenticator app (or a recovery code)"},
    "error.too_many_requests": {"zh_CN": "请求过于频繁，请稍后再试", "en": "Too many requests, please retry later"},
    "error.forbidden": {"zh_CN": "没有权限执行此操作", "en": "You are not allowed to do this"},
    "error.tenant_required": {"zh_CN": "缺少租户信息，请求被拒绝", "en": "No tenant in the request"},
    # request shape
    "error.bad_request": {"zh_CN": "请求无效", "en": "Bad request"},
    "error.malformed_json": {"zh_CN": "请求体不是有效的 JSON", "en": "The request body is not valid JSON"},
    "error.unsupported_media_type": {"zh_CN": "请求体必须是 application/json",
                                     "en": "The request body must be application/json"},
    "error.payload_too_large": {"zh_CN": "请求体过大（上限 1 MiB）",
                                "en": "The request body is too large (limit 1 MiB)"},
    "error.validation_failed": {"zh_CN": "提交的数据有误：{field}", "en": "Invalid data: {field}"},
    "error.invalid_sort": {"zh_CN": "不支持的排序字段或排序方向（见 details.allowed）",
                           "en": "Unsupported sort key or order (see details.allowed)"},
    "error.invalid_filter": {"zh_CN": "不支持的筛选值：{field}（见 details.allowed）",
                             "en": "Unsupported filter value: {field} (see details.allowed)"},
    "error.not_found": {"zh_CN": "找不到请求的资源", "en": "Not found"},
    "error.method_not_allowed": {"zh_CN": "不支持该请求方法", "en": "Method not allowed"},
    "error.conflict": {"zh_CN": "与现有数据冲突", "en": "Conflicts with existing data"},
    # services
    "error.estate_not_found": {"zh_CN": "找不到该项目（小区）", "en": "Unknown estate"},
    "error.estate_exists": {"zh_CN": "已有相同编号的项目", "en": "An estate with this code exists already"},
    "error.estate_inactive": {"zh_CN": "该项目已停用，不再受理新投诉", "en": "This estate is no longer active"},
    "error.region_not_found": {"zh_CN": "找不到该区域", "en": "Unknown region"},
    "error.region_exists": {"zh_CN": "已有相同编号的区域", "en": "A region with this code exists already"},
    "error.region_in_use": {"zh_CN": "该区域内还有启用的项目，不能停用（见 details.estates）",
                            "en": "Active estates are still in this region (see details.estates)"},
    "error.building_not_found": {"zh_CN": "找不到该楼栋", "en": "Unknown building"},
    "error.building_exists": {"zh_CN": "该项目已有相同编号的楼栋", "en": "A building with this code exists already"},
    "error.building_unknown": {"zh_CN": "该项目没有这个楼栋：请从项目登记的楼栋中选择（见 details.buildings），或不填",
                               "en": "This estate has no such building: give one of its registered buildings "
                                     "(see details.buildings), or none"},
    "error.unit_not_found": {"zh_CN": "找不到该房号", "en": "Unknown unit"},
    "error.unit_exists": {"zh_CN": "该楼栋已有这个房号", "en": "This unit exists already in the building"},
    "error.complaint_not_found": {"zh_CN": "找不到该投诉", "en": "Complaint not found"},
    "error.case_not_found": {"zh_CN": "找不到该工单", "en": "Case not found"},
    "error.call_not_found": {"zh_CN": "找不到该来电记录", "en": "Call not found"},
    "error.service_unavailable": {"zh_CN": "服务暂时不可用，请稍后重试",
                                  "en": "The service is temporarily unavailable, please retry shortly"},
    "error.internal_error": {"zh_CN": "系统内部错误（请求编号 {request_id}）",
                             "en": "Internal error (request id {request_id})"},
    # reports
    "error.date_range_reversed": {"zh_CN": "开始日期不能晚于结束日期", "en": "'from' must not be after 'to'"},
    "error.invalid_date": {"zh_CN": "日期格式应为 YYYY-MM-DD", "en": "Dates must be YYYY-MM-DD"},
    # WeChat official-account callback (/channels/wechat/<slug>)
    "error.wechat_signature_invalid": {"zh_CN": "微信签名校验失败", "en": "The WeChat signature is missing or wrong"},
    "error.wechat_timestamp_stale": {"zh_CN": "微信请求的时间戳已过期", "en": "The WeChat timestamp is too old"},
    "error.wechat_malformed_xml": {"zh_CN": "消息不是有效的 XML", "en": "The message is not well-formed XML"},
    "error.wechat_forbidden_xml": {"zh_CN": "消息含有不允许的 XML 内容（DTD/实体）",
                                   "en": "The message contains forbidden XML (DTD or entities)"},
    "error.wechat_malformed_message": {"zh_CN": "不是有效的微信消息", "en": "Not a valid WeChat message"},
    "error.wechat_decrypt_failed": {"zh_CN": "微信消息解密失败", "en": "The WeChat message cannot be decrypted"},
    "error.wechat_not_configured": {"zh_CN": "该租户未开通微信公众号", "en": "No WeChat account is set up here"},
}


def register() -> None:
    i18n.register(MESSAGES)


def has(key: str) -> bool:
    return key in MESSAGES or i18n.t(key) != key


register()
