import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from guanxi.core import site_settings
from guanxi.core.models import AuditEntry
from guanxi.parties import packs
from guanxi.parties.custom_fields import clean_custom, definitions_for
from guanxi.parties.models import CustomFieldDef, FieldType, Industry, SourceChannel


def test_two_packs_ship_with_three_languages():
    codes = [p.code for p in packs.available_packs()]
    assert codes[:2] == ["equipment", "wholesale"]
    for pack in packs.available_packs():
        for spec in pack.custom_fields:
            assert set(spec["label"]) == set(packs.LANGS), spec["key"]
            for choice in spec.get("choices", []):
                assert set(choice["label"]) == set(packs.LANGS), choice
        for items in pack.choices.values():
            for choice in items:
                assert set(choice["label"]) == set(packs.LANGS), choice
        assert {c["value"] for c in pack.choices["source_channels"]} <= set(SourceChannel.values)
        assert len(pack.choices["sales_stages"]) >= 5


@pytest.mark.django_db
def test_apply_equipment_creates_fields_industries_and_stages(users):
    result = packs.apply_pack("equipment", actor=users["admin"])
    assert "field:capacity_tpd" in result.created
    fields = {d.key: d for d in CustomFieldDef.objects.all()}
    assert fields["capacity_tpd"].label == "处理规模(吨/日)"
    assert fields["capacity_tpd"].field_type == FieldType.NUMBER
    assert fields["equipment_type"].field_type == FieldType.MULTI
    assert fields["needs_installation"].field_type == FieldType.BOOL
    assert fields["maintenance_due"].field_type == FieldType.DATE
    assert all(d.pack == "equipment" for d in fields.values())
    assert fields["gmp_validation"].industry == Industry.objects.get(code="pharma")
    stages = site_settings.get("choices")["sales_stages"]
    assert [s["label"]["zh-hans"] for s in stages] == [
        "需求确认", "现场勘察", "方案设计", "报价", "招投标", "合同谈判", "签约"]
    assert site_settings.get("industry_pack") == "equipment"
    assert AuditEntry.objects.filter(model="parties.customfielddef", action="create").count() \
        == len(fields)


@pytest.mark.django_db
def test_apply_is_idempotent_and_repairs_edits(users):
    packs.apply_pack("equipment")
    n_fields, n_ind = CustomFieldDef.objects.count(), Industry.objects.count()
    n_audit = AuditEntry.objects.count()
    result = packs.apply_pack("equipment")
    assert (CustomFieldDef.objects.count(), Industry.objects.count()) == (n_fields, n_ind)
    assert result.created == [] and result.updated == []
    assert AuditEntry.objects.count() == n_audit  # nothing changed, nothing logged
    CustomFieldDef.objects.filter(key="capacity_tpd").update(label="改过", required=True)
    result = packs.apply_pack("equipment")
    assert result.updated == ["field:capacity_tpd"]
    d = CustomFieldDef.objects.get(key="capacity_tpd")
    assert d.label == "处理规模(吨/日)" and d.required is False


@pytest.mark.django_db
def test_second_pack_adds_its_own_and_keeps_the_first(users):
    packs.apply_pack("equipment")
    packs.apply_pack("wholesale", actor=users["admin"])
    keys = set(CustomFieldDef.objects.values_list("key", flat=True))
    assert {"capacity_tpd", "distributor_level", "main_categories", "general_taxpayer"} <= keys
    assert CustomFieldDef.objects.get(key="main_categories").field_type == FieldType.MULTI
    assert site_settings.get("industry_pack") == "wholesale"
    stages = [s["value"] for s in site_settings.get("choices")["sales_stages"]]
    assert stages[0] == "first_contact"


@pytest.mark.django_db
def test_pack_fields_validate_customer_values():
    packs.apply_pack("equipment")
    pharma = Industry.objects.get(code="pharma")
    assert "gmp_validation" in {d.key for d in definitions_for(pharma.pk)}
    assert "gmp_validation" not in {d.key for d in definitions_for(None)}
    clean = clean_custom(None, {"capacity_tpd": "1,200", "equipment_type": "反渗透设备,超滤设备",
                                "needs_installation": "是", "maintenance_due": "2026-03-31"})
    assert clean["capacity_tpd"] == 1200 and clean["equipment_type"] == ["反渗透设备", "超滤设备"]
    with pytest.raises(ValidationError) as exc:
        clean_custom(None, {"water_standard": "自来水"})
    assert "custom.water_standard" in exc.value.message_dict


@pytest.mark.django_db
def test_labels_follow_the_language_unless_renamed():
    packs.apply_pack("equipment")
    d = CustomFieldDef.objects.get(key="capacity_tpd")
    assert packs.field_label(d, "en") == "Capacity (t/day)"
    assert packs.field_label(d, "zh-hant") == "處理規模(噸/日)"
    with translation.override("en"):
        assert packs.field_label(d) == "Capacity (t/day)"
        eq = CustomFieldDef.objects.get(key="equipment_type")
        assert packs.choice_label(eq, "超滤设备") == "Ultrafiltration"
        assert ("超滤设备", "Ultrafiltration") in packs.choice_options(eq)
        assert packs.industry_label(Industry.objects.get(code="pharma")) == "Pharmaceuticals"
        assert ("needs", "Needs confirmed") in packs.site_choices("sales_stages")
    d.label = "日处理量"
    assert packs.field_label(d, "en") == "日处理量"  # an administrator's rename wins


@pytest.mark.django_db
def test_only_an_administrator_applies_a_pack(users):
    with pytest.raises(PermissionDenied):
        packs.apply_pack("equipment", actor=users["director"])
    assert CustomFieldDef.objects.count() == 0 and site_settings.get("industry_pack") is None
    with pytest.raises(ValidationError):
        packs.apply_pack("../../etc/passwd", actor=users["admin"])
