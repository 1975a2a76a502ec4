"""The demo command: company skeleton, ratios, determinism, valid data, no audit."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEntry
from guanxi.demo import geo, vocab
from guanxi.demo.company import DEMO_PASSWORD
from guanxi.demo.generate import generate_chunk
from guanxi.demo.plan import ChunkSpec, Plan, Skeleton, plan_customers
from guanxi.demo.tables import foreign_number, landline_number, mobile_number
from guanxi.parties.models import Contact, Customer

TODAY = "2026-03-31"


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", "--customers=50", f"--today={TODAY}", *args, stdout=out)
    return out.getvalue()


def _valid(e164: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))


@pytest.fixture
def demo(db):
    return run_demo("--seed=7")


def test_team_tree_and_users_of_every_role(demo):
    company = Team.objects.get(name="总公司", parent=None)
    assert company.kind == TeamKind.COMPANY
    regions = Team.objects.filter(parent=company, kind=TeamKind.REGION)
    assert sorted(r.name for r in regions) == sorted(geo.REGIONS)
    for office in geo.OFFICES:
        team = Team.objects.get(name=office.name)
        assert team.kind == TeamKind.OFFICE
        assert team.parent.name == office.region
        assert team.path.startswith(company.path)
        assert team.members.filter(role=Role.REP).exists(), office.name
    users = User.objects.all()
    assert 18 <= users.count() <= 40  # the sales side and the service staff (service.py)
    assert {u.role for u in users} == set(Role.values)
    admin = User.objects.get(username="admin")
    assert admin.check_password(DEMO_PASSWORD) and admin.is_admin
    assert User.objects.get(username="rep_sh1").team.name == "上海办事处"
    assert all(u.display_name for u in users)
    # The logins table and the address are printed.
    assert "rep_sh1" in demo and DEMO_PASSWORD in demo and "http://127.0.0.1:8000" in demo


def test_customers_contacts_interactions_in_ratio(demo):
    assert Customer.objects.count() == 50
    assert Interaction.objects.count() == 500  # 10 per customer on average, exactly
    per_customer = Customer.objects.annotate(n=Count("contacts")).values_list("n", flat=True)
    assert min(per_customer) >= 1 and max(per_customer) <= 3
    assert Contact.objects.filter(is_primary=True).count() == 50
    # Every interaction belongs to a customer and, when it names a contact, to one of its own.
    assert not Interaction.objects.filter(contact__isnull=False).exclude(
        contact__customer=F("customer")).exists()
    # Interactions lie in the two years before --today, none in the future.
    today = dt.datetime.fromisoformat(TODAY).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    span = Interaction.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert span["last"] < today
    assert span["first"] > today - dt.timedelta(days=740)
    assert Customer.objects.filter(industry__isnull=False).exists()
    assert Customer.objects.exclude(owner=None).filter(
        owner__role=Role.REP).count() >= 40  # ~5 % in the pool
    # Explicit ids did not leave the id sequences behind (PostgreSQL).
    assert Customer.objects.create(name="之后新建的客户").pk > 50
    assert Interaction.objects.create(customer_id=Customer.objects.first().pk,
                                      subject="x").pk > 500


def test_last_contact_matches_history_and_reps_have_follow_ups(demo):
    for customer in Customer.objects.all():
        last = (customer.interactions.exclude(kind="note")
                .aggregate(m=Max("occurred_at"))["m"])
        assert customer.last_contact_at == last, customer.pk
    today = dt.date.fromisoformat(TODAY)
    local = ZoneInfo("Asia/Shanghai")
    for i in Interaction.objects.filter(follow_up_on__isnull=False):
        assert i.follow_up_on >= i.occurred_at.astimezone(local).date(), i.pk
    for rep in User.objects.filter(role=Role.REP):
        open_ = Interaction.objects.filter(created_by=rep, follow_up_done=False,
                                           follow_up_on__isnull=False)
        dates = set(open_.values_list("follow_up_on", flat=True))
        assert any(d < today for d in dates), rep.username  # overdue
        assert today in dates, rep.username
        assert any(d > today for d in dates), rep.username


def test_every_phone_is_valid_e164_and_search_text_is_filled(demo):
    phones = list(Customer.objects.exclude(phone="").values_list("phone", flat=True))
    phones += [p for row in Contact.objects.values_list("mobile", "phone") for p in row if p]
    assert len(phones) > 60
    assert all(p.startswith("+") for p in phones)
    bad = [p for p in phones if not _valid(p)]
    assert not bad
    for customer in Customer.objects.prefetch_related("contacts"):
        text = customer.search_text
        assert customer.name.lower() in text
        for contact in customer.contacts.all():
            assert contact.name.lower() in text


def test_search_finds_demo_customers(demo):
    selectors = pytest.importorskip("guanxi.parties.selectors")
    director = User.objects.get(username="director")
    customer = Customer.objects.filter(kind="org", country="CN").order_by("pk").first()
    found = selectors.search_customers(director, customer.name)
    assert customer in found


def test_no_audit_entries_for_the_rows(demo):
    assert not AuditEntry.objects.filter(Q(model__icontains="customer") |
                                         Q(model__icontains="interaction") |
                                         Q(model__icontains="contact")).exists()


def test_custom_fields_of_the_pack_are_valid(demo):
    packs = pytest.importorskip("guanxi.parties.packs")
    if not hasattr(packs, "apply_pack"):
        pytest.skip("no industry pack loader")
    from guanxi.parties.custom_fields import clean_custom

    with_custom = Customer.objects.exclude(custom={})
    assert with_custom.exists()
    for customer in with_custom:
        clean_custom(customer.industry_id, customer.custom)  # raises when invalid


@pytest.mark.django_db(transaction=True)
def test_refuses_to_load_twice_and_reset_is_deterministic():
    # Real transactions: `--reset` flushes (TRUNCATE on PostgreSQL), which cannot run
    # inside the test's own transaction, and the load's bulk mode is exercised too.
    run_demo("--seed=7")
    with pytest.raises(CommandError):
        run_demo("--seed=7")
    first = list(Customer.objects.order_by("pk").values_list("name", "phone", "tier"))
    contacts = list(Contact.objects.order_by("pk").values_list("name", "mobile"))
    run_demo("--seed=7", "--reset")
    assert list(Customer.objects.order_by("pk").values_list("name", "phone", "tier")) == first
    assert list(Contact.objects.order_by("pk").values_list("name", "mobile")) == contacts
    assert User.objects.filter(username="admin").count() == 1
    run_demo("--seed=8", "--reset")
    assert list(Customer.objects.order_by("pk").values_list("name", "phone", "tier")) != first


# --- The generator without a database ----------------------------------------------------


def _skeleton() -> Skeleton:
    reps = {o.key: [100 + i * 2, 101 + i * 2] for i, o in enumerate(geo.OFFICES)}
    return Skeleton(
        company_id=1, region_ids={r: 2 + i for i, r in enumerate(geo.REGIONS)},
        office_team_ids={o.key: 10 + i for i, o in enumerate(geo.OFFICES)}, reps=reps,
        managers={r: 50 + i for i, r in enumerate(geo.REGIONS)}, service_ids=[60, 61],
        industry_ids={code: 70 + i for i, (code, *_rest) in enumerate(vocab.INDUSTRIES)},
        tag_ids=[80, 81, 82],
    )


def _generate(seed: int, n: int, text: bool = True):
    plan = Plan(seed=seed, today=dt.date(2026, 3, 31), time_zone="Asia/Shanghai",
                text_datetimes=text, skeleton=_skeleton())
    specs = plan_customers(seed, n, 10, 1000, customer_id=1, contact_id=1, interaction_id=1,
                           forced=36)
    return specs, [generate_chunk(plan, s) for s in specs]


def test_generator_is_deterministic_and_ids_are_contiguous():
    specs_a, rows_a = _generate(3, 2500)
    specs_b, rows_b = _generate(3, 2500)
    assert specs_a == specs_b
    assert [r.customers for r in rows_a] == [r.customers for r in rows_b]
    assert [r.interactions for r in rows_a] == [r.interactions for r in rows_b]
    _, rows_c = _generate(4, 200)
    assert rows_c[0].customers[:50] != rows_a[0].customers[:50]
    customers = [c for r in rows_a for c in r.customers]
    contacts = [c for r in rows_a for c in r.contacts]
    interactions = [i for r in rows_a for i in r.interactions]
    assert [c[0] for c in customers] == list(range(1, 2501))
    assert [c[0] for c in contacts] == list(range(1, len(contacts) + 1))
    assert [i[0] for i in interactions] == list(range(1, 25001))
    assert {c[4] for c in contacts} == set(range(1, 2501))  # everybody has a contact


def test_generator_distribution():
    _specs, rows = _generate(5, 10_000)
    customers = [c for r in rows for c in r.customers]
    tiers = Counter(c[21] for c in customers)
    assert 0.07 < tiers["A"] / 10_000 < 0.13
    assert 0.26 < tiers["B"] / 10_000 < 0.34
    assert 0.55 < tiers["C"] / 10_000 < 0.65
    pool = sum(1 for c in customers if c[20] is None) / 10_000
    assert 0.03 < pool < 0.07
    foreign = sum(1 for c in customers if c[7] != "CN")
    assert 20 < foreign < 120
    kinds = Counter(i[6] for r in rows for i in r.interactions)
    assert kinds.most_common(1)[0][0] == "call"
    assert kinds["complaint"] < kinds["visit"]
    # Tier A customers get more history than tier C ones.
    by_customer = Counter(i[4] for r in rows for i in r.interactions)
    mean = {t: sum(by_customer[c[0]] for c in customers if c[21] == t) / tiers[t] for t in "AC"}
    assert mean["A"] > 1.8 * mean["C"]
    # Most customers have several contacts, e-mails are ASCII.
    emails = [c[11] for r in rows for c in r.contacts if c[11]]
    assert emails and all(e.isascii() and "@" in e for e in emails)


def test_every_phone_pattern_is_valid():
    rnd = random.Random(1).random
    numbers = [mobile_number(rnd) for _ in range(3000)]
    for office in geo.OFFICES:
        for city in office.cities:
            numbers += [landline_number(rnd, city) for _ in range(40)]
    for _code, _city, patterns, *_rest in vocab.FOREIGN:
        for pattern in patterns:
            numbers += [foreign_number(rnd, pattern) for _ in range(300)]
    bad = [n for n in numbers if not _valid(n)]
    assert not bad, bad[:10]


def test_generated_phones_are_valid_at_scale():
    _specs, rows = _generate(9, 3000, text=False)
    phones = [c[13] for r in rows for c in r.customers if c[13]]
    phones += [p for r in rows for c in r.contacts for p in (c[8], c[9]) if p]
    sample = random.Random(2).sample(phones, 2000)
    assert not [p for p in sample if not _valid(p)]
    # Datetimes are aware when the backend takes datetimes.
    assert rows[0].interactions[0][9].tzinfo is not None


def test_chunk_spec_is_plain_data():
    spec = ChunkSpec(index=0, customer_id=1, contact_id=1, interaction_id=1, kinds="o",
                     tiers="A", n_contacts=b"\x01", n_interactions=(3,))
    rows = generate_chunk(Plan(seed=1, today=dt.date(2026, 1, 5), time_zone="UTC",
                               text_datetimes=True, skeleton=_skeleton()), spec)
    assert len(rows.customers) == 1 and len(rows.contacts) == 1 and len(rows.interactions) == 3


@pytest.mark.django_db(transaction=True)
def test_large_load_path_with_workers(monkeypatch):
    """The path a big load takes: worker processes, search-index triggers dropped
    and the index rebuilt; the result must equal an inline load and leave every
    index in place."""
    from django.db import connection

    from guanxi.demo import load

    def index_names():
        with connection.cursor() as cur:
            return set(connection.introspection.get_constraints(cur, "activities_interaction"))

    before = index_names()
    monkeypatch.setattr(load, "LARGE_LOAD", 10)
    stats = load.load_demo(customers=60, seed=3, today=dt.date(2026, 3, 31), workers=2,
                           chunk_size=20)
    assert (stats.customers, stats.interactions) == (60, 600)
    assert index_names() == before
    rows = list(Customer.objects.order_by("pk").values_list("name", "phone", "search_text"))
    assert Interaction.objects.count() == 600
    selectors = pytest.importorskip("guanxi.parties.selectors")
    director = User.objects.get(username="director")
    assert selectors.search_customers(director, rows[5][0])[0].name == rows[5][0]
    # Same data as generating inline in one process.
    call_command("flush", interactive=False, verbosity=0)
    load.load_demo(customers=60, seed=3, today=dt.date(2026, 3, 31), workers=0, chunk_size=20)
    assert list(Customer.objects.order_by("pk").values_list("name", "phone", "search_text")) \
        == rows
