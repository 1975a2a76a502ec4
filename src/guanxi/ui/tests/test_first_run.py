import pytest
from django.urls import reverse

from guanxi.core import site_settings
from guanxi.parties.packs import apply_pack
from guanxi.testing.factories import CustomerFactory, UserFactory


@pytest.mark.django_db
def test_admin_on_an_empty_database_sees_three_steps(client, users):
    client.force_login(users["admin"])
    resp = client.get(reverse("ui:home"))
    assert resp.status_code == 200
    assert next(t.name for t in resp.templates) == "ui/welcome.html"
    status = resp.context["status"]
    assert status.people_done and not status.customers and not status.pack  # org fixture
    page = resp.content.decode()
    assert reverse("accounts:team_list") in page and reverse("ui:pack_list") in page
    assert page.count('class="card step') == 3 and page.count("step-done") == 1


@pytest.mark.django_db
def test_steps_tick_as_they_are_done(client):
    admin = UserFactory(username="boss", role="admin")
    client.force_login(admin)
    status = client.get(reverse("ui:home")).context["status"]
    assert not status.users and not status.teams and not status.pack
    apply_pack("equipment", actor=admin)
    status = client.get(reverse("ui:home")).context["status"]
    assert status.pack == "equipment" and "step-done" in client.get("/").content.decode()


@pytest.mark.django_db
def test_others_and_non_empty_databases_get_my_day(client, users):
    client.force_login(users["rep"])
    assert next(t.name for t in client.get("/").templates) == "ui/home.html"
    client.force_login(users["admin"])
    CustomerFactory()
    assert next(t.name for t in client.get("/").templates) == "ui/home.html"
    # The checklist stays reachable for administrators, and only for them.
    assert client.get(reverse("ui:welcome")).status_code == 200
    client.force_login(users["director"])
    assert client.get(reverse("ui:welcome")).status_code == 404


@pytest.mark.django_db
def test_welcome_is_dismissible(client, users):
    client.force_login(users["admin"])
    resp = client.post(reverse("ui:welcome_dismiss"))
    assert resp.status_code == 302 and site_settings.get("first_run_dismissed") is True
    assert next(t.name for t in client.get("/").templates) == "ui/home.html"


@pytest.mark.django_db
def test_anonymous_home_redirects_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302 and "/login/" in resp["Location"]
