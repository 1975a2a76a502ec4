import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.parties import services
from guanxi.parties.models import Customer


@pytest.mark.django_db
def test_create_normalises_and_audits(users):
    c = services.customer_create(actor=users["rep"], name="重庆兴瑞环保设备有限公司",
                                 phone="(023)6532-1234转808", email=" Info@XR.cn ")
    assert c.phone == "+862365321234" and c.phone_ext == "808"
    assert c.email == "info@xr.cn"
    assert c.owner == users["rep"] and c.team == users["rep"].team
    assert "cqxr" in c.search_text and "重慶" in c.search_text
    entry = AuditEntry.objects.get(object_id=c.pk, model="parties.customer")
    assert entry.action == "create" and entry.changes["name"] == [None, c.name]


@pytest.mark.django_db
def test_bad_input_names_the_field_and_writes_nothing(users):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=users["rep"], name="X", phone="12", email="nope")
    assert set(exc.value.message_dict) >= {"phone", "email"}
    assert Customer.all_objects.count() == 0 and AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_concurrent_edit_is_a_conflict_not_an_overwrite(users):
    c = services.customer_create(actor=users["rep"], name="上海清源水务")
    services.customer_update(actor=users["manager"], customer=c, version=1, city="上海")
    with pytest.raises(ConflictError) as exc:
        services.customer_update(actor=users["rep"], customer=c, version=1, city="苏州")
    assert exc.value.current_version == 2
    assert exc.value.theirs[0]["changes"]["city"] == ["", "上海"]
    assert Customer.objects.get(pk=c.pk).city == "上海"


@pytest.mark.django_db
def test_refused_write_leaves_database_unchanged(users):
    c = services.customer_create(actor=users["rep"], name="上海清源水务")
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=users["rep2"], customer=c, version=1, name="改名")
    with pytest.raises(PermissionDenied):
        services.customer_delete(actor=users["readonly"], customer=c)
    c.refresh_from_db()
    assert c.name == "上海清源水务" and c.deleted_at is None and c.version == 1
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_delete_to_recycle_bin_and_restore(users):
    c = services.customer_create(actor=users["rep"], name="上海清源水务")
    services.customer_delete(actor=users["rep"], customer=c)
    assert not Customer.objects.filter(pk=c.pk).exists()
    with pytest.raises(PermissionDenied):
        services.customer_restore(actor=users["rep"], customer=c)
    services.customer_restore(actor=users["admin"], customer=c)
    assert Customer.objects.filter(pk=c.pk).exists()
    actions = list(AuditEntry.objects.filter(object_id=c.pk).values_list("action", flat=True))
    assert actions == ["restore", "delete", "create"]


@pytest.mark.django_db
def test_visibility_by_role(users, org):
    own = services.customer_create(actor=users["rep"], name="甲")
    other = services.customer_create(actor=users["rep2"], name="乙")
    pool = services.customer_create(actor=users["director"], name="丙")
    for role in ("director", "service", "finance", "readonly", "marketing", "admin"):
        assert Customer.objects.visible_to(users[role]).count() == 3
    assert set(Customer.objects.visible_to(users["rep"])) == {own, pool}
    assert set(Customer.objects.visible_to(users["manager"])) == {own, pool}
    services.customer_update(actor=users["rep2"], customer=other, version=1,
                             shared_with=[users["rep"]])
    assert set(Customer.objects.visible_to(users["rep"])) == {own, pool, other}
