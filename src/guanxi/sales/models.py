"""Sales force automation: product lines, pipelines and stages with entry rules,
opportunities with their stage history, customer pools (公海) and owner changes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimeStampedModel, VersionedModel
from guanxi.parties.models import SourceChannel
from guanxi.parties.querysets import ScopedQuerySet, scoped_by_customer


class ProductLine(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    # Set on lines mirrored from an ERP (commerce sync); upserts key on the pair.
    source = models.CharField(_("source system"), max_length=30, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        constraints = [models.UniqueConstraint(
            fields=["source", "external_id"], condition=~models.Q(external_id=""),
            name="uniq_productline_source_external_id")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    product_line = models.ForeignKey(ProductLine, on_delete=models.PROTECT,
                                     related_name="products", verbose_name=_("product line"))
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(_("list price (元)"), max_digits=14, decimal_places=2,
                                     null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    source = models.CharField(_("source system"), max_length=30, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["product_line", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(
            fields=["source", "external_id"], condition=~models.Q(external_id=""),
            name="uniq_product_source_external_id")]

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    """A standard sales process: ordered stages, per product line (or the default one)."""

    name = models.CharField(_("name"), max_length=100)
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="pipelines",
                                     verbose_name=_("product line"))
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class Stage(models.Model):
    """One step of a pipeline. A deal may only enter it when `required_fields` of the
    opportunity are filled and interactions of every kind in `required_activities`
    have been logged for it (or its customer since the deal was created)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages",
                                 verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices,
                            default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    required_activities = models.JSONField(_("required activities"), default=list, blank=True,
                                           help_text=_("Kinds of interaction that must be "
                                                       "logged first, e.g. visit."))

    class Meta:
        ordering = ["pipeline", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "order"],
                                               name="uniq_stage_order")]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class OpportunityQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Deals are read by whoever may read their customer (scoped_by_customer's rule).

        For those who read every customer, deals of customers in the recycle bin are
        left out with NOT IN over the (few, indexed) deleted customers rather than a join
        to the customers table, so board and dashboard totals are read from an index of
        the deals alone."""
        if not (getattr(user, "is_authenticated", False) and user.is_active):
            return self.none()
        from guanxi.parties.models import Customer

        if user.sees_all_customers:
            deleted = Customer.all_objects.filter(deleted_at__isnull=False).values("pk")
            return self.exclude(customer_id__in=deleted)
        # Everyone else: parties.querysets.customer_visibility, checked on each deal's
        # customer (a join by primary key) — an IN over the visible customers would list
        # every pool customer first, for every query.
        shared = Customer.shared_with.through.objects.filter(user_id=user.pk).values(
            "customer_id")
        q = (models.Q(customer__owner_id=user.pk) | models.Q(customer__owner_id__isnull=True)
             | models.Q(customer_id__in=shared))
        if user.role == "manager" and user.team_id:
            ids = user.team_subtree_ids()
            q |= models.Q(customer__team_id__in=ids) | models.Q(customer__owner__team_id__in=ids)
        return self.filter(q, customer__deleted_at__isnull=True)


class Opportunity(TimeStampedModel, SoftDeleteModel, VersionedModel):
    customer = models.ForeignKey("parties.Customer", on_delete=models.CASCADE,
                                 related_name="opportunities", verbose_name=_("customer"))
    contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="opportunities",
                                verbose_name=_("contact"))
    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT,
                                 related_name="opportunities", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities",
                              verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=8, choices=OpportunityStatus.choices,
                              default=OpportunityStatus.OPEN, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="opportunities",
                              verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="opportunities", verbose_name=_("region / office"))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="opportunities",
                                     verbose_name=_("product line"))
    products = models.ManyToManyField(Product, blank=True, related_name="opportunities",
                                      verbose_name=_("products"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    exchange_rate = models.DecimalField(_("rate to 元"), max_digits=12, decimal_places=6,
                                        default=Decimal("1"))
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), null=True, blank=True,
        help_text=_("Empty: the stage's probability (or the learned score)."))
    competitors = models.CharField(_("competitors"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    source = models.CharField(_("source channel"), max_length=20, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=200, blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    # The learned win probability (0–1) and the main reasons behind it (see scoring.py);
    # `probability` above is the hand override.
    score = models.FloatField(_("learned win probability"), null=True, blank=True)
    score_reasons = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey("Lead", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("from lead"))

    objects = OpportunityQuerySet.as_manager_alive()
    all_objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "stage", "status"]),
            models.Index(fields=["owner", "status", "expected_close"]),
            models.Index(fields=["status", "expected_close"]),
            models.Index(fields=["customer", "status"]),
            # The dashboard's stale-deal candidates (open deals by time in stage).
            models.Index(fields=["status", "stage_entered_at"], name="sales_opp_status_entered"),
            # The pipeline board's column totals, read from the index alone.
            models.Index(fields=["pipeline", "status", "stage", "closed_on", "deleted_at",
                                 "customer", "amount", "exchange_rate"],
                         name="sales_opp_board_cover"),
            models.Index(fields=["owner", "pipeline", "status", "stage", "closed_on",
                                 "deleted_at", "customer", "amount", "exchange_rate"],
                         name="sales_opp_board_owner_cover"),
        ]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.name

    @property
    def amount_cny(self) -> Decimal:
        return (self.amount * self.exchange_rate).quantize(Decimal("0.01"))

    @property
    def win_probability(self) -> int:
        """In percent: the hand override, else the learned score, else the stage's."""
        if self.probability is not None:
            return self.probability
        if self.score is not None and self.status == OpportunityStatus.OPEN:
            return round(self.score * 100)
        return self.stage.probability


class StageChange(models.Model):
    """The full stage history of a deal, with dates (also on the customer's timeline)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")


class Pool(models.Model):
    """A customer pool (公海) of a region/office: customers there have no owner."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="pools",
                             verbose_name=_("region / office"))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="pools",
                                     verbose_name=_("product line"))
    daily_claim_limit = models.PositiveSmallIntegerField(_("claims per rep per day"), default=10)
    return_after_days_without_contact = models.PositiveSmallIntegerField(
        _("return when not followed up for (days)"), default=30)
    return_after_days_without_open_deal = models.PositiveSmallIntegerField(
        _("return when no open opportunity after (days)"), default=90)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer pool")
        verbose_name_plural = _("customer pools")

    def __str__(self) -> str:
        return self.name


class OwnerChangeReason(models.TextChoices):
    CLAIM = "claim", _("claimed from the pool")
    RELEASE = "release", _("released to the pool")
    AUTO_RETURN = "auto_return", _("returned to the pool automatically")
    ASSIGN = "assign", _("assigned")


class OwnerChange(models.Model):
    """Every change of a customer's owner, kept forever."""

    customer = models.ForeignKey("parties.Customer", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="owner_changes")
    lead = models.ForeignKey("Lead", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="owner_changes")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=12, choices=OwnerChangeReason.choices)
    pool = models.ForeignKey(Pool, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["to_user", "reason", "at"])]
        verbose_name = _("owner change")
        verbose_name_plural = _("owner changes")


# ---------------------------------------------------------------- leads


class LeadStatus(models.TextChoices):
    NEW = "new", _("new")
    WORKING = "working", _("working")
    QUALIFIED = "qualified", _("qualified")
    UNQUALIFIED = "unqualified", _("unqualified")
    CONVERTED = "converted", _("converted")


class LeadQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Reps: their own leads and the pool (no owner). Managers: also their team
        subtree. Every role that reads all customers reads all leads."""
        if not (getattr(user, "is_authenticated", False) and user.is_active):
            return self.none()
        if user.sees_all_customers:
            return self
        q = models.Q(owner_id=user.pk) | models.Q(owner__isnull=True)
        if user.role == "manager" and user.team_id:
            ids = user.team_subtree_ids()
            q |= models.Q(team_id__in=ids) | models.Q(owner__team_id__in=ids)
        return self.filter(q)


class LeadForm(models.Model):
    """A public, embeddable lead-capture form for one campaign or source."""

    name = models.CharField(_("name"), max_length=100)
    key = models.SlugField(_("public key"), max_length=40, unique=True,
                           help_text=_("Part of the form's public address."))
    source = models.CharField(_("source channel"), max_length=20,
                              choices=SourceChannel.choices, default=SourceChannel.WEBSITE)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("region / office"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("owner of new leads"),
                              help_text=_("Empty: new leads go to the pool."))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("product line"))
    thank_you = models.CharField(_("thank-you message"), max_length=300, blank=True)
    rate_limit_per_hour = models.PositiveSmallIntegerField(
        _("submissions per address per hour"), default=5)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead form")
        verbose_name_plural = _("lead forms")

    def __str__(self) -> str:
        return self.name


class Lead(TimeStampedModel, SoftDeleteModel, VersionedModel):
    """A prospective customer not yet qualified: from manual entry, import, a web form
    or the API. Converted into customer + contact + opportunity in one step."""

    company = models.CharField(_("company"), max_length=200, blank=True)
    name = models.CharField(_("contact name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    industry = models.ForeignKey("parties.Industry", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("industry"))
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="leads",
                                     verbose_name=_("product line"))
    source = models.CharField(_("source channel"), max_length=20, blank=True,
                              choices=SourceChannel.choices)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    form = models.ForeignKey(LeadForm, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="leads", verbose_name=_("web form"))
    description = models.TextField(_("request / notes"), blank=True)
    estimated_amount = models.DecimalField(_("estimated amount (元)"), max_digits=14,
                                           decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices,
                              default=LeadStatus.NEW, db_index=True)
    unqualified_reason = models.CharField(_("why unqualified"), max_length=200, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="leads",
                              verbose_name=_("owner"))
    owner_since = models.DateTimeField(null=True, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="leads", verbose_name=_("region / office"))
    pool = models.ForeignKey(Pool, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="leads", verbose_name=_("customer pool"))
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # Learned probability that the lead becomes a won deal (0–1), its reasons, and a
    # hand override in percent.
    score = models.FloatField(_("score"), null=True, blank=True)
    score_reasons = models.JSONField(default=list, blank=True)
    score_override = models.PositiveSmallIntegerField(_("score set by hand (%)"), null=True,
                                                      blank=True)
    name_key = models.CharField(max_length=200, blank=True, default="", db_index=True,
                                editable=False)
    converted_customer = models.ForeignKey("parties.Customer", null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="leads",
                                           verbose_name=_("customer"))
    converted_contact = models.ForeignKey("parties.Contact", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    converted_opportunity = models.ForeignKey(Opportunity, null=True, blank=True,
                                              on_delete=models.SET_NULL, related_name="+")
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    consent = models.BooleanField(_("agreed to be contacted"), default=False)
    submitted_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    source_system = models.CharField(max_length=30, blank=True, default="", editable=False)
    external_id = models.CharField(max_length=100, blank=True, default="", editable=False)

    objects = LeadQuerySet.as_manager_alive()
    all_objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "created_at"]),
            models.Index(fields=["pool", "status"]),
            models.Index(fields=["source_system", "external_id"]),
        ]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return self.company or self.name or _("(unnamed lead)")

    @property
    def display_score(self) -> int | None:
        """The score in percent: the hand override, else the learned one."""
        if self.score_override is not None:
            return self.score_override
        return None if self.score is None else round(self.score * 100)


# ---------------------------------------------------------------- targets and scoring


class PeriodKind(models.TextChoices):
    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")


class SalesTarget(models.Model):
    """Won revenue (元) a rep — or a whole team when `user` is empty — should reach in a
    month, quarter or year starting on `period_start`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="sales_targets",
                             verbose_name=_("sales rep"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="sales_targets", verbose_name=_("team"))
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices,
                                   default=PeriodKind.MONTH)
    period_start = models.DateField(_("period start"))
    amount = models.DecimalField(_("target (元)"), max_digits=14, decimal_places=2)
    product_line = models.ForeignKey(ProductLine, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("product line"))

    class Meta:
        ordering = ["-period_start", "user", "team"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team", "period_kind", "period_start",
                                            "product_line"], name="uniq_sales_target"),
            models.CheckConstraint(condition=models.Q(user__isnull=False)
                                   | models.Q(team__isnull=False), name="target_has_owner"),
        ]
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")

    def __str__(self) -> str:
        who = self.user or self.team
        return f"{who} · {self.get_period_kind_display()} {self.period_start:%Y-%m-%d}"


class ScoringModel(models.Model):
    """A trained win-probability model (see scoring.py); the newest active one scores."""

    kind = models.CharField(max_length=20, default="deal")  # "deal" or "lead"
    created_at = models.DateTimeField(default=timezone.now)
    trained_on = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
from .rollups import DashboardRollup  # noqa: E402,F401 - the dashboard summary table
