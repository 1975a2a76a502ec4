import pytest
from django.urls import reverse

from guanxi.accounts.models import Role, Team, User

ADMIN_PAGES = [
    ("accounts:user_list", []), ("accounts:user_create", []), ("accounts:user_edit", ["rep"]),
    ("accounts:user_password", ["rep"]), ("accounts:team_list", []),
    ("accounts:team_create", []), ("accounts:team_edit", ["team"]),
]


def _url(name, args, users, org):
    resolved = [users["rep"].pk if a == "rep" else org["shanghai"].pk for a in args]
    return reverse(name, args=resolved)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["director", "manager", "rep", "service", "readonly"])
def test_non_admins_get_404(client, users, org, role):
    client.force_login(users[role])
    for name, args in ADMIN_PAGES:
        assert client.get(_url(name, args, users, org)).status_code == 404, name
    resp = client.post(reverse("accounts:user_create"), {
        "username": "sneaky", "role": "admin", "password1": "Shui-2024-qing",
        "password2": "Shui-2024-qing"})
    assert resp.status_code == 404 and not User.objects.filter(username="sneaky").exists()
    resp = client.post(reverse("accounts:team_delete", args=[org["hangzhou"].pk]))
    assert resp.status_code == 404 and Team.objects.filter(pk=org["hangzhou"].pk).exists()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    resp = client.get(reverse("accounts:user_list"))
    assert resp.status_code == 302 and "/login/" in resp["Location"]


@pytest.mark.django_db
def test_admin_pages_render(client, users, org):
    client.force_login(users["admin"])
    for name, args in ADMIN_PAGES:
        assert client.get(_url(name, args, users, org)).status_code == 200, name
    page = client.get(reverse("accounts:team_list")).content.decode()
    assert page.index("华东区") < page.index("上海办事处") < page.index("西南区")
    page = client.get(reverse("accounts:user_list"), {"team": org["east"].pk}).content.decode()
    assert "rep" in page and "rep2" not in page and "manager" in page


@pytest.mark.django_db
def test_admin_creates_user_with_role_and_team(client, users, org):
    client.force_login(users["admin"])
    resp = client.post(reverse("accounts:user_create"), {
        "username": "lijun", "display_name": "李军", "role": Role.REP,
        "team": org["hangzhou"].pk, "is_active": "on", "email": "",
        "phone": "", "password1": "Shui-2024-qing", "password2": "Shui-2024-qing"})
    assert resp.status_code == 302
    u = User.objects.get(username="lijun")
    assert u.role == Role.REP and u.team == org["hangzhou"] and u.is_active
    assert u.check_password("Shui-2024-qing")


@pytest.mark.django_db
def test_create_user_form_shows_errors(client, users):
    client.force_login(users["admin"])
    resp = client.post(reverse("accounts:user_create"), {
        "username": "rep", "role": Role.REP, "password1": "a", "password2": "b"})
    assert resp.status_code == 200 and "password2" in resp.context["form"].errors
    resp = client.post(reverse("accounts:user_create"), {
        "username": "rep", "role": Role.REP, "password1": "123", "password2": "123"})
    form = resp.context["form"]
    assert "username" in form.errors and "password1" in form.errors
    assert User.objects.filter(username="rep").count() == 1


@pytest.mark.django_db
def test_last_admin_protection_in_the_screen(client, users):
    admin = users["admin"]
    client.force_login(admin)
    resp = client.post(reverse("accounts:user_edit", args=[admin.pk]), {
        "username": "admin", "role": Role.ADMIN, "email": "", "phone": "",
        "display_name": "", "team": ""})  # is_active unticked
    assert resp.status_code == 200 and "is_active" in resp.context["form"].errors
    admin.refresh_from_db()
    assert admin.is_active


@pytest.mark.django_db
def test_team_move_through_the_screen(client, users, org):
    client.force_login(users["admin"])
    shanghai = org["shanghai"]
    resp = client.post(reverse("accounts:team_edit", args=[shanghai.pk]), {
        "name": "上海分公司", "kind": "office", "parent": org["west"].pk, "city": "上海"})
    assert resp.status_code == 302
    shanghai.refresh_from_db()
    assert shanghai.name == "上海分公司" and shanghai.path.startswith(org["west"].path)
    # The form never offers a team's own subtree as its new parent.
    resp = client.get(reverse("accounts:team_edit", args=[org["west"].pk]))
    choices = [c[0].value for c in resp.context["form"].fields["parent"].choices if c[0]]
    assert shanghai.pk not in choices and org["west"].pk not in choices


@pytest.mark.django_db
def test_reset_password_screen(client, users):
    client.force_login(users["admin"])
    url = reverse("accounts:user_password", args=[users["rep"].pk])
    resp = client.post(url, {"password1": "Xin-mima-2025", "password2": "Xin-mima-2025"})
    assert resp.status_code == 302
    users["rep"].refresh_from_db()
    assert users["rep"].check_password("Xin-mima-2025")
