"""What an import can fill, per target, and which column headers mean which field.

`suggest_mapping(target, headers)` proposes a field for every header from the
synonyms below (Simplified, Traditional and English; compared half-width, lower
case, without spaces or punctuation, Traditional folded to Simplified), falling
back to a fuzzy match (rapidfuzz) for near spellings. A mapping is a dict
header → field key ("" = ignore the column).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz, process

from guanxi.parties.search import to_simplified


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: object  # lazy translation
    required: bool = False
    synonyms: tuple[str, ...] = ()


CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", _("Name"), True, ("客户名称", "客户", "公司名称", "公司", "单位名称", "单位",
                                        "企业名称", "名称", "客户全称", "customer", "company",
                                        "company name", "customer name", "name", "account",
                                        "account name", "organisation", "organization")),
    FieldSpec("kind", _("Type"), False, ("客户类型", "类型", "type", "customer type", "kind")),
    FieldSpec("short_name", _("Short name"), False, ("简称", "客户简称", "short name", "alias")),
    FieldSpec("external_id", _("External id"), False, ("客户编号", "客户编码", "编号", "编码", "客户代码",
                                                       "external id", "id", "customer id",
                                                       "customer no", "code", "erp id")),
    FieldSpec("phone", _("Phone"), False, ("电话", "手机", "手机号", "手机号码", "联系电话", "电话号码",
                                          "座机", "固话", "phone", "telephone", "tel", "mobile",
                                          "phone number", "cell")),
    FieldSpec("phone_ext", _("Extension"), False, ("分机", "分机号", "extension", "ext")),
    FieldSpec("email", _("E-mail"), False, ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail",
                                           "mail", "email address")),
    FieldSpec("website", _("Website"), False, ("网站", "网址", "主页", "website", "web", "url",
                                              "homepage")),
    FieldSpec("country", _("Country"), False, ("国家", "国家地区", "country")),
    FieldSpec("province", _("Province"), False, ("省", "省份", "省市", "province", "state")),
    FieldSpec("city", _("City"), False, ("城市", "市", "所在城市", "所在地", "city")),
    FieldSpec("district", _("District"), False, ("区", "区县", "县区", "区域", "district", "county")),
    FieldSpec("street", _("Street address"), False, ("地址", "详细地址", "街道地址", "公司地址",
                                                     "通讯地址", "address", "street", "company address",
                                                     "street address")),
    FieldSpec("postal_code", _("Postal code"), False, ("邮编", "邮政编码", "postal code", "zip",
                                                      "zip code", "postcode")),
    FieldSpec("industry", _("Industry"), False, ("行业", "所属行业", "industry", "sector")),
    FieldSpec("source", _("Source channel"), False, ("来源", "客户来源", "渠道", "来源渠道", "source",
                                                     "lead source", "channel")),
    FieldSpec("owner", _("Account manager"), False, ("负责人", "业务员", "销售", "客户经理", "跟进人",
                                                     "所属销售", "owner", "account manager",
                                                     "sales rep", "salesperson")),
    FieldSpec("team", _("Region / office"), False, ("部门", "所属部门", "办事处", "区域团队", "团队",
                                                    "team", "office", "region")),
    FieldSpec("tier", _("Tier"), False, ("客户等级", "等级", "级别", "客户级别", "分级", "tier",
                                        "grade", "level", "class", "abc")),
    FieldSpec("stage", _("Life-cycle stage"), False, ("阶段", "客户阶段", "状态", "客户状态",
                                                      "stage", "status", "lifecycle stage")),
    FieldSpec("credit_days", _("Payment terms (days)"), False, ("账期", "账期天数", "付款期限",
                                                                "payment terms", "credit days",
                                                                "terms")),
    FieldSpec("credit_limit", _("Credit limit"), False, ("信用额度", "授信额度", "credit limit")),
    FieldSpec("tags", _("Tags"), False, ("标签", "tags", "tag", "labels")),
    FieldSpec("notes", _("Notes"), False, ("备注", "说明", "notes", "note", "remarks",
                                          "comments", "description")),
    FieldSpec("consent_email", _("May e-mail"), False, ("允许邮件", "may email", "email opt in")),
    FieldSpec("consent_sms", _("May send SMS"), False, ("允许短信", "may sms", "sms opt in")),
    FieldSpec("consent_phone", _("May phone"), False, ("允许电话", "may phone")),
    FieldSpec("contact_name", _("Contact name"), False, ("联系人", "联系人姓名", "姓名", "contact",
                                                         "contact name", "contact person")),
    FieldSpec("contact_title", _("Contact job title"), False, ("职务", "职位", "联系人职务",
                                                               "job title", "title",
                                                               "position")),
    FieldSpec("contact_mobile", _("Contact mobile"), False, ("联系人手机", "联系人电话",
                                                             "contact mobile", "contact phone")),
    FieldSpec("contact_email", _("Contact e-mail"), False, ("联系人邮箱", "contact email")),
)

_CUSTOMER_REF = (
    FieldSpec("customer_external_id", _("Customer external id"), False,
              ("客户编号", "客户编码", "客户代码", "customer id", "customer no",
               "customer external id")),
    FieldSpec("customer_name", _("Customer name"), False,
              ("客户名称", "客户", "公司名称", "公司", "单位名称", "单位", "customer", "company",
               "company name", "customer name", "account")),
    FieldSpec("customer_phone", _("Customer phone"), False, ("客户电话", "公司电话", "customer phone",
                                                             "company phone")),
)

CONTACT_FIELDS: tuple[FieldSpec, ...] = (
    *_CUSTOMER_REF,
    FieldSpec("name", _("Name"), True, ("联系人", "姓名", "联系人姓名", "名字", "name", "contact",
                                        "contact name", "full name")),
    FieldSpec("title", _("Job title"), False, ("职务", "职位", "头衔", "title", "job title",
                                               "position")),
    FieldSpec("department", _("Department"), False, ("部门", "department", "dept")),
    FieldSpec("mobile", _("Mobile"), False, ("手机", "手机号", "手机号码", "移动电话", "mobile",
                                            "cell", "mobile phone")),
    FieldSpec("phone", _("Office phone"), False, ("电话", "办公电话", "座机", "固话", "phone",
                                                 "office phone", "work phone", "telephone")),
    FieldSpec("phone_ext", _("Extension"), False, ("分机", "分机号", "extension", "ext")),
    FieldSpec("email", _("E-mail"), False, ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail",
                                           "mail")),
    FieldSpec("wechat", _("WeChat"), False, ("微信", "微信号", "wechat", "weixin")),
    FieldSpec("is_primary", _("Primary contact"), False, ("主要联系人", "首要联系人", "primary",
                                                          "primary contact")),
    FieldSpec("notes", _("Notes"), False, ("备注", "说明", "notes", "note", "remarks")),
)

INTERACTION_FIELDS: tuple[FieldSpec, ...] = (
    *_CUSTOMER_REF,
    FieldSpec("occurred_at", _("When"), True, ("时间", "日期", "跟进时间", "拜访时间", "联系时间",
                                              "日期时间", "date", "time", "when", "occurred at",
                                              "datetime")),
    FieldSpec("kind", _("Kind"), False, ("类型", "方式", "跟进方式", "联系方式", "kind", "type",
                                        "activity type")),
    FieldSpec("direction", _("Direction"), False, ("方向", "呼入呼出", "direction")),
    FieldSpec("subject", _("Subject"), False, ("主题", "标题", "事由", "subject", "title", "topic")),
    FieldSpec("body", _("Details"), False, ("内容", "详情", "跟进内容", "记录", "摘要", "body",
                                           "details", "content", "notes", "summary")),
    FieldSpec("outcome", _("Outcome"), False, ("结果", "跟进结果", "outcome", "result")),
    FieldSpec("duration_minutes", _("Duration (minutes)"), False, ("时长", "时长分钟", "通话时长",
                                                                   "duration", "minutes")),
    FieldSpec("next_step", _("Next step"), False, ("下一步", "下一步计划", "next step", "next")),
    FieldSpec("follow_up_on", _("Follow up on"), False, ("下次跟进", "下次跟进日期", "跟进日期",
                                                         "follow up", "follow up on",
                                                         "follow-up date")),
    FieldSpec("contact_name", _("Contact name"), False, ("联系人", "contact", "contact name")),
    FieldSpec("created_by", _("Logged by"), False, ("记录人", "跟进人", "负责人", "业务员",
                                                    "logged by", "created by", "owner", "user")),
)

LEAD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("company", _("Company"), False, ("公司", "公司名称", "客户名称", "客户", "单位",
                                              "单位名称", "企业名称", "company", "company name",
                                              "customer", "organisation", "organization")),
    FieldSpec("name", _("Contact name"), False, ("联系人", "姓名", "联系人姓名", "名字", "name",
                                                 "contact", "contact name", "full name")),
    FieldSpec("title", _("Job title"), False, ("职务", "职位", "头衔", "title", "job title",
                                               "position")),
    FieldSpec("phone", _("Phone"), False, ("电话", "手机", "手机号", "手机号码", "联系电话",
                                          "电话号码", "phone", "mobile", "tel", "telephone")),
    FieldSpec("email", _("E-mail"), False, ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail",
                                           "mail")),
    FieldSpec("wechat", _("WeChat"), False, ("微信", "微信号", "wechat", "weixin")),
    FieldSpec("province", _("Province"), False, ("省", "省份", "province", "state")),
    FieldSpec("city", _("City"), False, ("城市", "市", "所在城市", "city")),
    FieldSpec("address", _("Address"), False, ("地址", "详细地址", "公司地址", "address",
                                              "street")),
    FieldSpec("website", _("Website"), False, ("网站", "网址", "website", "web", "url")),
    FieldSpec("industry", _("Industry"), False, ("行业", "所属行业", "industry", "sector")),
    FieldSpec("product_line", _("Product line code"), False, ("产品线", "产品线代码", "产品",
                                                              "product line", "product line code",
                                                              "product")),
    FieldSpec("source", _("Source channel"), False, ("来源", "线索来源", "渠道", "来源渠道", "source",
                                                     "lead source", "channel")),
    FieldSpec("campaign", _("Campaign"), False, ("活动", "市场活动", "推广活动", "campaign")),
    FieldSpec("description", _("Request / notes"), False, ("需求", "需求描述", "备注", "说明",
                                                           "描述", "description", "notes",
                                                           "request", "message")),
    FieldSpec("estimated_amount", _("Estimated amount"), False, ("预计金额", "预估金额", "金额",
                                                                 "预算", "estimated amount",
                                                                 "amount", "budget")),
    FieldSpec("owner", _("Owner"), False, ("负责人", "业务员", "销售", "跟进人", "owner",
                                           "sales rep", "owner username", "username")),
    FieldSpec("external_id", _("External id"), False, ("编号", "线索编号", "线索id", "external id",
                                                       "id", "lead id")),
)

TARGET_FIELDS = {
    "customers": CUSTOMER_FIELDS,
    "contacts": CONTACT_FIELDS,
    "interactions": INTERACTION_FIELDS,
    "leads": LEAD_FIELDS,
}
TARGET_LABELS = {
    "customers": _("Customers"),
    "contacts": _("Contacts"),
    "interactions": _("Interactions"),
    "leads": _("Leads"),
}

# The ERP mirror (issue 5): contracts, orders, deliveries, invoices, payments.
from .commerce import FIELDS as _ERP_FIELDS
from .commerce import LABELS as _ERP_LABELS

TARGET_FIELDS.update({t: tuple(FieldSpec(*spec) for spec in specs)
                      for t, specs in _ERP_FIELDS.items()})
TARGET_LABELS.update(_ERP_LABELS)

_NOISE = re.compile(r"[\s_\-—:：/\\()（）\[\]【】*#.。·]+")


def header_key(header: str) -> str:
    text = unicodedata.normalize("NFKC", header or "").lower()
    return to_simplified(_NOISE.sub("", text))


def fields_for(target: str, custom_fields=None) -> list[FieldSpec]:
    """The target's fields; customers also get one `custom.<key>` per custom field."""
    fields = list(TARGET_FIELDS[target])
    if target == "customers":
        if custom_fields is None:
            from guanxi.parties.models import CustomFieldDef

            custom_fields = CustomFieldDef.objects.all()
        for d in custom_fields:
            fields.append(FieldSpec(f"custom.{d.key}", d.label, False, (d.label, d.key)))
    return fields


def suggest_mapping(target: str, headers: list[str], custom_fields=None) -> dict[str, str]:
    """header → field key for every header ("" when nothing fits); each field used once."""
    fields = fields_for(target, custom_fields)
    synonyms: dict[str, str] = {}
    for f in fields:
        for s in (*f.synonyms, f.key, str(f.label)):
            synonyms.setdefault(header_key(s), f.key)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    pending = []
    for h in headers:
        key = synonyms.get(header_key(h))
        if key and key not in used:
            mapping[h] = key
            used.add(key)
        else:
            mapping[h] = ""
            pending.append(h)
    choices = list(synonyms)
    for h in pending:
        hk = header_key(h)
        if len(hk) < 2:
            continue
        match = process.extractOne(hk, choices, scorer=fuzz.ratio, score_cutoff=85)
        if match and synonyms[match[0]] not in used:
            mapping[h] = synonyms[match[0]]
            used.add(mapping[h])
    return mapping


def validate_mapping(target: str, mapping: dict[str, str], custom_fields=None) -> list[str]:
    """Problems with a mapping: unknown fields, a field mapped twice, a required one missing."""
    known = {f.key: f for f in fields_for(target, custom_fields)}
    problems: list[str] = []
    seen: dict[str, str] = {}
    for header, key in mapping.items():
        if not key:
            continue
        if key not in known:
            problems.append(str(_("Column “%(column)s”: there is no field “%(field)s”.")
                                % {"column": header, "field": key}))
        elif key in seen:
            problems.append(str(_("Columns “%(a)s” and “%(b)s” both fill “%(field)s”.")
                                % {"a": seen[key], "b": header, "field": known[key].label}))
        else:
            seen[key] = header
    for f in known.values():
        if f.required and f.key not in seen:
            problems.append(str(_("No column fills the required field “%(field)s”.")
                                % {"field": f.label}))
    if target in ("contacts", "interactions") and not any(
            k in seen for k in ("customer_external_id", "customer_name", "customer_phone")):
        problems.append(str(_("No column says which customer a row belongs to (customer name, "
                              "customer external id or customer phone).")))
    return problems
