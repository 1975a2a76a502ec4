"""The contact list page: visibility, filters, paging, export links."""

from __future__ import annotations

import pytest

from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/customers/contacts/"


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


@pytest.fixture
def people(users, org):
    mine = CustomerFactory(name="我的客户", owner=users["rep"], team=org["shanghai"])
    other = CustomerFactory(name="我的另一个客户", owner=users["rep"], team=org["shanghai"])
    theirs = CustomerFactory(name="别人的客户", owner=users["rep2"], team=org["chongqing"])
    deleted = CustomerFactory(name="已删除客户", owner=users["rep"])
    deleted.deleted_at = deleted.created_at
    deleted.save()
    return {
        "mine": mine, "other": other, "theirs": theirs,
        "zhang": ContactFactory(customer=mine, name="张伟", mobile="+8613800138000",
                                email="zhangwei@example.cn"),
        "li": ContactFactory(customer=other, name="李娜", email="lina@example.cn"),
        "wang": ContactFactory(customer=theirs, name="王芳", mobile="+8613900139000"),
        "gone": ContactFactory(customer=deleted, name="赵敏"),
    }


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_rep_sees_contacts_of_own_customers_only(client, users, people):
    client.force_login(users["rep"])
    response = client.get(URL)
    assert response.status_code == 200
    assert sorted(names(response)) == ["张伟", "李娜"]
    content = response.content.decode()
    assert f'href="/customers/{people["mine"].pk}/"' in content
    assert 'href="/export/contacts.csv"' in content and 'href="/export/contacts.vcf"' in content


def test_director_sees_every_live_customer_s_contacts(client, users, people):
    client.force_login(users["director"])
    assert sorted(names(client.get(URL))) == ["张伟", "李娜", "王芳"]


@pytest.mark.parametrize(("query", "expected"), [
    ("张伟", ["张伟"]),
    ("張偉", ["张伟"]),  # Traditional script finds the Simplified name
    ("138 0013", ["张伟"]),
    ("lina@", ["李娜"]),
    ("13900139000", []),  # another rep's contact stays hidden
])
def test_search(client, users, people, query, expected):
    client.force_login(users["rep"])
    assert names(client.get(URL, {"q": query})) == expected


def test_customer_filter_and_export_links_carry_the_filters(client, users, people):
    client.force_login(users["rep"])
    response = client.get(URL, {"customer": people["other"].pk, "q": "李", "page": "1"})
    assert names(response) == ["李娜"]
    content = response.content.decode()
    assert "我的另一个客户" in content  # the filter chip names the customer
    assert f'/export/contacts.xlsx?customer={people["other"].pk}&amp;q=' in content
    assert "page=1" not in content.split("export-actions")[1].split("</div>")[0]
    assert "/export/vcard/import/?customer=" in content


def test_customer_filter_on_a_hidden_customer_shows_nothing(client, users, people):
    client.force_login(users["rep"])
    response = client.get(URL, {"customer": people["theirs"].pk})
    assert names(response) == []
    assert response.context["customer"] is None
    assert "别人的客户" not in response.content.decode()


def test_paging(client, users, people, settings):
    settings.GUANXI_PAGE_SIZE = 1
    client.force_login(users["rep"])
    first = client.get(URL)
    second = client.get(URL, {"page": 2})
    assert len(names(first)) == 1 and first.context["page"].has_next
    assert names(first) != names(second)
    assert not second.context["page"].has_next
    assert names(client.get(URL, {"page": "x"})) == names(first)
