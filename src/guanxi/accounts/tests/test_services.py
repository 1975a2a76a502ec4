import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.accounts import services
from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.core.models import AuditEntry
from guanxi.testing.factories import CustomerFactory


@pytest.mark.django_db
def test_create_user_with_role_and_team_is_audited_without_password(users, org):
    u = services.user_create(actor=users["admin"], username="wangmin", password="Shui-2024-qing",
                             role=Role.MANAGER, team=org["west"], display_name="王敏",
                             email="WangMin@Example.cn")
    assert u.check_password("Shui-2024-qing") and u.role == Role.MANAGER
    assert u.team == org["west"] and u.email == "wangmin@example.cn" and not u.is_staff
    entry = AuditEntry.objects.get(model="accounts.user", object_id=u.pk)
    assert entry.changes["role"] == [None, "manager"] and "password" not in entry.changes


@pytest.mark.django_db
def test_create_user_validates(users):
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=users["admin"], username="REP", password="123",
                             role="boss", email="nope")
    assert set(exc.value.message_dict) == {"username", "password", "role", "email"}
    assert User.objects.filter(username__iexact="rep").count() == 1


@pytest.mark.django_db
def test_non_admin_writes_nothing(users, org):
    for role in ("director", "manager", "rep"):
        with pytest.raises(PermissionDenied):
            services.user_create(actor=users[role], username="x", password="Shui-2024-qing")
        with pytest.raises(PermissionDenied):
            services.team_create(actor=users[role], name="新办事处", parent=org["east"])
        with pytest.raises(PermissionDenied):
            services.user_update(actor=users[role], user=users[role], role=Role.ADMIN)
    assert not User.objects.filter(username="x").exists()
    assert not Team.objects.filter(name="新办事处").exists()
    assert User.objects.get(pk=users["rep"].pk).role == Role.REP


@pytest.mark.django_db
def test_last_admin_cannot_demote_or_deactivate_themselves(users):
    admin = users["admin"]
    with pytest.raises(ValidationError) as exc:
        services.user_update(actor=admin, user=admin, role=Role.DIRECTOR)
    assert "role" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.user_update(actor=admin, user=admin, is_active=False)
    assert "is_active" in exc.value.message_dict
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active
    # With a second administrator it is allowed.
    services.user_update(actor=admin, user=users["director"], role=Role.ADMIN)
    assert User.objects.get(pk=users["director"].pk).is_staff
    services.user_update(actor=admin, user=admin, role=Role.DIRECTOR)
    admin.refresh_from_db()
    assert admin.role == Role.DIRECTOR and not admin.is_superuser


@pytest.mark.django_db
def test_reset_password(users):
    services.user_set_password(actor=users["admin"], user=users["rep"], password="Xin-mima-2025")
    users["rep"].refresh_from_db()
    assert users["rep"].check_password("Xin-mima-2025")
    with pytest.raises(ValidationError) as exc:
        services.user_set_password(actor=users["admin"], user=users["rep"], password="rep")
    assert "password" in exc.value.message_dict
    entry = AuditEntry.objects.filter(model="accounts.user", object_id=users["rep"].pk).first()
    assert "Xin" not in str(entry.changes)


@pytest.mark.django_db
def test_team_move_updates_subtree_paths(users, org):
    east, shanghai, west = org["east"], org["shanghai"], org["west"]
    office = services.team_create(actor=users["admin"], name="浦东营业部",
                                  kind=TeamKind.DEPARTMENT, parent=shanghai)
    assert office.path == f"{shanghai.path}{office.pk}/"
    services.team_update(actor=users["admin"], team=shanghai, parent=west)
    shanghai.refresh_from_db()
    office.refresh_from_db()
    assert shanghai.path == f"{west.path}{shanghai.pk}/"
    assert office.path == f"{west.path}{shanghai.pk}/{office.pk}/"
    assert shanghai.pk not in east.subtree_ids() and office.pk in west.subtree_ids()
    # The East manager no longer manages the Shanghai rep; a West manager would.
    assert users["rep"].team_id not in users["manager"].team_subtree_ids()
    entry = AuditEntry.objects.filter(model="accounts.team", object_id=shanghai.pk).first()
    assert entry.changes["parent"] == ["华东区", "西南区"]


@pytest.mark.django_db
def test_team_cannot_move_under_itself_and_names_are_unique_per_parent(users, org):
    with pytest.raises(ValidationError) as exc:
        services.team_update(actor=users["admin"], team=org["east"], parent=org["shanghai"])
    assert "parent" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.team_create(actor=users["admin"], name="上海办事处", parent=org["east"])
    assert "name" in exc.value.message_dict
    org["east"].refresh_from_db()
    assert org["east"].parent == org["company"]


@pytest.mark.django_db
def test_only_empty_teams_are_deleted(users, org):
    with pytest.raises(ValidationError):
        services.team_delete(actor=users["admin"], team=org["east"])  # has children
    with pytest.raises(ValidationError):
        services.team_delete(actor=users["admin"], team=org["shanghai"])  # has the rep
    CustomerFactory(team=org["hangzhou"])
    with pytest.raises(ValidationError):
        services.team_delete(actor=users["admin"], team=org["hangzhou"])  # has a customer
    empty = services.team_create(actor=users["admin"], name="苏州办事处", parent=org["east"])
    services.team_delete(actor=users["admin"], team=empty)
    assert not Team.objects.filter(pk=empty.pk).exists()
    assert AuditEntry.objects.filter(model="accounts.team", object_id=empty.pk,
                                     action="purge").exists()
