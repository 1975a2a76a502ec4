"""Customers (organisations and individuals), contacts, tags, industries and custom fields."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import SoftDeleteModel, TimeStampedModel, VersionedModel

from .querysets import ContactQuerySet, CustomerQuerySet


class CustomerKind(models.TextChoices):
    ORGANISATION = "org", _("organisation")
    PERSON = "person", _("individual")


class Tier(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Stage(models.TextChoices):
    SUSPECT = "suspect", _("suspect")
    PROSPECT = "prospect", _("prospect")
    LEAD = "lead", _("lead")
    OPPORTUNITY = "opportunity", _("opportunity")
    CUSTOMER = "customer", _("customer")
    LOYAL = "loyal", _("loyal customer")
    CHURNED = "churned", _("churned")


class SourceChannel(models.TextChoices):
    REFERRAL = "referral", _("referral")
    EXHIBITION = "exhibition", _("trade show")
    WEBSITE = "website", _("website")
    ADVERTISING = "advertising", _("advertising")
    DIRECT_MAIL = "direct_mail", _("direct mail")
    COLD_CALL = "cold_call", _("cold call")
    TENDER = "tender", _("public tender")
    PARTNER = "partner", _("partner / distributor")
    OTHER = "other", _("other")


class Industry(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("industry")
        verbose_name_plural = _("industries")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class FieldType(models.TextChoices):
    TEXT = "text", _("text")
    NUMBER = "number", _("number")
    DATE = "date", _("date")
    CHOICE = "choice", _("choice")
    MULTI = "multi", _("multiple choice")
    BOOL = "bool", _("yes/no")


class CustomFieldDef(models.Model):
    """An administrator-defined field, for every customer or only one industry's."""

    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    industry = models.ForeignKey(Industry, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="custom_fields", verbose_name=_("industry"),
                                 help_text=_("Empty: the field applies to every customer."))
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    pack = models.CharField(max_length=50, blank=True, editable=False)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["key"], name="uniq_custom_field_key")]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label


class Customer(TimeStampedModel, SoftDeleteModel, VersionedModel):
    kind = models.CharField(_("type"), max_length=8, choices=CustomerKind.choices,
                            default=CustomerKind.ORGANISATION)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    # Address: Chinese (province/city/district/street) or foreign (country + lines).
    country = models.CharField(_("country"), max_length=2, default="CN")
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True, db_index=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True,
                             help_text=_("Stored in E.164 form, e.g. +8613800138000"))
    phone_ext = models.CharField(_("extension"), max_length=10, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    industry = models.ForeignKey(Industry, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="customers", verbose_name=_("industry"))
    source = models.CharField(_("source channel"), max_length=20, blank=True,
                              choices=SourceChannel.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="customers", verbose_name=_("region / office"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_customers",
                              verbose_name=_("account manager"))
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                         related_name="shared_customers",
                                         verbose_name=_("shared with"))
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers",
                                  verbose_name=_("tags"))
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, default=Tier.C,
                            db_index=True)
    stage = models.CharField(_("life-cycle stage"), max_length=16, choices=Stage.choices,
                             default=Stage.PROSPECT, db_index=True)
    credit_days = models.PositiveIntegerField(_("payment terms (days)"), default=0)
    credit_limit = models.DecimalField(_("credit limit (元)"), max_digits=14, decimal_places=2,
                                       null=True, blank=True)
    consent_email = models.BooleanField(_("may e-mail"), default=False)
    consent_sms = models.BooleanField(_("may send SMS"), default=False)
    consent_phone = models.BooleanField(_("may phone"), default=True)
    consent_mail = models.BooleanField(_("may send post"), default=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # Denormalised text that global search indexes: names in both scripts, pinyin,
    # initials, phone digits, e-mails and the contacts' names and phones.
    search_text = models.TextField(blank=True, default="", editable=False)
    source_system = models.CharField(max_length=30, blank=True, default="", editable=False)
    external_id = models.CharField(_("external id"), max_length=100, blank=True, default="")
    # normalize.company_key(name): what duplicate checks compare (organisations only).
    name_key = models.CharField(max_length=200, blank=True, default="", editable=False,
                                db_index=True)
    # normalize.name_block(city, name_key): near-duplicate checks compare within a block.
    name_block = models.CharField(max_length=60, blank=True, default="", editable=False,
                                  db_index=True)
    # Set when this customer was merged into another (it then sits in the recycle bin).
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", editable=False)

    objects = CustomerQuerySet.as_manager_alive()
    all_objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "deleted_at"]),
            models.Index(fields=["team", "deleted_at"]),
            models.Index(fields=["deleted_at", "updated_at"]),
            models.Index(fields=["deleted_at", "name"]),
            models.Index(fields=["owner", "last_contact_at"]),
            # My day's "gone too long without contact" for managers and directors,
            # the list sorted by last contact, and office + tier filters.
            models.Index(fields=["tier", "last_contact_at"]),
            models.Index(fields=["deleted_at", "last_contact_at"]),
            models.Index(fields=["team", "tier"]),
            models.Index(fields=["owner", "deleted_at", "updated_at"]),
            models.Index(fields=["email"]),
            models.Index(fields=["external_id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~models.Q(external_id=""),
                name="uniq_customer_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("parties:customer_detail", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        # The duplicate-check keys follow the name and city whatever path saves the row
        # (bulk loaders that skip save() set them themselves).
        from .normalize import company_key, name_block

        self.name_key = company_key(self.name) if self.kind == CustomerKind.ORGANISATION else ""
        self.name_block = name_block(self.city, self.name_key)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and ({"name", "city", "kind"} & set(update_fields)):
            kwargs["update_fields"] = {*update_fields, "name_key", "name_block"}
        super().save(*args, **kwargs)

    @property
    def address(self) -> str:
        if self.country == "CN":
            return "".join(p for p in (self.province, self.city, self.district, self.street) if p)
        return ", ".join(p for p in (self.street, self.city, self.province, self.postal_code,
                                     self.country) if p)


class Contact(TimeStampedModel, SoftDeleteModel, VersionedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts",
                                 verbose_name=_("customer"))
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True, db_index=True)
    phone = models.CharField(_("office phone"), max_length=40, blank=True)
    phone_ext = models.CharField(_("extension"), max_length=10, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    consent_email = models.BooleanField(_("may e-mail"), default=False)
    consent_sms = models.BooleanField(_("may send SMS"), default=False)
    consent_phone = models.BooleanField(_("may phone"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    objects = ContactQuerySet.as_manager_alive()
    all_objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # Caller screen-pop looks office lines up by their E.164 form.
        indexes = [models.Index(fields=["phone"], name="parties_contact_phone")]

    def __str__(self) -> str:
        return self.name


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("to review")
    DISMISSED = "dismissed", _("not a duplicate")
    MERGED = "merged", _("merged")


class DuplicateCandidate(models.Model):
    """Two customers that look like the same one, waiting for a person to decide.

    Imports add near matches (similar names in one city) here instead of merging them;
    the duplicate scan adds pairs sharing a phone, e-mail or company name. `first` has
    the lower id.
    """

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"), default=0.0)  # 0–100
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    source = models.CharField(max_length=20, default="scan")  # "scan" or "import"
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=DuplicateStatus.choices,
                              default=DuplicateStatus.OPEN)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="uniq_duplicate_pair"),
        ]
        indexes = [models.Index(fields=["status", "score"])]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")


class MergeRecord(models.Model):
    """One merge of customers into a survivor, with what it takes to undo it.

    `before` holds the survivor's field values before the merge; `moved` lists, per
    related model and foreign key, the ids of the rows moved to the survivor
    ({"activities.interaction": {"customer": {"<old customer id>": [ids…]}}}); `added`
    the tags and shares the survivor gained.
    """

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("kept customer"))
    merged_ids = models.JSONField(default=list)
    before = models.JSONField(default=dict)
    changes = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    added = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
