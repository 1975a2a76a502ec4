"""Writes of leads: create, edit, delete, qualify / disqualify / reopen, and convert a
lead into customer + contact + opportunity in one transaction; plus the duplicate
check that offers an existing customer to attach the lead to.

Every service is keyword-only with the actor first, atomic, validated (ValidationError
keyed by field), permission-checked before any write (PermissionDenied) and audited.
`lead_submit` is the one write without a user: a visitor's web-form submission (the
active LeadForm is its permission).

Who may:
- create: administrators, directors, managers, reps, marketing (`can_create_lead`);
- edit, qualify, convert, delete: the owner, managers of the lead's team subtree,
  directors, administrators and marketing (`can_edit_lead`); a rep must claim a pool
  lead (no owner) before working on it.

A lead without an owner sits in the pool of its team (`pool_for_team`: the team's
active pool or its nearest ancestor's, like customers in sales.pool.pool_for);
`Lead.pool` always names the pool the lead belongs (or returns) to.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import Role
from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as party_perms
from guanxi.parties.duplicates import REASON_LABELS, WEIGHTS, combine, core_key, name_similarity
from guanxi.parties.models import Contact, Customer
from guanxi.parties.normalize import company_key, normalize_email, normalize_phone, to_halfwidth
from guanxi.parties.services import contact_create, customer_create

from .models import Lead, LeadForm, LeadStatus, OwnerChange, OwnerChangeReason, Pool
from .services import opportunity_create

# Fields a lead's audit entries and edits cover.
FIELDS = [
    "company", "name", "title", "phone", "email", "wechat", "province", "city", "address",
    "website", "industry", "product_line", "source", "campaign", "description",
    "estimated_amount", "owner", "team", "consent", "score_override",
]
AUDIT_FIELDS = [*FIELDS, "status", "unqualified_reason", "pool", "form"]
CREATE_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP, Role.MARKETING}
# Roles that edit every lead they can see.
ALL_EDIT_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MARKETING}
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)
# Near-duplicate threshold (rapidfuzz ratio on company keys) and how many suggestions.
NEAR_MIN = 80
NEAR_CANDIDATES = 500
LEADFORM_FIELDS = ["name", "key", "source", "campaign", "team", "owner", "product_line",
                   "thank_you", "rate_limit_per_hour", "active"]


def _role(user) -> str:
    return Role.ADMIN if getattr(user, "is_superuser", False) else getattr(user, "role", "")


# ---------------------------------------------------------------- permissions


def can_create_lead(user) -> bool:
    return bool(getattr(user, "is_active", False)) and _role(user) in CREATE_ROLES


def can_edit_lead(user, lead: Lead) -> bool:
    """Owner, managers of the lead's team subtree, directors, administrators, marketing.
    A rep may not edit a pool lead (claim it first) nor a colleague's."""
    role = _role(user)
    if not user.is_active or role not in CREATE_ROLES or lead.deleted_at is not None:
        return False
    if role in ALL_EDIT_ROLES or (lead.owner_id is not None and lead.owner_id == user.pk):
        return True
    if role == Role.MANAGER and user.team_id:
        ids = user.team_subtree_ids()
        return Lead.all_objects.filter(pk=lead.pk).filter(
            Q(team_id__in=ids) | Q(owner__team_id__in=ids)).exists()
    return False


def can_manage_forms(user) -> bool:
    """Web forms (LeadForm): administrators, directors and marketing."""
    return bool(getattr(user, "is_active", False)) and _role(user) in ALL_EDIT_ROLES


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You may not change this lead."))


# ---------------------------------------------------------------- pool


def pool_for_team(team) -> Pool | None:
    """The pool a lead of `team` belongs to: the team's (or nearest ancestor's) active
    pool, or the root team's pool when there is no team (as sales.pool.pool_for)."""
    from . import pool

    helper = getattr(pool, "pool_for_team", None)
    if helper is not None:
        return helper(team)
    return pool.pool_for(SimpleNamespace(team_id=getattr(team, "pk", None), team=team))


# ---------------------------------------------------------------- validation


def _clean(lead: Lead, data: dict[str, Any]) -> None:
    """Normalise (half-width text, E.164 phone, lower-case e-mail, company key) and
    validate in place; raise ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    for key in ("company", "name", "title", "province", "city", "campaign", "wechat"):
        if key in data and isinstance(data[key], str):
            data[key] = to_halfwidth(data[key])
    for key in ("address", "website", "description", "unqualified_reason"):
        if key in data and isinstance(data[key], str):
            data[key] = data[key].strip()
    if "phone" in data:
        try:
            data["phone"] = normalize_phone(data["phone"] or "")[0]
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if "email" in data:
        try:
            data["email"] = normalize_email(data["email"] or "")
        except ValidationError as exc:
            errors["email"] = exc.messages
    for key, value in data.items():
        if key in AUDIT_FIELDS and key not in errors:
            setattr(lead, key, value)
    if not (lead.company or "").strip() and not (lead.name or "").strip():
        errors["company"] = [_("A lead needs a company or a contact name.")]
    if lead.estimated_amount is not None and lead.estimated_amount < 0:
        errors["estimated_amount"] = [_("The amount can't be negative.")]
    if lead.score_override is not None and lead.score_override > 100:
        errors["score_override"] = [_("A score is at most 100 %.")]
    lead.name_key = company_key(lead.company or "")
    try:
        lead.full_clean(exclude=["industry", "product_line", "owner", "team", "pool", "form",
                                 "converted_customer", "converted_contact",
                                 "converted_opportunity", "converted_by", "name_key"])
    except ValidationError as exc:
        for k, v in exc.message_dict.items():
            errors.setdefault(k, v)
    if errors:
        raise ValidationError(errors)


def _place(lead: Lead) -> None:
    """A missing team comes from the owner; the pool follows the team."""
    if lead.team_id is None and lead.owner_id is not None and lead.owner.team_id:
        lead.team_id = lead.owner.team_id
    lead.pool = pool_for_team(lead.team)


def _locked(lead: Lead) -> Lead:
    return Lead.all_objects.select_for_update().get(pk=lead.pk)


# ---------------------------------------------------------------- create / edit / delete


def _create(*, actor, data: dict[str, Any], form: LeadForm | None = None,
            submitted_ip: str | None = None) -> Lead:
    lead = Lead(form=form, submitted_ip=submitted_ip)
    for key in ("source_system", "external_id"):
        if key in data:
            setattr(lead, key, str(data.pop(key) or "")[:100 if key == "external_id" else 30])
    _clean(lead, data)
    _place(lead)
    if lead.owner_id is not None:
        lead.owner_since = timezone.now()
    lead.save()
    audit.record_create(actor=actor, obj=lead, fields=AUDIT_FIELDS)
    if lead.owner_id is not None:
        OwnerChange.objects.create(lead=lead, to_user_id=lead.owner_id,
                                   reason=OwnerChangeReason.ASSIGN, pool=None,
                                   by=actor if getattr(actor, "pk", None) else None)
    return lead


@transaction.atomic
def lead_create(*, actor, **data: Any) -> Lead:
    """Create a lead (manual entry, import, API).

    `data`: any of FIELDS (foreign keys as objects: industry, product_line, owner, team),
    plus `source_system`/`external_id` for imports. A rep's new lead is theirs unless
    `owner` is given; the team defaults to the owner's (else the actor's) team; a lead
    without an owner goes to its team's pool.
    """
    _require(can_create_lead(actor))
    data = {k: v for k, v in data.items()
            if k in FIELDS or k in ("source_system", "external_id")}
    if "owner" not in data and _role(actor) == Role.REP:
        data["owner"] = actor
    owner = data.get("owner")
    if owner is not None and _role(actor) == Role.REP and owner.pk != actor.pk:
        raise ValidationError({"owner": [_("A rep creates leads for themselves.")]})
    if data.get("team") is None:
        data["team"] = getattr(owner, "team", None) or actor.team
    return _create(actor=actor, data=data)


@transaction.atomic
def lead_submit(*, form: LeadForm, submitted_ip: str | None = None, **data: Any) -> Lead:
    """A visitor's submission of the public web form `form` (no user: the audit entry
    has no actor). Source, campaign, team, owner and product line come from the form."""
    if not form.active:
        raise PermissionDenied(_("This form is closed."))
    allowed = {"company", "name", "title", "phone", "email", "city", "province",
               "description", "consent"}
    data = {k: v for k, v in data.items() if k in allowed}
    data.update(source=form.source, campaign=form.campaign, team=form.team, owner=form.owner,
                product_line=form.product_line)
    if form.owner_id and not form.team_id:
        data["team"] = form.owner.team
    return _create(actor=None, data=data, form=form, submitted_ip=submitted_ip)


@transaction.atomic
def lead_update(*, actor, lead: Lead, version: int | None, **data: Any) -> Lead:
    """Edit a lead if nobody saved since `version` (else ConflictError). Reps may not
    hand a lead to someone else (owner) — they release it to the pool instead."""
    lead = _locked(lead)
    _require(can_edit_lead(actor, lead))
    check_version(lead, version)
    data = {k: v for k, v in data.items() if k in FIELDS}
    new_owner = data.get("owner", lead.owner) if "owner" in data else lead.owner
    owner_changed = "owner" in data and getattr(new_owner, "pk", None) != lead.owner_id
    if owner_changed and _role(actor) == Role.REP:
        raise ValidationError({"owner": [_("Reps can't reassign leads; release the lead to "
                                           "the pool instead.")]})
    before = audit.snapshot(lead, AUDIT_FIELDS)
    from_owner = lead.owner_id
    _clean(lead, data)
    if owner_changed or "team" in data:
        _place(lead)
    changes = audit.diff(before, audit.snapshot(lead, AUDIT_FIELDS))
    if not changes:
        return lead
    if owner_changed:
        lead.owner_since = timezone.now() if lead.owner_id else None
    lead.version += 1
    lead.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=lead, changes=changes)
    if owner_changed:
        OwnerChange.objects.create(
            lead=lead, from_user_id=from_owner, to_user_id=lead.owner_id,
            reason=OwnerChangeReason.ASSIGN if lead.owner_id else OwnerChangeReason.RELEASE,
            pool=lead.pool, by=actor)
    return lead


@transaction.atomic
def lead_delete(*, actor, lead: Lead) -> None:
    """Move the lead to the recycle bin (soft delete)."""
    lead = _locked(lead)
    _require(can_edit_lead(actor, lead))
    lead.deleted_at = timezone.now()
    lead.deleted_by = actor
    lead.version += 1
    lead.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=lead,
                 customer_id=lead.converted_customer_id)


# ---------------------------------------------------------------- status


def _set_status(*, actor, lead: Lead, version: int | None, allowed_from: tuple[str, ...],
                status: str, reason: str = "") -> Lead:
    lead = _locked(lead)
    _require(can_edit_lead(actor, lead))
    check_version(lead, version)
    if lead.status not in allowed_from:
        raise ValidationError({"status": [
            _("A lead that is “%(status)s” can't become “%(new)s”.") % {
                "status": lead.get_status_display(), "new": LeadStatus(status).label}]})
    before = audit.snapshot(lead, ["status", "unqualified_reason"])
    lead.status = status
    lead.unqualified_reason = reason[:200]
    lead.version += 1
    lead.save(update_fields=["status", "unqualified_reason", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=lead,
                 changes=audit.diff(before, audit.snapshot(lead, ["status",
                                                                  "unqualified_reason"])))
    return lead


@transaction.atomic
def lead_qualify(*, actor, lead: Lead, version: int | None = None) -> Lead:
    """New / working / unqualified → qualified (ready to convert)."""
    return _set_status(actor=actor, lead=lead, version=version, status=LeadStatus.QUALIFIED,
                       allowed_from=(LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.UNQUALIFIED))


@transaction.atomic
def lead_disqualify(*, actor, lead: Lead, reason: str, version: int | None = None) -> Lead:
    """Any open status → unqualified; `reason` is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"unqualified_reason": [_("Say why the lead is unqualified.")]})
    return _set_status(actor=actor, lead=lead, version=version, status=LeadStatus.UNQUALIFIED,
                       allowed_from=OPEN_STATUSES, reason=reason)


@transaction.atomic
def lead_reopen(*, actor, lead: Lead, version: int | None = None) -> Lead:
    """Qualified / unqualified → working again (the reason is cleared)."""
    return _set_status(actor=actor, lead=lead, version=version, status=LeadStatus.WORKING,
                       allowed_from=(LeadStatus.NEW, LeadStatus.QUALIFIED,
                                     LeadStatus.UNQUALIFIED))


# ---------------------------------------------------------------- duplicates


def _phone_filter(value: str) -> Q:
    return Q(phone=value) | Q(contacts__mobile=value, contacts__deleted_at__isnull=True)


def duplicates_for_lead(user, lead: Lead, limit: int = 10) -> list[dict[str, Any]]:
    """Existing customers the user can see that are probably the lead's company:
    same phone (or a contact's mobile), same e-mail, same company key (same name in
    either script, with or without 有限公司 …), or a company key ≥ NEAR_MIN % alike
    (rapidfuzz, as parties.duplicates). Returns [{customer, score, reasons}] best
    first; `reasons` are display labels."""
    visible = Customer.objects.visible_to(user)
    weights: dict[int, dict[str, float]] = {}

    def hit(ids, reason: str, weight: float) -> None:
        for pk in ids:
            weights.setdefault(pk, {})[reason] = weight

    if lead.phone:
        hit(visible.filter(_phone_filter(lead.phone)).values_list("pk", flat=True)[:50],
            "phone", WEIGHTS["phone"])
    if lead.email:
        hit(visible.filter(Q(email=lead.email) | Q(contacts__email=lead.email))
            .values_list("pk", flat=True)[:50], "email", WEIGHTS["email"])
    key = lead.name_key or company_key(lead.company or "")
    if key:
        hit(visible.filter(name_key=key).values_list("pk", flat=True)[:50], "name",
            WEIGHTS["name"])
        core = core_key(key, lead.city)
        prefix = core[:2] if len(core) >= 2 else core
        near = (visible.exclude(name_key=key).exclude(name_key="")
                .filter(Q(name_key__startswith=key[:2]) | Q(name_key__contains=prefix))
                .values_list("pk", "name_key", "city")[:NEAR_CANDIDATES])
        for pk, other, city in near:
            ratio = max(name_similarity(key, other),
                        name_similarity(core, core_key(other, city)))
            if ratio >= NEAR_MIN:
                hit([pk], "similar_name", 30 + (ratio - NEAR_MIN) * 20 / (100 - NEAR_MIN))
    if not weights:
        return []
    customers = Customer.objects.filter(pk__in=list(weights)).select_related("owner")
    rows = [{"customer": c, "score": combine(weights[c.pk].values()),
             "reasons": [str(REASON_LABELS[r]) for r in REASON_LABELS if r in weights[c.pk]],
             "codes": [r for r in REASON_LABELS if r in weights[c.pk]]}
            for c in customers]
    rows.sort(key=lambda r: (-r["score"], r["customer"].pk))
    return rows[:limit]


# ---------------------------------------------------------------- conversion


def _website(value: str) -> str:
    value = (value or "").strip()
    return value if not value or "://" in value else f"http://{value}"


def _is_mobile(e164: str) -> bool:
    return e164.startswith("+861") and len(e164) == 14


def _customer_from(actor, lead: Lead, create_opportunity: bool) -> Customer:
    # A pool lead converted by a manager or marketing gives a pool customer.
    owner = lead.owner
    data: dict[str, Any] = {
        "kind": "org" if lead.company.strip() else "person",
        "name": lead.company.strip() or lead.name.strip(),
        "phone": lead.phone, "email": lead.email, "website": _website(lead.website),
        "province": lead.province, "city": lead.city, "street": lead.address,
        "industry": lead.industry, "source": lead.source or "", "owner": owner,
        "team": lead.team or getattr(owner, "team", None),
        "stage": "opportunity" if create_opportunity else "prospect",
        "notes": lead.description,
    }
    if lead.consent:
        data.update(consent_phone=True, consent_email=True)
    return customer_create(actor=actor, **data)


def _contact_for(actor, lead: Lead, customer: Customer, attached: bool) -> Contact | None:
    """The lead's person as a contact of `customer`; an existing contact of an attached
    customer with the same mobile, e-mail or name is reused."""
    if not lead.name.strip() or (not lead.company.strip() and not attached):
        return None  # a person-customer is the contact itself
    mobile = lead.phone if _is_mobile(lead.phone) else ""
    if attached:
        for key, value in (("mobile", mobile), ("email", lead.email), ("name", lead.name)):
            if value:
                found = Contact.objects.filter(customer=customer, **{key: value}).first()
                if found is not None:
                    return found
    data: dict[str, Any] = {"name": lead.name, "title": lead.title, "email": lead.email,
                            "wechat": lead.wechat, "mobile": mobile,
                            "phone": "" if mobile else lead.phone,
                            "is_primary": not customer.contacts.exists()}
    if lead.consent:
        data.update(consent_phone=True, consent_email=True)
    return contact_create(actor=actor, customer=customer, **data)


@transaction.atomic
def lead_convert(*, actor, lead: Lead, customer: Customer | None = None,
                 create_opportunity: bool = True, version: int | None = None,
                 opportunity: dict[str, Any] | None = None) -> Lead:
    """Turn the lead into a customer (or attach it to the existing `customer`), a contact
    and — unless `create_opportunity` is False — an opportunity linked to the lead, all
    in one transaction: if any part fails (validation, permission, a stage rule), nothing
    is written.

    `opportunity`: optional fields for sales.services.opportunity_create (name, amount,
    expected_close, product_line, pipeline, contact …); defaults come from the lead.
    Returns the lead with converted_customer/contact/opportunity set.
    """
    lead = _locked(lead)
    _require(can_edit_lead(actor, lead))
    check_version(lead, version)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": [_("This lead has already been converted.")]})
    if lead.status == LeadStatus.UNQUALIFIED:
        raise ValidationError({"status": [_("Reopen an unqualified lead before converting it.")]})
    attached = customer is not None
    if attached:
        visible = Customer.objects.visible_to(actor).filter(pk=customer.pk).exists()
        if not visible or customer.deleted_at is not None or not party_perms.can_edit_customer(
                actor, customer):
            raise PermissionDenied(_("You may not add this lead to that customer."))
    else:
        customer = _customer_from(actor, lead, create_opportunity)
    contact = _contact_for(actor, lead, customer, attached)
    deal = None
    if create_opportunity:
        data = dict(opportunity or {})
        data.setdefault("name", lead.company or lead.name)
        if not data.get("amount") and lead.estimated_amount is not None:
            data["amount"] = lead.estimated_amount
        if data.get("amount") is None:
            data.pop("amount", None)
        data.setdefault("product_line", lead.product_line)
        data.setdefault("contact", contact)
        if lead.source:
            data.setdefault("source", lead.source)
        if lead.owner is not None:
            data.setdefault("owner", lead.owner)
        deal = opportunity_create(actor=actor, customer=customer, lead=lead, **data)
    before = audit.snapshot(lead, ["status"])
    now = timezone.now()
    lead.status = LeadStatus.CONVERTED
    lead.converted_customer = customer
    lead.converted_contact = contact
    lead.converted_opportunity = deal
    lead.converted_at = now
    lead.converted_by = actor
    lead.version += 1
    lead.save()
    changes = audit.diff(before, audit.snapshot(lead, ["status"]))
    changes["converted_customer"] = [None, str(customer)]
    if contact is not None:
        changes["converted_contact"] = [None, str(contact)]
    if deal is not None:
        changes["converted_opportunity"] = [None, str(deal)]
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=lead, changes=changes,
                 customer_id=customer.pk)
    return lead


# Short names (the wording); the lead_* names are the canonical ones.
qualify = lead_qualify
disqualify = lead_disqualify
reopen = lead_reopen
convert = lead_convert


# ---------------------------------------------------------------- web forms (LeadForm)


def _clean_form(obj: LeadForm, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in LEADFORM_FIELDS:
            setattr(obj, key, value)
    try:
        obj.full_clean(exclude=["team", "owner", "product_line"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@transaction.atomic
def leadform_create(*, actor, **data: Any) -> LeadForm:
    if not can_manage_forms(actor):
        raise PermissionDenied(_("You may not manage web forms."))
    obj = LeadForm()
    _clean_form(obj, data)
    obj.save()
    audit.record_create(actor=actor, obj=obj, fields=LEADFORM_FIELDS)
    return obj


@transaction.atomic
def leadform_update(*, actor, leadform: LeadForm, **data: Any) -> LeadForm:
    if not can_manage_forms(actor):
        raise PermissionDenied(_("You may not manage web forms."))
    obj = LeadForm.objects.select_for_update().get(pk=leadform.pk)
    before = audit.snapshot(obj, LEADFORM_FIELDS)
    _clean_form(obj, data)
    changes = audit.diff(before, audit.snapshot(obj, LEADFORM_FIELDS))
    if changes:
        obj.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
    return obj
