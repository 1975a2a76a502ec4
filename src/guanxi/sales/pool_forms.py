"""Forms of the pool pages: filters, claim/release notes, allocation, pool settings."""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Role, Team, User
from guanxi.parties.models import Industry, Tier

from .models import OwnerChangeReason, Pool
from .pool import OWNER_ROLES


def assignable_users(actor) -> QuerySet[User]:
    """Active users who may own customers; a manager only those of the team subtree."""
    qs = User.objects.filter(is_active=True).filter(
        Q(role__in=OWNER_ROLES) | Q(is_superuser=True)).order_by("display_name", "username")
    if not actor.is_superuser and actor.role == Role.MANAGER:
        qs = qs.filter(team_id__in=actor.team_subtree_ids())
    return qs


class PoolFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    city = forms.CharField(label=_("City"), required=False, max_length=50)
    industry = forms.ModelChoiceField(label=_("Industry"), required=False,
                                      queryset=Industry.objects.order_by("name"))
    tier = forms.ChoiceField(label=_("Tier"), required=False,
                             choices=[("", _("All tiers")), *Tier.choices])


class ReleaseForm(forms.Form):
    note = forms.CharField(label=_("Why (optional)"), required=False, max_length=200)


class AllocateForm(forms.Form):
    """Target rep and note of an allocation or a bulk reassignment."""

    to_user = forms.ModelChoiceField(label=_("Give to"), queryset=User.objects.none())
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = assignable_users(actor)


class ReassignFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Account manager"), required=False,
                                   queryset=User.objects.none())
    in_pool = forms.BooleanField(label=_("Only customers in the pool"), required=False)
    team = forms.ModelChoiceField(label=_("Region / office"), required=False,
                                  queryset=Team.objects.order_by("path"))
    city = forms.CharField(label=_("City"), required=False, max_length=50)
    tier = forms.ChoiceField(label=_("Tier"), required=False,
                             choices=[("", _("All tiers")), *Tier.choices])

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(actor)
        if not actor.is_superuser and actor.role == Role.MANAGER:
            self.fields["team"].queryset = Team.objects.filter(
                pk__in=actor.team_subtree_ids()).order_by("path")


class HistoryFilterForm(forms.Form):
    customer = forms.CharField(label=_("Customer or lead"), required=False, max_length=100)
    user = forms.ModelChoiceField(label=_("User"), required=False,
                                  queryset=User.objects.order_by("display_name", "username"))
    reason = forms.ChoiceField(label=_("Reason"), required=False,
                               choices=[("", _("All reasons")), *OwnerChangeReason.choices])


class PoolSettingsForm(forms.ModelForm):
    class Meta:
        model = Pool
        fields = ("name", "team", "product_line", "daily_claim_limit",
                  "return_after_days_without_contact", "return_after_days_without_open_deal",
                  "active")
        help_texts = {  # noqa: RUF012 - Django reads it once
            "return_after_days_without_contact": _("0 turns this rule off."),
            "return_after_days_without_open_deal": _("0 turns this rule off."),
        }
