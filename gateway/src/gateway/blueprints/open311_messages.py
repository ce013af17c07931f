"""Texts of the Open311 channel (error descriptions, status notes, notices): zh-CN by default, English when
``Accept-Language`` prefers it (``estatedesk_common.i18n``)."""
from __future__ import annotations

from estatedesk_common import i18n

MESSAGES = {
    "open311.invalid_api_key": {"zh_CN": "API 密钥无效或已撤销，无法处理请求（api_key）",
                                "en": "Invalid api_key received -- can't proceed with the request."},
    "open311.missing": {"zh_CN": "缺少参数 {field}", "en": "{field} was not provided"},
    "open311.invalid": {"zh_CN": "参数 {field} 的值无效", "en": "{field} is not valid"},
    "open311.too_long": {"zh_CN": "参数 {field} 过长（上限 {limit} 个字符）",
                         "en": "{field} is too long (at most {limit} characters)"},
    "open311.too_many_attributes": {"zh_CN": "attribute 参数过多（上限 {limit} 个）",
                                    "en": "Too many attribute parameters (at most {limit})"},
    "open311.location_required": {"zh_CN": "请提供位置：lat 与 long、address_string 或 address_id",
                                  "en": "A location is required: lat and long, address_string or address_id"},
    "open311.contact_required": {
        "zh_CN": "请提供 phone 或 email：物业须对每一件投诉回访业主，暂不受理匿名投诉",
        "en": "phone or email is required: every complaint is called back, so anonymous requests are not accepted"},
    "open311.jurisdiction_not_found": {"zh_CN": "jurisdiction_id {value} 不存在",
                                       "en": "jurisdiction_id {value} not found"},
    "open311.service_not_found": {"zh_CN": "service_code {value} 不存在", "en": "service_code {value} not found"},
    "open311.request_not_found": {"zh_CN": "找不到服务请求 {value}", "en": "Service request {value} not found"},
    "open311.token_not_found": {"zh_CN": "找不到令牌 {value}", "en": "Token {value} not found"},
    "open311.format": {"zh_CN": "不支持的格式 {value}，请用 json 或 xml",
                       "en": "Unsupported format {value}: use json or xml"},
    "open311.dates_reversed": {"zh_CN": "end_date 不能早于 start_date", "en": "end_date is before start_date"},
    "open311.window_too_long": {"zh_CN": "start_date 与 end_date 相隔不能超过 {days} 天",
                                "en": "start_date and end_date may not span more than {days} days"},
    "open311.too_many_ids": {"zh_CN": "service_request_id 最多 {limit} 个",
                             "en": "At most {limit} service_request_id"},
    "open311.unavailable": {"zh_CN": "服务暂时不可用，请稍后重试",
                            "en": "Service temporarily unavailable, retry later"},
    "open311.internal": {"zh_CN": "系统内部错误（请求编号 {request_id}）",
                         "en": "Internal error (request id {request_id})"},
    "open311.method": {"zh_CN": "不支持该请求方法", "en": "Method not allowed"},
    "open311.agency": {"zh_CN": "{estate} 物业服务中心", "en": "{estate} property service centre"},
    "open311.notice.accepted": {"zh_CN": "已受理，编号 {reference}。处理进度可凭此编号查询。",
                                "en": "Received as {reference}; use it to follow the request."},
    "open311.notice.expected": {"zh_CN": "预计于 {at} 前处理完毕", "en": "Expected to be resolved by {at}"},
    "open311.status.received": {"zh_CN": "已受理，正在分派", "en": "Received, being routed"},
    "open311.status.open": {"zh_CN": "已受理，正在分派", "en": "Received, being routed"},
    "open311.status.assigned": {"zh_CN": "已派单处理", "en": "Assigned"},
    "open311.status.contacted": {"zh_CN": "已联系投诉人", "en": "The complainant was contacted"},
    "open311.status.in_progress": {"zh_CN": "处理中", "en": "In progress"},
    "open311.status.resolved": {"zh_CN": "已处理完毕，待回访确认",
                                "en": "Resolved, awaiting the owner's confirmation"},
    "open311.status.callback": {"zh_CN": "已处理完毕，回访中", "en": "Resolved, calling back"},
    "open311.status.closed": {"zh_CN": "已结案", "en": "Closed"},
    "open311.status.cancelled": {"zh_CN": "已撤销", "en": "Cancelled"},
    "open311.discovery.contact": {"zh_CN": "请向您的物业集团申请 API 密钥",
                                  "en": "Ask your property-management group for an API key"},
}

i18n.register(MESSAGES)
