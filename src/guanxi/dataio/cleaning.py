"""Turning a row of text cells into field values, or saying exactly what is wrong.

Each `clean_*` function takes {field key: cell text} (only mapped, non-empty cells)
and returns (values, errors) where errors are (field key, message). Lookups of
users, teams, industries, tiers and stages accept what people write in either
script or in English ("张伟" or "zhangwei", "A类", "成交客户", "customer").
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.accounts.models import Team, User
from guanxi.parties.custom_fields import clean_value
from guanxi.parties.models import CustomerKind, CustomFieldDef, Industry, SourceChannel, Stage
from guanxi.parties.normalize import normalize_email, normalize_phone, to_halfwidth
from guanxi.parties.search import to_simplified

TRUE = {"1", "true", "yes", "y", "on", "是", "有", "√", "✓", "允许", "同意", "x"}
FALSE = {"0", "false", "no", "n", "off", "否", "无", "無", "×", "不允许", "拒绝", ""}
_SEPARATORS = re.compile(r"[\s\-().]")
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_ANY = re.compile(_CN.general_desc.national_number_pattern)
_CN_MOBILE = re.compile(_CN.mobile.national_number_pattern)
_CN_FIXED = re.compile(_CN.fixed_line.national_number_pattern)


def _cn_national(digits: str) -> str:
    """The national number of a plainly written Chinese number, or "" when unsure."""
    if digits.startswith("+86"):
        return digits[3:]
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    if digits.startswith("0") and not digits.startswith("00"):
        return digits[1:]  # the trunk prefix of a landline: 023 6532 1234
    if digits.startswith("1") and len(digits) == 11:
        return digits
    return ""


def phone(raw: str) -> tuple[str, str]:
    """(E.164, extension), like normalize.normalize_phone, with a fast path.

    A plain Chinese mobile or landline (digits and separators only) is checked with
    phonenumbers' own CN patterns (general, mobile, fixed line) compiled once, which
    answers what `is_valid_number` answers for those numbers at a fraction of the cost
    (tests compare the two); anything else — extensions, foreign numbers, letters —
    goes through phonenumbers itself.
    """
    digits = _SEPARATORS.sub("", raw)
    national = _cn_national(digits)
    if national.isdigit() and _CN_ANY.fullmatch(national) and (
            _CN_MOBILE.fullmatch(national) or _CN_FIXED.fullmatch(national)):
        return "+86" + national, ""
    return normalize_phone(raw)


def boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": raw})


def integer(raw: str, minimum: int = 0) -> int:
    text = raw.replace(",", "").replace("天", "").replace("days", "").strip()
    try:
        value = int(Decimal(text))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("“%(value)s” is not a whole number.") % {"value": raw}) from exc
    if value < minimum:
        raise ValidationError(_("“%(value)s” is below %(min)s.") % {"value": raw, "min": minimum})
    return value


def money(raw: str) -> Decimal:
    text = raw.replace(",", "").replace("¥", "").replace("元", "").replace("RMB", "").strip()
    multiplier = Decimal(1)
    if text.endswith("万"):
        text, multiplier = text[:-1], Decimal(10_000)
    try:
        value = (Decimal(text) * multiplier).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": raw}) from exc
    if value < 0 or value >= Decimal("1e12"):
        raise ValidationError(_("“%(value)s” is out of range.") % {"value": raw})
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%d/%m/%Y")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M",
                     "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                     "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M")


def date(raw: str) -> dt.date:
    text = raw.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime(raw).date()
    except ValidationError:
        pass
    raise ValidationError(_("“%(value)s” is not a date (e.g. 2026-03-31).") % {"value": raw})


def datetime(raw: str) -> dt.datetime:
    text = raw.strip()
    for fmt in _DATETIME_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    for fmt in _DATE_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(text, fmt).replace(hour=9))
        except ValueError:
            continue
    try:
        value = dt.datetime.fromisoformat(text)
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    except ValueError as exc:
        raise ValidationError(
            _("“%(value)s” is not a date and time (e.g. 2026-03-31 14:30).") % {"value": raw}
        ) from exc


def _fold(text: str) -> str:
    return to_simplified(to_halfwidth(text).lower()).replace(" ", "")


def _choice_map(choices, extra: dict[str, str] | None = None) -> dict[str, str]:
    """value/label (in every language) → value."""
    out: dict[str, str] = {}
    for value, label in choices:
        out[_fold(str(value))] = value
        for lang in ("zh-hans", "zh-hant", "en"):
            with override(lang):
                out.setdefault(_fold(str(label)), value)
    for k, v in (extra or {}).items():
        out[_fold(k)] = v
    return out


class Lookups:
    """Everything a row may refer to, loaded once per import."""

    def __init__(self) -> None:
        self.users: dict[str, int] = {}
        self.user_team: dict[int, int | None] = {}
        for u in User.objects.filter(is_active=True).only(
                "id", "username", "display_name", "first_name", "last_name", "email", "team_id"):
            self.user_team[u.pk] = u.team_id
            for name in (u.username, u.display_name, u.email,
                         f"{u.last_name}{u.first_name}", f"{u.first_name} {u.last_name}"):
                if name and name.strip():
                    self.users.setdefault(_fold(name), u.pk)
        self.teams = {_fold(t.name): t.pk for t in Team.objects.all()}
        self.industries: dict[str, int] = {}
        for i in Industry.objects.all():
            self.industries[_fold(i.code)] = i.pk
            self.industries[_fold(i.name)] = i.pk
            try:
                from guanxi.parties.packs import industry_label

                for lang in ("zh-hans", "zh-hant", "en"):
                    with override(lang):
                        self.industries.setdefault(_fold(str(industry_label(i))), i.pk)
            except Exception:  # noqa: BLE001 - labels are a convenience
                pass
        self.stages = _choice_map(Stage.choices, {"成交": "customer", "成交客户": "customer",
                                                  "潜在客户": "prospect", "意向客户": "lead",
                                                  "流失": "churned", "忠诚客户": "loyal"})
        self.sources = _choice_map(SourceChannel.choices, {"展会": "exhibition", "转介绍": "referral",
                                                           "介绍": "referral", "网站": "website",
                                                           "广告": "advertising", "电话": "cold_call",
                                                           "招标": "tender", "代理商": "partner"})
        self.kinds = _choice_map(CustomerKind.choices, {
            "个人": "person", "自然人": "person", "person": "person", "individual": "person",
            "企业": "org", "公司": "org", "单位": "org", "company": "org", "organization": "org",
            "org": "org", "机构": "org"})
        self.custom = {d.key: d for d in CustomFieldDef.objects.all()}
        self._interaction_maps: dict[str, dict[str, str]] | None = None

    def interaction_maps(self) -> dict[str, dict[str, str]]:
        """Kind, direction, channel and outcome by value or label, built once per import."""
        if self._interaction_maps is None:
            from guanxi.activities.models import Channel, Direction, InteractionKind, Outcome

            self._interaction_maps = {
                "kind": _choice_map(InteractionKind.choices, {
                    "电话": "call", "拜访": "visit", "上门": "visit", "邮件": "email",
                    "会议": "meeting", "微信": "message", "短信": "message",
                    "投诉": "complaint", "备注": "note"}),
                "direction": _choice_map(Direction.choices, {"呼入": "in", "呼出": "out"}),
                "channel": _choice_map(Channel.choices),
                "outcome": _choice_map(Outcome.choices),
            }
        return self._interaction_maps

    def user(self, raw: str) -> int:
        pk = self.users.get(_fold(raw))
        if pk is None:
            raise ValidationError(_("There is no active user “%(value)s”.") % {"value": raw})
        return pk


def _tier(raw: str) -> str:
    text = to_simplified(to_halfwidth(raw)).upper().replace("类", "").replace("级", "")
    text = text.replace("CLASS", "").replace("TIER", "").strip()
    if text in ("A", "B", "C"):
        return text
    raise ValidationError(_("“%(value)s” is not a tier (A, B or C).") % {"value": raw})


def _lookup(table: dict[str, Any], raw: str, message: str):
    value = table.get(_fold(raw))
    if value is None:
        raise ValidationError(message % {"value": raw})
    return value


def clean_customer(cells: dict[str, str], lk: Lookups) -> tuple[dict[str, Any], list]:
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    custom: dict[str, Any] = {}
    for key, raw in cells.items():
        try:
            if key in ("name", "short_name", "city", "province", "district", "contact_name",
                       "contact_title") or key in ("street", "notes", "postal_code", "external_id", "phone_ext"):
                data[key] = raw
            elif key == "phone":
                data["phone"], ext = phone(raw)
                if ext:
                    data.setdefault("phone_ext", ext)
            elif key == "contact_mobile":
                data[key] = phone(raw)[0]
            elif key in ("email", "contact_email"):
                data[key] = normalize_email(raw)
            elif key == "website":
                data[key] = raw if "://" in raw else f"http://{raw}"
            elif key == "country":
                data[key] = "CN" if _fold(raw) in ("中国", "cn", "china", "中华人民共和国") else \
                    raw.upper()[:2]
            elif key == "kind":
                data[key] = _lookup(lk.kinds, raw, _("“%(value)s” is not a customer type "
                                                     "(company or individual)."))
            elif key == "tier":
                data[key] = _tier(raw)
            elif key == "stage":
                data[key] = _lookup(lk.stages, raw, _("“%(value)s” is not a life-cycle stage."))
            elif key == "source":
                data[key] = _lookup(lk.sources, raw, _("“%(value)s” is not a source channel."))
            elif key == "owner":
                data["owner_id"] = lk.user(raw)
            elif key == "team":
                data["team_id"] = _lookup(lk.teams, raw, _("There is no team “%(value)s”."))
            elif key == "industry":
                data["industry_id"] = _lookup(lk.industries, raw,
                                              _("There is no industry “%(value)s”."))
            elif key == "credit_days":
                data[key] = integer(raw)
            elif key == "credit_limit":
                data[key] = money(raw)
            elif key in ("consent_email", "consent_sms", "consent_phone", "consent_mail"):
                data[key] = boolean(raw)
            elif key == "tags":
                data[key] = [t.strip() for t in re.split(r"[,，;；、|]", raw) if t.strip()]
            elif key.startswith("custom."):
                d = lk.custom.get(key[7:])
                if d is not None:
                    value = clean_value(d, raw)
                    if value not in (None, []):
                        custom[d.key] = value
        except ValidationError as exc:
            errors.append((key, exc.messages[0]))
    if custom:
        data["custom"] = custom
    if not data.get("name"):
        errors.append(("name", _("A customer needs a name.")))
    if len(data.get("name", "")) > 200:
        errors.append(("name", _("The name is longer than 200 characters.")))
    for key, limit in (("short_name", 100), ("city", 50), ("province", 50), ("district", 50),
                       ("street", 200), ("postal_code", 20), ("external_id", 100),
                       ("phone_ext", 10), ("website", 200)):
        if len(data.get(key, "")) > limit:
            errors.append((key, _("Longer than %(n)s characters.") % {"n": limit}))
    return data, errors


def clean_contact(cells: dict[str, str], lk: Lookups) -> tuple[dict[str, Any], list]:
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for key, raw in cells.items():
        try:
            if key in ("mobile", "phone"):
                number, ext = phone(raw)
                data[key] = number
                if ext and key == "phone":
                    data.setdefault("phone_ext", ext)
            elif key == "customer_phone":
                data[key] = phone(raw)[0]
            elif key == "email":
                data[key] = normalize_email(raw)
            elif key == "is_primary":
                data[key] = boolean(raw)
            else:
                data[key] = raw
        except ValidationError as exc:
            errors.append((key, exc.messages[0]))
    if not data.get("name"):
        errors.append(("name", _("A contact needs a name.")))
    return data, errors


def clean_interaction(cells: dict[str, str], lk: Lookups) -> tuple[dict[str, Any], list]:
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    maps = lk.interaction_maps()
    for key, raw in cells.items():
        try:
            if key == "occurred_at":
                data[key] = datetime(raw)
            elif key == "follow_up_on":
                data[key] = date(raw)
            elif key == "kind":
                data[key] = _lookup(maps["kind"], raw,
                                    _("“%(value)s” is not a kind of interaction."))
            elif key == "direction":
                data[key] = _lookup(maps["direction"], raw, _("“%(value)s” is not a direction."))
            elif key == "channel":
                data[key] = _lookup(maps["channel"], raw, _("“%(value)s” is not a channel."))
            elif key == "outcome":
                data[key] = _lookup(maps["outcome"], raw, _("“%(value)s” is not an outcome."))
            elif key == "duration_minutes":
                data[key] = integer(raw)
            elif key == "created_by":
                data["created_by_id"] = lk.user(raw)
            elif key == "customer_phone":
                data[key] = phone(raw)[0]
            else:
                data[key] = raw
        except ValidationError as exc:
            errors.append((key, exc.messages[0]))
    if "occurred_at" not in data and not any(k == "occurred_at" for k, _m in errors):
        errors.append(("occurred_at", _("An interaction needs a date and time.")))
    data.setdefault("kind", "call")
    return data, errors
