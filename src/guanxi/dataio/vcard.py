"""vCard 3.0 / 4.0 export and import of contacts (vobject).

Export (`export_contacts`, `iter_vcards`): one card per contact with N, FN, ORG
(customer name; the department as the unit), TITLE, TEL;TYPE=cell (mobile),
TEL;TYPE=work (office phone; 3.0 writes the extension as "x808", 4.0 as a tel: URI
with ";ext=808"), EMAIL, NOTE and X-WECHAT. Chinese names go whole into N's family
part (splitting 欧阳娜娜 by characters would be wrong); Latin names split at the last
space.

Import (`decode_vcf` → `parse_vcards` → `import_cards`): a file of one or many cards,
vCard 2.1, 3.0 or 4.0, UTF-8 (GB18030 when it is not UTF-8). Each card is read on its
own, so a broken card is reported by its number and the others still come in.
A card needs a name (FN, else N); its phone numbers and e-mail must be valid.
Cards whose mobile or e-mail one of the customer's contacts already has are
"unchanged" and skipped (also within one file); the others are created through
`parties.services.contact_create`, one by one.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import vobject
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guanxi.parties import services
from guanxi.parties.models import Contact, Customer
from guanxi.parties.normalize import normalize_email, normalize_phone

VERSIONS = ("3.0", "4.0")
DEFAULT_VERSION = "3.0"
CELL_TYPES = {"cell", "mobile", "iphone"}
SKIPPED_TEL_TYPES = {"fax", "pager"}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_URI_EXT = re.compile(r";\s*ext\s*=\s*(\d{1,10})", re.IGNORECASE)
# Model field lengths (longer values are cut rather than refused).
MAX_LENGTHS = {"name": 100, "title": 100, "department": 100, "wechat": 50}


# ---------------------------------------------------------------- export


def _name_parts(name: str) -> tuple[str, str]:
    """(family, given) for N."""
    name = name.strip()
    if _CJK.search(name) or " " not in name:
        return name, ""
    given, _sep, family = name.rpartition(" ")
    return family, given


def contact_card(contact: Contact, version: str = DEFAULT_VERSION) -> vobject.base.Component:
    """The vobject vCard of one contact (its customer should be loaded with it)."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported vCard version {version!r}")
    card = vobject.vCard()
    card.add("version").value = version
    family, given = _name_parts(contact.name)
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    card.add("fn").value = contact.name
    org = [contact.customer.name] + ([contact.department] if contact.department else [])
    card.add("org").value = org
    if contact.title:
        card.add("title").value = contact.title
    if contact.mobile:
        tel = card.add("tel")
        tel.value = contact.mobile
        tel.type_param = "cell"
    if contact.phone:
        tel = card.add("tel")
        tel.type_param = "work"
        if version == "4.0":
            tel.value = f"tel:{contact.phone}" + (f";ext={contact.phone_ext}"
                                                   if contact.phone_ext else "")
            tel.params["VALUE"] = ["uri"]
            tel.encoded = True  # a URI: its ";" must not be escaped as text
        else:
            tel.value = contact.phone + (f" x{contact.phone_ext}" if contact.phone_ext else "")
    if contact.email:
        email = card.add("email")
        email.value = contact.email
        email.type_param = "INTERNET" if version == "3.0" else "work"
    if contact.notes:
        card.add("note").value = contact.notes
    if contact.wechat:
        card.add("x-wechat").value = contact.wechat
    return card


def iter_vcards(contacts: Iterable[Contact], version: str = DEFAULT_VERSION) -> Iterator[str]:
    for contact in contacts:
        yield contact_card(contact, version).serialize()


def export_contacts(contacts: Iterable[Contact], version: str = DEFAULT_VERSION) -> str:
    """The contacts as one .vcf text (CRLF line ends, lines folded)."""
    return "".join(iter_vcards(contacts, version))


# ---------------------------------------------------------------- import: parsing


@dataclass
class ParsedCard:
    """One readable card, with phones in E.164 and the e-mail normalised."""

    number: int
    name: str
    title: str = ""
    department: str = ""
    mobile: str = ""
    phone: str = ""
    phone_ext: str = ""
    email: str = ""
    wechat: str = ""
    notes: str = ""

    def data(self) -> dict[str, Any]:
        """Keyword arguments for `contact_create`."""
        return {"name": self.name, "title": self.title, "department": self.department,
                "mobile": self.mobile, "phone": self.phone, "phone_ext": self.phone_ext,
                "email": self.email, "wechat": self.wechat, "notes": self.notes}


@dataclass
class CardError:
    """A card that cannot be imported: its number in the file (from 1) and why."""

    number: int
    reason: str
    name: str = ""


def decode_vcf(data: bytes) -> str:
    """The text of a .vcf file: UTF-16 with a BOM, UTF-8 (BOM or not), else GB18030."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def split_cards(text: str) -> list[str]:
    """Each BEGIN:VCARD … END:VCARD block; a block without its END is kept (it will fail
    to parse and be reported); text outside blocks is ignored."""
    cards: list[str] = []
    current: list[str] | None = None
    for line in _LINE_BREAK.split(text):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            if current is not None:
                cards.append("\r\n".join(current) + "\r\n")
            current = [line.strip()]
        elif current is not None:
            current.append(line)
            if marker == "END:VCARD":
                cards.append("\r\n".join(current) + "\r\n")
                current = None
    if current is not None:
        cards.append("\r\n".join(current) + "\r\n")
    return cards


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _first(card, name: str) -> Any:
    lines = card.contents.get(name) or []
    return lines[0].value if lines else None


def _types(line) -> set[str]:
    values = list(line.params.get("TYPE", [])) + list(getattr(line, "singletonparams", []))
    return {t.strip().strip('"').lower() for v in values for t in str(v).split(",") if t.strip()}


def _card_name(card) -> str:
    name = _text(_first(card, "fn"))
    if name:
        return name
    n = _first(card, "n")
    if n is None:
        return ""
    family, given = _text(getattr(n, "family", "")), _text(getattr(n, "given", ""))
    if _CJK.search(family + given):
        return f"{family}{given}"
    return " ".join(p for p in (given, family) if p)


def _split_tel(raw: str) -> tuple[str, str]:
    """(number text, extension) of a TEL value: text or a tel: URI with ;ext=."""
    value = raw.strip()
    if value.lower().startswith("tel:"):
        value = value[4:]
    ext = ""
    if m := _URI_EXT.search(value):
        ext = m.group(1)
        value = value[:m.start()] + value[m.end():]
    value = value.split(";", 1)[0]  # other URI parameters (isub=, phone-context=)
    return value, ext


def _is_mobile(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


def _phones(card, parsed: ParsedCard) -> list[str]:
    """Put the card's numbers on `parsed`; return the problems found."""
    problems: list[str] = []
    extra: list[str] = []
    for line in card.contents.get("tel", []):
        types = _types(line)
        if types & SKIPPED_TEL_TYPES:
            continue
        text, ext = _split_tel(_text(line.value))
        if not text:
            continue
        try:
            e164, typed_ext = normalize_phone(text)
        except ValidationError as exc:
            problems.extend(exc.messages)
            continue
        ext = ext or typed_ext
        if types & CELL_TYPES or ("work" not in types and _is_mobile(e164) and not ext):
            slot = "mobile"
        else:
            slot = "phone"
        if slot == "mobile" and not parsed.mobile:
            parsed.mobile = e164
        elif slot == "phone" and not parsed.phone:
            parsed.phone, parsed.phone_ext = e164, ext[:10]
        elif e164 not in (parsed.mobile, parsed.phone):
            extra.append(e164 + (f" x{ext}" if ext else ""))
    if extra:
        line = _("Other phone numbers: %(numbers)s") % {"numbers": ", ".join(extra)}
        parsed.notes = f"{parsed.notes}\n{line}".strip()
    return problems


def _wechat(card) -> str:
    value = _text(_first(card, "x-wechat"))
    if value:
        return value
    for line in card.contents.get("impp", []):
        scheme, _sep, handle = _text(line.value).partition(":")
        if scheme.lower() in ("weixin", "wechat", "wx") and handle:
            return handle
    return ""


def parse_card(text: str, number: int) -> ParsedCard | CardError:
    """One card's text → a ParsedCard, or a CardError saying why not."""
    try:
        card = vobject.readOne(text, ignoreUnreadable=True)
    except Exception as exc:  # noqa: BLE001 - untrusted input: any parser error is a bad card
        return CardError(number, _("This card could not be read (%(error)s).")
                         % {"error": str(exc)[:200] or exc.__class__.__name__})
    name = _card_name(card)
    if not name:
        return CardError(number, _("The card has no name."))
    org = _first(card, "org")
    units = [u for u in (org if isinstance(org, list) else [])[1:] if str(u).strip()]
    parsed = ParsedCard(
        number=number,
        name=name[:MAX_LENGTHS["name"]],
        title=_text(_first(card, "title"))[:MAX_LENGTHS["title"]],
        department=" / ".join(str(u).strip() for u in units)[:MAX_LENGTHS["department"]],
        wechat=_wechat(card)[:MAX_LENGTHS["wechat"]],
        notes=_text(_first(card, "note")),
    )
    problems = _phones(card, parsed)
    emails = [_text(line.value) for line in card.contents.get("email", [])]
    if emails := [e for e in emails if e]:
        try:
            parsed.email = normalize_email(emails[0])
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        return CardError(number, " ".join(problems), name=parsed.name)
    return parsed


def parse_vcards(text: str) -> list[ParsedCard | CardError]:
    """Every card of a .vcf text, in file order, numbered from 1."""
    return [parse_card(card, i) for i, card in enumerate(split_cards(text), start=1)]


# ---------------------------------------------------------------- import: saving


@dataclass
class ImportResult:
    created: list[Contact] = field(default_factory=list)
    unchanged: list[ParsedCard] = field(default_factory=list)
    rejected: list[CardError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.unchanged) + len(self.rejected)


def import_cards(*, actor, customer: Customer,
                 cards: Iterable[ParsedCard | CardError]) -> ImportResult:
    """Create a contact of `customer` for each new card, through the service.

    Each card is saved on its own: a card the service refuses is reported and the
    others are kept. PermissionDenied (the actor may not edit the customer) comes
    from the first creation, before anything is written.
    """
    result = ImportResult()
    existing = Contact.objects.filter(customer=customer).values_list("mobile", "email")
    mobiles = {m for m, _e in existing if m}
    emails = {e.lower() for _m, e in existing if e}
    for card in cards:
        if isinstance(card, CardError):
            result.rejected.append(card)
            continue
        if (card.mobile and card.mobile in mobiles) or (card.email and card.email in emails):
            result.unchanged.append(card)
            continue
        try:
            contact = services.contact_create(actor=actor, customer=customer, **card.data())
        except ValidationError as exc:
            result.rejected.append(CardError(card.number, " ".join(exc.messages), card.name))
            continue
        result.created.append(contact)
        if contact.mobile:
            mobiles.add(contact.mobile)
        if contact.email:
            emails.add(contact.email.lower())
    return result
