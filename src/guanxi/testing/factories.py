"""factory_boy factories for tests (and nothing else)."""

from __future__ import annotations

import factory
from django.utils import timezone

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.activities.models import Interaction
from guanxi.parties.models import Contact, Customer
from guanxi.parties.search import build_search_text


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"团队{n}")
    kind = TeamKind.OFFICE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.REP
    password = factory.PostGenerationMethodCall("set_password", "pw-Guanxi-123")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    """Creates rows directly (tests of services call the services themselves)."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"客户{n}有限公司")
    city = "上海"
    tier = "B"

    @factory.post_generation
    def index(obj, create, extracted, **kwargs):
        if create:
            Customer.all_objects.filter(pk=obj.pk).update(search_text=build_search_text(obj))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    subject = factory.Sequence(lambda n: f"电话沟通{n}")
    occurred_at = factory.LazyFunction(timezone.now)
