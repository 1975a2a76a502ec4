import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from guanxi.core import site_settings
from guanxi.core.models import AuditEntry
from guanxi.parties import config_services as cs
from guanxi.parties import services
from guanxi.parties.custom_fields import clean_custom, clean_value
from guanxi.parties.models import CustomFieldDef, FieldType, Industry


def _def(field_type, **kw):
    return CustomFieldDef(key="f", label="F", field_type=field_type, **kw)


@pytest.mark.parametrize("field_type,raw,expected", [
    (FieldType.TEXT, "  南京 ", "南京"),
    (FieldType.NUMBER, "1,500", 1500),
    (FieldType.NUMBER, "2.5", 2.5),
    (FieldType.DATE, "2025-06-30", "2025-06-30"),
    (FieldType.BOOL, "是", True),
    (FieldType.BOOL, "no", False),
])
def test_each_type_cleans(field_type, raw, expected):
    assert clean_value(_def(field_type), raw) == expected


def test_choice_and_multi():
    d = _def(FieldType.CHOICE, choices=["一级", {"value": "二级", "label": {"en": "Tier 2"}}])
    assert clean_value(d, "二级") == "二级"
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        clean_value(d, "三级")
    assert "“三级” is not one of the choices: 一级、二级" in exc.value.messages[0]
    m = _def(FieldType.MULTI, choices=["甲", "乙", "丙"])
    assert clean_value(m, "甲，乙") == ["甲", "乙"]
    with pytest.raises(ValidationError) as exc:
        clean_value(m, ["甲", "丁"])
    assert "丁" in exc.value.messages[0]


@pytest.mark.parametrize("field_type,raw", [
    (FieldType.NUMBER, "一千"), (FieldType.DATE, "31/12/2025"), (FieldType.BOOL, "maybe"),
])
def test_bad_values_say_why(field_type, raw):
    with pytest.raises(ValidationError) as exc:
        clean_value(_def(field_type), raw)
    assert raw in exc.value.messages[0]


def test_required():
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        clean_value(_def(FieldType.TEXT, required=True), "")
    assert exc.value.messages == ["This field is required."]
    assert clean_value(_def(FieldType.BOOL, required=True), "") is None  # unticked is allowed


@pytest.mark.django_db
def test_admin_defines_fields_and_customers_are_validated(users):
    admin = users["admin"]
    d = cs.custom_field_create(actor=admin, key="level", label="经销商级别",
                               field_type=FieldType.CHOICE, choices="一级\n二级\n\n一级\n",
                               industry=None, required=True, help_text="", order=1)
    assert d.choices == ["一级", "二级"]
    assert AuditEntry.objects.filter(model="parties.customfielddef", action="create").exists()
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=users["rep"], name="甲", custom={"level": "五级"})
    assert "custom.level" in exc.value.message_dict
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.customer_create(actor=users["rep"], name="甲", custom={})
    assert exc.value.message_dict["custom.level"] == ["This field is required."]
    c = services.customer_create(actor=users["rep"], name="甲", custom={"level": "二级"})
    assert c.custom == {"level": "二级"}


@pytest.mark.django_db
def test_field_definition_is_validated(users):
    admin = users["admin"]
    with pytest.raises(ValidationError) as exc:
        cs.custom_field_create(actor=admin, key="Bad Key", label="", field_type=FieldType.MULTI,
                               choices="", order=0)
    assert set(exc.value.message_dict) == {"key", "label", "choices"}
    cs.custom_field_create(actor=admin, key="size", label="规模", field_type=FieldType.NUMBER,
                           choices="ignored", order=0)
    assert CustomFieldDef.objects.get(key="size").choices == []
    with pytest.raises(ValidationError) as exc:
        cs.custom_field_create(actor=admin, key="size", label="又一个", field_type="text")
    assert "key" in exc.value.message_dict


@pytest.mark.django_db
def test_only_admin_writes_fields(users):
    with pytest.raises(PermissionDenied):
        cs.custom_field_create(actor=users["director"], key="x", label="X", field_type="text")
    assert CustomFieldDef.objects.count() == 0


@pytest.mark.django_db
def test_update_keeps_pack_translations_and_industry_scope(users):
    from guanxi.parties.packs import apply_pack

    apply_pack("wholesale")
    d = CustomFieldDef.objects.get(key="distributor_level")
    cs.custom_field_update(actor=users["admin"], field=d,
                           choices="总代理\n一级经销商\n二级经销商\n零售终端\n社区店")
    d.refresh_from_db()
    assert d.choices[0] == {"value": "总代理", "label": d.choices[0]["label"]}
    assert d.choices[0]["label"]["en"] == "Master distributor"
    assert d.choices[-1] == "社区店"
    ind = Industry.objects.get(code="catering")
    cs.custom_field_update(actor=users["admin"], field=d, industry=ind)
    assert clean_custom(None, {}) == {k: None for k in
                                      ["annual_purchase_wan", "payment_terms",
                                       "general_taxpayer", "delivery_area"]} | {"main_categories": []}


@pytest.mark.django_db
def test_industry_create_and_intervals(users):
    ind = cs.industry_create(actor=users["admin"], code="Water", name="水务")
    assert ind.code == "water"
    with pytest.raises(ValidationError) as exc:
        cs.industry_create(actor=users["admin"], code="water", name="水务")
    assert set(exc.value.message_dict) == {"code", "name"}
    cs.set_contact_intervals(actor=users["admin"], intervals={"A": 7, "B": "21", "C": 60})
    assert site_settings.contact_interval_days() == {"A": 7, "B": 21, "C": 60}
    with pytest.raises(ValidationError) as exc:
        cs.set_contact_intervals(actor=users["admin"], intervals={"A": 0, "B": 1, "C": "x"})
    assert set(exc.value.message_dict) == {"A", "C"}
    with pytest.raises(PermissionDenied):
        cs.set_contact_intervals(actor=users["manager"], intervals={"A": 1, "B": 1, "C": 1})
    assert site_settings.contact_interval_days() == {"A": 7, "B": 21, "C": 60}


@pytest.mark.django_db
def test_delete_keeps_customer_values(users):
    from guanxi.ui.selectors import custom_field_usage

    d = cs.custom_field_create(actor=users["admin"], key="brand", label="品牌",
                               field_type="text")
    services.customer_create(actor=users["rep"], name="甲", custom={"brand": "海尔"})
    services.customer_create(actor=users["rep"], name="乙", custom={"brand": ""})
    services.customer_create(actor=users["rep"], name="丙")
    assert custom_field_usage("brand") == 1
    cs.custom_field_delete(actor=users["admin"], field=d)
    assert not CustomFieldDef.objects.filter(key="brand").exists()
    from guanxi.parties.models import Customer

    assert Customer.objects.get(name="甲").custom == {"brand": "海尔"}
