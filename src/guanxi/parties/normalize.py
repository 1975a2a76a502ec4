"""Normalising what people type: phones (phonenumbers, CN default) and e-mails."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from .search import to_simplified

_EXT = re.compile(r"\s*(?:转|轉|分机|分機|ext\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits, punctuation and the ideographic space → half-width."""
    return unicodedata.normalize("NFKC", text or "").strip()


def normalize_phone(raw: str, region: str = "CN") -> tuple[str, str]:
    """Return (E.164 number, extension) for a mobile or landline; raise ValidationError.

    Accepts what people type: "+86 138 0013 8000", "138-0013-8000",
    "(023)6532-1234转808", "021 6888 8888 ext 12", full-width digits.
    """
    text = to_halfwidth(raw)
    if not text:
        return "", ""
    ext = ""
    m = _EXT.search(text)
    if m:
        ext, text = m.group(1), text[: m.start()]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    ext = ext or (number.extension or "")
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ext


def format_phone(e164: str, ext: str = "") -> str:
    """A readable national form for display: 138 0013 8000, 023 6532 1234 转 808."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 86
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text = phonenumbers.format_number(number, fmt)
    return f"{text} 转 {ext}" if ext else text


def normalize_email(raw: str) -> str:
    text = to_halfwidth(raw).lower()
    if text:
        try:
            validate_email(text)
        except ValidationError as exc:
            raise ValidationError(_("“%(value)s” is not a valid e-mail address.") % {"value": raw}) from exc
    return text


# --- Company names compared for duplicates ----------------------------------------------

# Legal forms and group markers, compared without (longest first; stripped repeatedly
# from the end, and "集团" also inside brackets: 兴瑞(集团)有限公司 → 兴瑞).
_LEGAL_FORMS_ZH = (
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "股份公司",
    "集团公司", "总公司", "公司", "集团", "商行", "经营部", "门市部",
)
_LEGAL_FORMS_EN = re.compile(
    r"(?:[\s,.]*(?:co\.?,?\s*ltd\.?|company\s+limited|co\.?\s*limited|limited|ltd\.?|"
    r"inc\.?|incorporated|corp\.?|corporation|llc|l\.l\.c\.|plc|gmbh|ag|s\.a\.|"
    r"pte\.?|pty\.?|group|holdings?|company|co\.?))+\s*$",
    re.IGNORECASE,
)
_BRACKETS = str.maketrans({c: " " for c in "()[]{}<>（）【】〔〕《》「」『』"})
_NOISE = re.compile(r"[\s·•.,，。、'\"“”‘’\-_/\\&+]+")


@functools.lru_cache(maxsize=4096)
def company_key(name: str) -> str:
    """The form under which two company names count as the same company.

    Full-width → half-width, lower case, Traditional → Simplified, brackets, spaces and
    punctuation dropped, legal forms (有限公司, 股份有限公司, (集团), Co., Ltd. …) left out:
    "重慶興瑞環保(集团)有限公司", "重庆兴瑞环保有限公司" and "重庆 兴瑞环保" all give "重庆兴瑞环保".
    """
    text = to_simplified(to_halfwidth(name).lower())
    if not text:
        return ""
    text = text.translate(_BRACKETS)
    text = _LEGAL_FORMS_EN.sub("", text)
    text = _NOISE.sub("", text)
    changed = True
    while changed and text:
        changed = False
        for form in _LEGAL_FORMS_ZH:
            if text.endswith(form) and len(text) > len(form):
                text = text[: -len(form)]
                changed = True
                break
    text = text.replace("集团", "") or text
    return text[:200]


_CITY_SUFFIX = re.compile(r"(市|县|區|区|州|盟|地区|自治州)$")


@functools.lru_cache(maxsize=8192)
def city_key(city: str) -> str:
    """重庆市 / 重慶 / 重庆 → 重庆 (for grouping by city)."""
    text = to_simplified(to_halfwidth(city).lower()).replace(" ", "")
    return _CITY_SUFFIX.sub("", text) if len(text) > 2 else text


def name_block(city: str, key: str) -> str:
    """The block near-duplicate checks compare within: same city, same first
    character of the company key once the city's name is taken off its front
    ("重庆" + "兴瑞环保…" → "重庆|兴"). Empty when there is no key."""
    if not key:
        return ""
    c = city_key(city)
    core = key[len(c):] if c and key.startswith(c) and len(key) > len(c) + 1 else key
    return f"{c}|{core[:1]}"[:60]
