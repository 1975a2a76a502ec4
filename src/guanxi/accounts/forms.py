"""Forms of the administration screens. They only shape input; services validate and write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Role, Team, TeamKind


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form: by field where the form has it."""
    if hasattr(exc, "error_dict"):
        for key, messages in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


class TeamChoiceField(forms.ModelChoiceField):
    """Teams in tree order, indented by depth."""

    def label_from_instance(self, obj: Team) -> str:
        return "\u3000" * obj.depth + obj.name


def team_field(*, label, required: bool = False, exclude: Team | None = None):
    qs = Team.objects.order_by("path")
    if exclude is not None and exclude.pk:
        qs = qs.exclude(path__startswith=exclude.path)
    return TeamChoiceField(queryset=qs, required=required, label=label,
                           empty_label=_("— none —"))


class UserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150,
                               help_text=_("Used to log in: letters, digits and @/./+/-/_"))
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False,
                                   help_text=_("Shown to colleagues, e.g. 王敏"))
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.REP)
    is_active = forms.BooleanField(label=_("Active (may log in)"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"] = team_field(label=_("Team"))
        self.order_fields(["username", "display_name", "role", "team", "email", "phone",
                           "is_active"])


class PasswordForm(forms.Form):
    password1 = forms.CharField(label=_("New password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("New password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class UserCreateForm(UserForm, PasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].label = _("Password")
        self.fields["password2"].label = _("Password again")


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", _("All roles"))] + list(Role.choices))
    active = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("All")), ("1", _("Active")), ("0", _("Deactivated"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"] = team_field(label=_("Team"))
        self.fields["team"].empty_label = _("All teams")


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices, initial=TeamKind.OFFICE)
    city = forms.CharField(label=_("City"), max_length=50, required=False)

    def __init__(self, *args, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = team_field(label=_("Belongs to"), exclude=team)
        self.fields["parent"].empty_label = _("— top level —")
        self.fields["parent"].help_text = _("Moving a team moves its whole subtree with it.")
        self.order_fields(["name", "kind", "parent", "city"])
