"""vCard export and import: round trips in 3.0 and 4.0, multi-card files with bad
cards, Chinese names and GB18030, dedup on a second import, permissions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.dataio import vcard
from guanxi.parties.models import Contact
from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def fields(item) -> tuple:
    return (item.name, item.mobile, item.phone, item.phone_ext, item.email)


@pytest.fixture
def customer(users, org):
    return CustomerFactory(name="上海兴瑞环保有限公司", owner=users["rep"], team=org["shanghai"])


@pytest.fixture
def contacts(customer):
    return [
        ContactFactory(customer=customer, name="张三", title="采购经理", department="采购部",
                       mobile="+8613800138000", phone="+862165321234", phone_ext="808",
                       email="zhangsan@xingrui.cn", wechat="zs_wx",
                       notes="第一行\n第二行; 分号, 逗号"),
        ContactFactory(customer=customer, name="欧阳娜娜", mobile="+8613900139000"),
        ContactFactory(customer=customer, name="John Smith", email="john@example.com",
                       phone="+14155550123"),
    ]


# ---------------------------------------------------------------- pure functions


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_round_trip(contacts, version):
    text = vcard.export_contacts(contacts, version)
    assert text.count("BEGIN:VCARD") == 3
    assert f"VERSION:{version}" in text
    assert "ORG:上海兴瑞环保有限公司;采购部" in text
    parsed = vcard.parse_vcards(text)
    assert all(isinstance(p, vcard.ParsedCard) for p in parsed)
    assert [fields(p) for p in parsed] == [fields(c) for c in contacts]
    first = parsed[0]
    assert (first.title, first.department, first.wechat) == ("采购经理", "采购部", "zs_wx")
    assert first.notes == "第一行\n第二行; 分号, 逗号"


def test_version_specific_phone_forms(contacts):
    assert "TEL;TYPE=cell:+8613800138000" in vcard.export_contacts(contacts[:1], "3.0")
    assert "+862165321234 x808" in vcard.export_contacts(contacts[:1], "3.0")
    four = vcard.export_contacts(contacts[:1], "4.0")
    assert "tel:+862165321234;ext=808" in four
    with pytest.raises(ValueError):
        vcard.export_contacts(contacts, "2.1")


def test_parse_reports_bad_cards_by_number_and_keeps_the_rest():
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:李四\r\nTEL;TYPE=CELL:139 0013 9000\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王五\r\nTEL:12345\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:13700137000\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:赵;六;;;\r\nEMAIL:not-an-email\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nN:钱;七;;;\r\n"
        "TEL;VALUE=uri;TYPE=\"work,voice\":tel:+86-21-6532-1234;ext=12\r\nEND:VCARD\r\n"
    )
    parsed = vcard.parse_vcards(text)
    assert [type(p).__name__ for p in parsed] == [
        "ParsedCard", "CardError", "CardError", "CardError", "ParsedCard"]
    assert parsed[0].mobile == "+8613900139000"
    assert (parsed[1].number, parsed[1].name) == (2, "王五")
    assert "12345" in parsed[1].reason
    assert parsed[2].number == 3 and "name" in parsed[2].reason
    assert parsed[3].name == "赵六" and "e-mail" in parsed[3].reason
    assert (parsed[4].name, parsed[4].phone, parsed[4].phone_ext) == ("钱七", "+862165321234", "12")


def test_parse_vcard_21_quoted_printable_and_untyped_numbers():
    text = (
        "BEGIN:VCARD\nVERSION:2.1\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=B8=89;;;\n"
        "TEL:13800138000\nTEL;WORK;VOICE:021-65321234\nTEL;FAX:021-65321235\n"
        "TEL:13900139000\nEND:VCARD\n"
    )
    [card] = vcard.parse_vcards(text)
    assert card.name == "张三"
    assert (card.mobile, card.phone) == ("+8613800138000", "+862165321234")
    assert "+8613900139000" in card.notes  # a second mobile is kept in the notes


def test_decode_falls_back_to_gb18030():
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张三\r\nEND:VCARD\r\n"
    assert vcard.decode_vcf(text.encode("gb18030")) == text
    assert vcard.decode_vcf(b"\xef\xbb\xbf" + text.encode()) == text
    assert vcard.decode_vcf(text.encode("utf-16")) == text


def test_unreadable_card_is_reported():
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:乙\r\n"
    parsed = vcard.parse_vcards(text)
    assert isinstance(parsed[0], vcard.ParsedCard)
    assert isinstance(parsed[1], vcard.CardError) and parsed[1].number == 2


# ---------------------------------------------------------------- import page


MULTI = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:李四\r\nTITLE:总经理\r\nTEL;TYPE=CELL:139 0013 9000\r\n"
    "EMAIL:lisi@xingrui.cn\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:坏号码\r\nTEL;TYPE=CELL:123\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:王芳\r\nTEL;VALUE=uri;TYPE=cell:tel:+86-137-0013-7000\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nEMAIL;TYPE=INTERNET:jane@example.com\r\n"
    "END:VCARD\r\n"
)


def upload(client, customer, text: str, encoding: str = "utf-8"):
    file = SimpleUploadedFile("contacts.vcf", text.encode(encoding), content_type="text/vcard")
    return client.post("/export/vcard/import/", {"customer": customer.pk, "file": file})


def test_import_multi_card_file_with_a_bad_card_then_dedup(client, users, customer):
    login(client, users["rep"])
    page = client.get(f"/export/vcard/import/?customer={customer.pk}")
    assert page.status_code == 200
    assert f'<option value="{customer.pk}" selected>' in page.content.decode()

    response = upload(client, customer, MULTI, encoding="gb18030")
    assert response.status_code == 200
    result = response.context["result"]
    assert (len(result.created), len(result.unchanged), len(result.rejected)) == (3, 0, 1)
    assert result.rejected[0].number == 2 and result.rejected[0].name == "坏号码"
    saved = {c.name: c for c in Contact.objects.filter(customer=customer)}
    assert set(saved) == {"李四", "王芳", "Jane Doe"}
    assert saved["李四"].mobile == "+8613900139000" and saved["李四"].title == "总经理"
    assert saved["王芳"].mobile == "+8613700137000"
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, model="parties.contact",
                                     customer_id=customer.pk).count() == 3
    content = response.content.decode()
    assert "坏号码" in content

    again = upload(client, customer, MULTI)
    result = again.context["result"]
    assert (len(result.created), len(result.unchanged), len(result.rejected)) == (0, 3, 1)
    assert Contact.objects.filter(customer=customer).count() == 3


def test_import_dedups_against_existing_contacts_and_within_the_file(client, users, customer,
                                                                     contacts):
    exported = vcard.export_contacts(contacts, "4.0")
    twice = exported + exported
    response = upload(login(client, users["rep"]), customer, twice)
    result = response.context["result"]
    assert (len(result.created), len(result.unchanged), len(result.rejected)) == (0, 6, 0)


def test_import_into_a_new_customer_round_trips(client, users, org, contacts):
    target = CustomerFactory(name="新客户", owner=users["rep"], team=org["shanghai"])
    upload(login(client, users["rep"]), target, vcard.export_contacts(contacts, "3.0"))
    copied = Contact.objects.filter(customer=target).order_by("name")
    assert sorted(fields(c) for c in copied) == sorted(fields(c) for c in contacts)


def test_import_refuses_customers_the_user_may_not_edit(client, users, org):
    theirs = CustomerFactory(name="别人的客户", owner=users["rep2"], team=org["chongqing"])
    pool = CustomerFactory(name="公海客户", owner=None)
    login(client, users["rep"])
    page = client.get("/export/vcard/import/").content.decode()
    assert "别人的客户" not in page and "公海客户" not in page
    for customer in (theirs, pool):
        response = upload(client, customer, MULTI)
        assert response.context["result"] is None
        assert response.context["form"].errors["customer"]
    assert not Contact.objects.exists()
    login(client, users["readonly"])
    assert client.get("/export/vcard/import/").status_code == 403


def test_import_rejects_a_file_without_cards(client, users, customer):
    response = upload(login(client, users["rep"]), customer, "hello")
    assert response.context["form"].errors["file"]


# ---------------------------------------------------------------- export download


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcf_download(client, users, customer, contacts, version):
    login(client, users["rep"])
    response = client.get(f"/export/contacts.vcf?customer={customer.pk}&version={version}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vcard")
    assert ".vcf" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    parsed = vcard.parse_vcards(text)
    assert sorted(p.name for p in parsed) == sorted(c.name for c in contacts)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.object_repr == "contacts.vcf"
    assert entry.changes["rows"] == [None, 3]


def test_vcf_download_shows_only_visible_contacts(client, users, org, customer, contacts):
    theirs = CustomerFactory(name="别人的客户", owner=users["rep2"], team=org["chongqing"])
    ContactFactory(customer=theirs, name="别人的联系人")
    login(client, users["rep"])
    hidden = client.get(f"/export/contacts.vcf?customer={theirs.pk}")
    assert b"".join(hidden.streaming_content) == b""
    everything = b"".join(client.get("/export/contacts.vcf").streaming_content).decode()
    assert "别人的联系人" not in everything and "张三" in everything
    assert client.get("/export/contacts.vcf?version=5.0").status_code == 404
