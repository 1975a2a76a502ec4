"""Win-probability scoring: beats the stage-probability baseline on held-out deals of a
synthetic history with known structure, explains itself, survives unseen values, and
the retrain job scores open deals and leads without touching hand overrides."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

import pytest

from guanxi.core.models import Job, JobStatus
from guanxi.parties.models import Industry
from guanxi.sales import scoring
from guanxi.sales.models import (
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    ScoringModel,
    Stage,
    StageChange,
)
from guanxi.sales.scoring import DEAL_FEATURES, Example, NaiveBayes, evaluate, fit, log_loss
from guanxi.testing.factories import CustomerFactory

# The true structure: the win log-odds are the stage's own probability plus a source
# effect and a team effect. Industry, tier and product line are noise; region follows
# the team.
STAGE_P = {"s1": 0.10, "s2": 0.25, "s3": 0.40, "s4": 0.60, "s5": 0.80}
SOURCE = {"referral": 1.2, "exhibition": 0.6, "website": 0.0, "advertising": -0.5,
          "cold_call": -1.4}
TEAM = {"t1": 0.9, "t2": 0.0, "t3": -0.9, "t4": 0.3}
REGION = {"t1": "r1", "t2": "r1", "t3": "r2", "t4": "r2"}


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def synthetic_history(n: int = 2000, seed: int = 20240601) -> list[Example]:
    rng = random.Random(seed)
    start = dt.date(2022, 1, 1)
    out = []
    for i in range(n):
        stage = rng.choices(list(STAGE_P), weights=[30, 25, 20, 15, 10])[0]
        source, team = rng.choice(list(SOURCE)), rng.choice(list(TEAM))
        p = 1 / (1 + math.exp(-(_logit(STAGE_P[stage]) + SOURCE[source] + TEAM[team])))
        out.append(Example(
            features={"stage": stage, "source": source, "industry": rng.choice("abcd"),
                      "region": REGION[team], "tier": rng.choice("ABC"),
                      "product_line": rng.choice("xy")},
            team=team, won=rng.random() < p, baseline=STAGE_P[stage],
            closed=start + dt.timedelta(days=i // 3)))
    return out


def test_the_model_beats_the_stage_probability_baseline_on_held_out_deals():
    metrics = evaluate(synthetic_history(), DEAL_FEATURES)
    assert metrics["held_out"] == 400 and metrics["trained_on"] == 1600
    # A clear margin over the baseline that only knows the stage.
    assert metrics["log_loss"] < metrics["log_loss_baseline"] - 0.04, metrics
    # And no worse than plain naive Bayes (within noise).
    assert metrics["log_loss"] <= metrics["log_loss_plain_nb"] + 0.01, metrics


def test_the_split_is_by_time_not_random():
    history = synthetic_history(200)
    for i, ex in enumerate(history):
        ex.closed = dt.date(2023, 1, 1) + dt.timedelta(days=i)
    shuffled = random.Random(1).sample(history, len(history))
    assert evaluate(history, DEAL_FEATURES) == evaluate(shuffled, DEAL_FEATURES)


def test_reasons_name_the_strongest_feature():
    model = fit(synthetic_history(), DEAL_FEATURES)
    ex = Example(features={"stage": "s3", "source": "cold_call", "industry": "a",
                           "region": "r1", "tier": "B", "product_line": "x"}, team="t2")
    reasons = scoring.reasons_for(model, ex)
    assert 1 <= len(reasons) <= 3
    assert reasons[0]["feature"] == "source" and reasons[0]["value"] == "cold_call"
    assert reasons[0]["factor"] < 0.5  # cold calls win far less often
    assert "less often" in reasons[0]["text"] and "cold call" in reasons[0]["text"]
    good = scoring.reasons_for(model, Example(features={"source": "referral"}, team="t2"))
    assert good[0]["feature"] == "source" and "as often" in good[0]["text"]
    assert model.predict(ex) < model.predict(Example(features={**ex.features,
                                                               "source": "referral"}, team="t2"))


def test_smoothing_unseen_values_and_empty_history():
    model = NaiveBayes(list(DEAL_FEATURES)).fit([
        Example(features={"source": "referral"}, team="t1", won=True),
        Example(features={"source": "referral"}, team="t1", won=True),
        Example(features={"source": "cold_call"}, team="t1", won=False),
    ])
    # Laplace: P(referral|won) = (2+1)/(2+1·3), P(referral|lost) = (0+1)/(1+1·3).
    assert model.llr("source", "referral") == pytest.approx(math.log(3 / 5) - math.log(1 / 4))
    # An unseen value, an unseen feature, an unknown team: nothing moves; the prior.
    prior = model.predict(Example(features={}, team=None))
    assert prior == pytest.approx(model.global_rate) == pytest.approx(3 / 5)
    unseen = Example(features={"source": "carrier pigeon", "industry": "9"}, team="t99")
    assert model.predict(unseen) == pytest.approx(prior)
    assert scoring.reasons_for(model, unseen) == []
    # The team prior is the team's rate shrunk toward the global rate.
    assert model.team_rate("t1") == pytest.approx((2 + 20 * 0.6) / (3 + 20))
    empty = NaiveBayes(list(DEAL_FEATURES)).fit([])
    assert empty.predict(unseen) == pytest.approx(0.5)
    # Parameters survive the round trip through JSON.
    again = NaiveBayes.from_params(model.to_params())
    assert again.predict(unseen) == pytest.approx(prior)
    assert again.llr("source", "referral") == pytest.approx(model.llr("source", "referral"))


def test_log_loss():
    assert log_loss([0.5, 0.5], [True, False]) == pytest.approx(math.log(2))
    assert log_loss([1.0], [False]) < 10  # clipped, finite


def test_reason_texts_render_stored_reasons():
    texts = scoring.reason_texts([{"feature": "source", "value": "exhibition", "factor": 2.1},
                                  {"feature": "stage", "value": "3", "name": "方案报价",
                                   "factor": 0.5}, "junk"])
    assert texts[0] == "Source “trade show”: wins 2.1× as often" or "2.1" in texts[0]
    assert "方案报价" in texts[1] and "2.0" in texts[1]


# --- The database side: features, training, the job -------------------------------------


STAGES = ["初步接洽", "需求确认", "现场勘查", "方案报价", "商务谈判"]


def _stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def _closed_history(users, org, n: int = 120, seed: int = 7) -> None:
    """Closed deals with stage histories: referrals and the Shanghai office win more."""
    rng = random.Random(seed)
    stages = [_stage(s) for s in STAGES]
    won_stage, lost_stage = _stage("赢单"), _stage("输单")
    pipeline = stages[0].pipeline
    industry = Industry.objects.create(code="water", name="水处理")
    customers = [CustomerFactory(owner=users["rep"], team=org["shanghai"], industry=industry),
                 CustomerFactory(owner=users["rep2"], team=org["chongqing"], tier="A")]
    changes = []
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        shanghai = i % 2 == 0
        source = rng.choice(["referral", "cold_call"])
        reached = rng.randrange(len(stages))
        p = stages[reached].probability / 100
        p = min(0.95, p * (2.5 if source == "referral" else 0.5) * (1.4 if shanghai else 0.7))
        won = rng.random() < p
        when = base + dt.timedelta(days=i)
        deal = Opportunity.objects.create(
            customer=customers[0 if shanghai else 1], name=f"历史商机{i}", pipeline=pipeline,
            stage=won_stage if won else lost_stage,
            status=OpportunityStatus.WON if won else OpportunityStatus.LOST,
            owner=users["rep" if shanghai else "rep2"],
            team=org["shanghai" if shanghai else "chongqing"], source=source,
            amount=Decimal(10000), closed_on=(when + dt.timedelta(days=20)).date())
        for k in range(reached + 1):
            changes.append(StageChange(opportunity=deal, from_stage=stages[k - 1] if k else None,
                                       to_stage=stages[k], at=when + dt.timedelta(days=k)))
        changes.append(StageChange(opportunity=deal, from_stage=stages[reached],
                                   to_stage=won_stage if won else lost_stage,
                                   at=when + dt.timedelta(days=20)))
    StageChange.objects.bulk_create(changes)


@pytest.mark.django_db
def test_training_examples_are_the_open_stages_each_closed_deal_passed(users, org):
    _closed_history(users, org, n=10)
    examples = scoring.closed_deal_examples()
    passed = StageChange.objects.filter(to_stage__kind="open").count()
    assert len(examples) == passed > 10  # one per open stage entered, never won/lost
    by_stage = {ex.features["stage"] for ex in examples}
    open_ids = {str(_stage(s).pk) for s in STAGES}
    assert by_stage <= open_ids  # never the won/lost stage itself
    ex = examples[0]
    assert ex.features["region"] in (str(org["east"].pk), str(org["west"].pk))
    assert ex.team in (str(org["shanghai"].pk), str(org["chongqing"].pk))
    stage = Stage.objects.get(pk=int(ex.features["stage"]))
    assert ex.baseline == pytest.approx(stage.probability / 100)


@pytest.mark.django_db
def test_too_little_history_trains_an_inactive_model(users, org):
    _closed_history(users, org, n=12)
    model = scoring.train("deal")
    assert model.trained_on == 12 and model.active is False
    assert scoring.active_model("deal") is None
    # Without a model, a deal scores at its stage's probability, with no reasons.
    deal = _open_deal(users, org, source="referral")
    assert scoring.score(deal) == (pytest.approx(0.25), [])


def _open_deal(users, org, **extra) -> Opportunity:
    customer = Opportunity.objects.filter(team=org["shanghai"]).values_list(
        "customer", flat=True).first()
    from guanxi.parties.models import Customer
    c = Customer.objects.get(pk=customer) if customer else CustomerFactory(owner=users["rep"])
    data = {"customer": c, "name": "新商机", "pipeline": _stage("需求确认").pipeline,
            "stage": _stage("需求确认"), "owner": users["rep"], "team": org["shanghai"],
            "amount": Decimal(50000)}
    data.update(extra)
    return Opportunity.objects.create(**data)


@pytest.mark.django_db
def test_the_retrain_job_activates_the_model_and_scores_open_deals_and_leads(
        users, org, django_capture_on_commit_callbacks):
    _closed_history(users, org, n=120)
    good = _open_deal(users, org, source="referral")
    bad = _open_deal(users, org, source="cold_call", team=org["chongqing"], owner=users["rep2"])
    kept = _open_deal(users, org, source="referral", probability=15)
    lead = Lead.objects.create(company="新客户", source="referral", team=org["shanghai"])
    overridden = Lead.objects.create(company="手动", source="cold_call", score_override=90)
    with django_capture_on_commit_callbacks(execute=True):  # ImmediateBackend
        job = scoring.start_retrain(actor=users["admin"])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["deal_active"] is True and job.result["deals_scored"] == 3
    assert job.result["leads_scored"] == 2
    model = ScoringModel.objects.get(kind="deal", active=True)
    assert model.trained_on == 120
    assert {"log_loss", "log_loss_baseline", "log_loss_plain_nb", "held_out"} <= set(model.metrics)
    for deal in (good, bad, kept):
        deal.refresh_from_db()
        assert deal.scored_at is not None and 0 < deal.score < 1
        assert deal.version == 1  # machine data: no version bump
    assert good.score > bad.score
    assert good.score_reasons and "text" in good.score_reasons[0]
    assert kept.probability == 15  # the hand override stays authoritative
    lead.refresh_from_db()
    overridden.refresh_from_db()
    assert lead.score is not None and overridden.score_override == 90
    assert overridden.display_score == 90
    # score() agrees with what the job stored.
    p, reasons = scoring.score(good)
    assert p == pytest.approx(good.score, abs=1e-4)
    assert [r["feature"] for r in reasons] == [r["feature"] for r in good.score_reasons]
    # A second training deactivates the first model.
    scoring.train("deal")
    assert ScoringModel.objects.filter(kind="deal", active=True).count() == 1
    assert Job.objects.filter(kind=scoring.RETRAIN).count() == 1


@pytest.mark.django_db
def test_leads_use_a_lead_model_once_enough_leads_are_finished(users, org):
    _closed_history(users, org, n=60)
    lost = Opportunity.objects.filter(status=OpportunityStatus.LOST).first()
    won = Opportunity.objects.filter(status=OpportunityStatus.WON).first()
    for i in range(40):
        src = "referral" if i % 2 else "website"
        Lead.objects.create(company=f"线索{i}", source=src, team=org["shanghai"],
                            status=LeadStatus.CONVERTED if i % 4 else LeadStatus.UNQUALIFIED,
                            converted_opportunity=(won if src == "referral" else lost)
                            if i % 4 else None)
    open_lead = Lead.objects.create(company="新", source="referral", team=org["shanghai"])
    result = scoring.retrain()
    assert result["lead_active"] is True
    lead_model = ScoringModel.objects.get(kind="lead", active=True)
    assert lead_model.trained_on == 40
    open_lead.refresh_from_db()
    assert open_lead.score > 0.5  # referral leads became won deals here
    assert scoring.score_lead(open_lead)[0] == pytest.approx(open_lead.score, abs=1e-4)
