"""Forms of the customer web UI. They collect and shape input; services validate and save."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Role, Team, User

from .custom_fields import definitions_for, form_field
from .list_selectors import filterable_custom_fields
from .models import (
    Contact,
    Customer,
    CustomFieldDef,
    FieldType,
    Industry,
    SourceChannel,
    Stage,
    Tag,
    Tier,
)
from .normalize import format_phone
from .packs import choice_options, field_help_text, field_label, industry_label, site_choices

# The 34 provincial-level divisions, offered as suggestions (free text stays allowed).
PROVINCES = [
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省",
    "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省",
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
]
TAG_SPLIT = re.compile(r"[,，、;；]+")
# Roles that assign owner, team and sharing of customers.
OWNERSHIP_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER}


def may_assign_ownership(user) -> bool:
    return user.is_superuser or user.role in OWNERSHIP_ROLES


def _team_label(team: Team) -> str:
    return "\u2003" * max(team.depth, 0) + team.name


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return _team_label(obj)


def source_choices() -> list[tuple[str, str]]:
    """Source channels, named and ordered as the applied industry pack names them."""
    pack = dict(site_choices("source_channels"))
    first = [(v, label) for v, label in pack.items() if v in SourceChannel.values]
    return first + [(v, label) for v, label in SourceChannel.choices if v not in pack]


class IndustryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Industry) -> str:
        return industry_label(obj)


def localize_custom_field(field: forms.Field, d: CustomFieldDef) -> forms.Field:
    """Label, help text and choice labels in the active language (industry packs)."""
    field.label = field_label(d)
    field.help_text = field_help_text(d)
    if d.field_type in (FieldType.CHOICE, FieldType.MULTI):
        options = choice_options(d)
        field.choices = ([("", "—")] if d.field_type == FieldType.CHOICE else []) + options
    return field


def assignable_users(user):
    """Users a person may assign customers to: everyone active, a manager only their subtree."""
    qs = User.objects.filter(is_active=True).order_by("display_name", "username")
    if user.is_superuser or user.role != Role.MANAGER:
        return qs
    return qs.filter(Q(team_id__in=user.team_subtree_ids()) | Q(pk=user.pk))


def assignable_teams(user):
    qs = Team.objects.all()
    if user.is_superuser or user.role != Role.MANAGER:
        return qs
    return qs.filter(pk__in=user.team_subtree_ids())


def apply_service_errors(form: forms.BaseForm, exc: ValidationError,
                         field_map: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form fields it names.

    Keys are model field names ("phone") or "custom.<key>" for custom fields;
    `field_map` renames keys to form field names. Unknown keys become form errors
    that still name the field.
    """
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        name = field_map.get(key) or (f"cf_{key[7:]}" if key.startswith("custom.") else key)
        if name in form.fields:
            form.add_error(name, messages)
        elif key == "__all__":
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{key}: {m}" for m in messages])


# ---------------------------------------------------------------- list filters


def _owner_choices() -> list[tuple[str, str]]:
    users = User.objects.filter(is_active=True).order_by("display_name", "username")
    return [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody (pool)"))] + [
        (str(u.pk), str(u)) for u in users]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": _("Name, pinyin, phone…")}))
    tier = forms.ChoiceField(label=_("Tier"), required=False,
                             choices=[("", _("All tiers"))] + list(Tier.choices))
    stage = forms.ChoiceField(label=_("Stage"), required=False,
                              choices=[("", _("All stages"))] + list(Stage.choices))
    owner = forms.ChoiceField(label=_("Account manager"), required=False)
    team = TeamChoiceField(label=_("Region / office"), required=False, queryset=Team.objects.all(),
                           empty_label=_("All teams"))
    industry = IndustryChoiceField(label=_("Industry"), required=False,
                                   queryset=Industry.objects.all(),
                                   empty_label=_("All industries"))
    tag = forms.ModelChoiceField(label=_("Tag"), required=False, queryset=Tag.objects.all(),
                                 empty_label=_("All tags"))
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=lambda: [("", _("All sources"))] + source_choices())
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    BASIC = ("q", "tier", "stage", "owner")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Callable choices: the users query only runs when the form is rendered or the
        # owner filter is validated, not for HTMX table refreshes.
        self.fields["owner"].choices = _owner_choices
        industry_id = None
        raw = self.data.get("industry") if self.is_bound else None
        if raw and str(raw).isdigit():
            industry_id = int(raw)
        self.custom_defs: list[CustomFieldDef] = filterable_custom_fields(industry_id)
        for d in self.custom_defs:
            self.fields[f"cf_{d.key}"] = self._custom_filter_field(d)

    @staticmethod
    def _custom_filter_field(d: CustomFieldDef) -> forms.Field:
        label = field_label(d)
        if d.field_type == FieldType.BOOL:
            return forms.ChoiceField(label=label, required=False,
                                     choices=[("", _("Any")), ("yes", _("Yes")), ("no", _("No"))])
        if d.field_type == FieldType.CHOICE:
            return forms.ChoiceField(label=label, required=False,
                                     choices=[("", _("Any"))] + choice_options(d))
        return forms.CharField(label=label, required=False, max_length=100)

    def basic_fields(self):
        return [self[n] for n in self.BASIC]

    def more_fields(self):
        return [f for f in self if f.name not in self.BASIC and not f.is_hidden]

    def active_more_count(self) -> int:
        """How many of the folded-away filters are set (to open the panel when > 0)."""
        if not self.is_bound:
            return 0
        return sum(1 for f in self.more_fields() if self.data.get(f.name))


# ---------------------------------------------------------------- customer


class CustomerForm(forms.ModelForm):
    """Every customer field a person edits, grouped in fieldsets.

    Saving goes through `services.customer_create/update`; this form only turns the
    request into the keyword arguments they take (`service_data`). Phone and
    e-mail are plain text here because the services normalise what people type.
    """

    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=60,
        help_text=_("Mobile or landline, e.g. 138 0013 8000 or (023) 6532 1234 转 808"))
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    website = forms.CharField(label=_("Website"), required=False, max_length=200)
    country = forms.CharField(label=_("Country"), max_length=2, initial="CN",
                              help_text=_("Two-letter code: CN for China, or e.g. US, DE, JP."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separate tags with commas."))
    team = TeamChoiceField(label=_("Region / office"), required=False, queryset=Team.objects.all())
    industry = IndustryChoiceField(label=_("Industry"), required=False,
                                   queryset=Industry.objects.all())
    source = forms.ChoiceField(label=_("Source channel"), required=False,
                               choices=lambda: [("", "—")] + source_choices())
    shared_with = forms.ModelMultipleChoiceField(
        label=_("Shared with"), required=False, queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text=_("Colleagues who may also see and edit this customer."))

    class Meta:
        model = Customer
        fields: ClassVar[list[str]] = [
            "kind", "name", "short_name", "country", "province", "city", "district", "street",
            "postal_code", "phone", "phone_ext", "email", "website", "industry", "source",
            "tier", "stage", "tags", "owner", "team", "shared_with", "credit_days",
            "credit_limit", "consent_email", "consent_sms", "consent_phone", "consent_mail",
            "notes",
        ]
        widgets: ClassVar[dict[str, Any]] = {
            "kind": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "province": forms.TextInput(attrs={"list": "provinces"}),
        }

    FIELDSETS: ClassVar[list[tuple[str, Any, list[str]]]] = [
        ("basic", _("Basic"), ["kind", "name", "short_name", "notes"]),
        ("address", _("Address"), ["country", "province", "city", "district", "street",
                                   "postal_code"]),
        ("contact", _("Contact details"), ["phone", "phone_ext", "email", "website"]),
        ("classification", _("Classification"), ["industry", "source", "tier", "stage",
                                                 "tags"]),
        ("ownership", _("Ownership"), ["owner", "team", "shared_with"]),
        ("credit", _("Credit & consent"), ["credit_days", "credit_limit", "consent_email",
                                          "consent_sms", "consent_phone", "consent_mail"]),
    ]
    WIDE: ClassVar[set[str]] = {"notes", "street", "tags", "shared_with"}
    OWNERSHIP = ("owner", "team", "shared_with")

    def __init__(self, *args: Any, user, industry_id: int | None = None, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        initial = kwargs.setdefault("initial", {})
        if instance is not None and instance.pk:
            initial.setdefault("phone", format_phone(instance.phone))
            initial.setdefault("tags", ", ".join(t.name for t in instance.tags.all()))
            for key, value in (instance.custom or {}).items():
                initial.setdefault(f"cf_{key}", value)
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["province"].label = _("Province / state")
        if may_assign_ownership(user):
            # What is already set stays selectable, even outside a manager's subtree.
            current = instance if instance is not None and instance.pk else None
            users = assignable_users(user)
            teams = assignable_teams(user)
            if current is not None:
                keep = [current.owner_id, *current.shared_with.values_list("pk", flat=True)]
                users = User.objects.filter(Q(pk__in=users.values("pk")) | Q(pk__in=keep))
                users = users.order_by("display_name", "username")
                teams = Team.objects.filter(Q(pk__in=teams.values("pk")) | Q(pk=current.team_id))
            self.fields["owner"].queryset = users
            self.fields["team"].queryset = teams
            self.fields["shared_with"].queryset = users
        else:
            for name in self.OWNERSHIP:
                del self.fields[name]
        if industry_id is None:
            industry_id = self._industry_id()
        self.custom_defs = definitions_for(industry_id)
        for d in self.custom_defs:
            self.fields[f"cf_{d.key}"] = localize_custom_field(form_field(d), d)

    def _industry_id(self) -> int | None:
        if self.is_bound:
            raw = self.data.get(self.add_prefix("industry"))
            return int(raw) if raw and str(raw).isdigit() else None
        if self.instance and self.instance.pk:
            return self.instance.industry_id
        raw = self.initial.get("industry")
        return getattr(raw, "pk", raw) or None

    def _post_clean(self) -> None:
        """Model validation is the service's job (it normalises input first)."""

    def clean_website(self) -> str:
        value = (self.cleaned_data.get("website") or "").strip()
        if value and "://" not in value:
            value = f"https://{value}"
        return value

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "CN").strip().upper()

    def fieldsets(self) -> list[dict[str, Any]]:
        groups = []
        for key, legend, names in self.FIELDSETS:
            fields: ClassVar[list[str]] = [self[n] for n in names if n in self.fields]
            if fields:
                groups.append({"key": key, "legend": legend, "fields": fields})
        return groups

    def custom_fields(self):
        return [self[f"cf_{d.key}"] for d in self.custom_defs]

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for customer_create / customer_update."""
        data = {n: self.cleaned_data[n] for n in self._meta.fields
                if n in self.fields and n in self.cleaned_data and n != "tags"}
        data["tags"] = [t.strip() for t in TAG_SPLIT.split(self.cleaned_data.get("tags") or "")
                        if t.strip()]
        for key in ("phone", "email", "website"):
            data[key] = (data.get(key) or "").strip()
        data["custom"] = {
            d.key: self._custom_value(d, self.cleaned_data.get(f"cf_{d.key}"))
            for d in self.custom_defs
        }
        return data

    @staticmethod
    def _custom_value(d: CustomFieldDef, value: Any) -> Any:
        if d.field_type == FieldType.BOOL:
            return bool(value)
        if value is None:
            return ""
        return value


# ---------------------------------------------------------------- contact


class ContactForm(forms.ModelForm):
    mobile = forms.CharField(label=_("Mobile"), required=False, max_length=60)
    phone = forms.CharField(label=_("Office phone"), required=False, max_length=60)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)

    class Meta:
        model = Contact
        fields: ClassVar[list[str]] = [
            "name", "title", "department", "mobile", "phone", "phone_ext", "email", "wechat",
            "is_primary", "consent_email", "consent_sms", "consent_phone", "notes",
        ]
        widgets: ClassVar[dict[str, Any]] = {"notes": forms.Textarea(attrs={"rows": 3})}

    WIDE: ClassVar[set[str]] = {"notes"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        if instance is not None and instance.pk:
            initial = kwargs.setdefault("initial", {})
            initial.setdefault("mobile", format_phone(instance.mobile))
            initial.setdefault("phone", format_phone(instance.phone))
        super().__init__(*args, **kwargs)

    def _post_clean(self) -> None:
        """Validation and normalisation happen in the contact services."""

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("mobile", "phone", "email"):
            data[key] = (data.get(key) or "").strip()
        return data
