"""Forms of the import wizard: step 1 (what and which file) and step 2 (columns and options).

They only collect and check input; storing the file and running the import is the
engine's job (`dataio.engine`), called from `views_import`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from .fields import TARGET_LABELS, FieldSpec
from .readers import ENCODINGS

# Largest file the web wizard accepts (the CLI has no limit).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

MODE_CHOICES = [
    ("upsert", _("Create new and update existing")),
    ("create", _("Only create new records")),
    ("update", _("Only update existing records")),
]
# How a row finds the existing customer, in the order the engine tries them.
MATCH_CHOICES = [
    ("external_id", _("External id")),
    ("phone", _("Phone")),
    ("email", _("E-mail")),
    ("name", _("Company name")),
]


def target_choices() -> list[tuple[str, Any]]:
    return list(TARGET_LABELS.items())


def encoding_choices() -> list[tuple[str, Any]]:
    return [("", _("Detect automatically")), *ENCODINGS.items()]


class UploadForm(forms.Form):
    """Step 1: what to import, the file, and (rarely needed) its encoding or sheet."""

    target = forms.ChoiceField(label=_("What to import"), choices=target_choices,
                               initial="customers")
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}),
    )
    encoding = forms.ChoiceField(label=_("Encoding"), choices=encoding_choices, required=False,
                                 help_text=_("Only for CSV files; detected when left alone."))
    sheet = forms.CharField(label=_("Sheet"), max_length=100, required=False,
                            help_text=_("Only for Excel files; the first sheet when empty."))

    def __init__(self, *args, targets: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if targets is not None:
            self.fields["target"].choices = [(t, TARGET_LABELS[t]) for t in targets]
        self.fields["file"].help_text = _(
            "CSV or Excel (.xlsx), at most %(size)s. The first row holds the column names."
        ) % {"size": filesizeformat(MAX_UPLOAD_BYTES)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if name.endswith(".xls"):
            raise forms.ValidationError(
                _("Old Excel files (.xls) can't be read: open the file in Excel or WPS, save it "
                  "as .xlsx or .csv and upload that."), code="xls")
        if not name.endswith(CSV_SUFFIXES + XLSX_SUFFIXES):
            raise forms.ValidationError(
                _("Upload a CSV (.csv) or Excel (.xlsx) file."), code="type")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the largest file you can upload is %(max)s. Split it, or "
                  "ask an administrator to use the command line import.")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(MAX_UPLOAD_BYTES)},
                code="size")
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."), code="empty")
        return upload


class ReadOptionsForm(forms.Form):
    """Step 2, re-reading the file: another encoding (CSV) or sheet (XLSX)."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=encoding_choices, required=False)
    sheet = forms.ChoiceField(label=_("Sheet"), choices=(), required=False)

    def __init__(self, *args, sheets: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [(s, s) for s in sheets or []]


class MappingForm(forms.Form):
    """Step 2: a field for every column, how to match and write, and what to do with bad rows.

    Column selects are named `col_<n>` (headers can hold any character); `mapping()`
    turns them back into {header: field key}.
    """

    mode = forms.ChoiceField(label=_("Mode"), choices=MODE_CHOICES, initial="upsert",
                             widget=forms.RadioSelect)
    match = forms.MultipleChoiceField(
        label=_("Find existing customers by"), choices=MATCH_CHOICES, required=False,
        initial=[value for value, _label in MATCH_CHOICES], widget=forms.CheckboxSelectMultiple,
        help_text=_("Tried in this order; the first that matches wins."))
    skip_invalid = forms.BooleanField(
        label=_("Skip invalid rows and give me a rejects file"), required=False,
        help_text=_("Without this, one bad row stops the import and nothing is written."))
    save_as = forms.CharField(label=_("Save this mapping as…"), max_length=100, required=False,
                              help_text=_("A name to reuse these columns next time; an existing "
                                          "mapping of that name is replaced."))

    def __init__(self, *args, target: str, headers: list[str], fields: list[FieldSpec],
                 initial_mapping: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.headers = headers
        if target != "customers":
            # Contacts and interactions find their customer by the customer columns.
            del self.fields["match"]
        choices = [("", _("— ignore this column —"))]
        choices += [(f.key, f"{f.label} *" if f.required else f.label) for f in fields]
        initial_mapping = initial_mapping or {}
        for i, header in enumerate(headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=header, choices=choices, required=False,
                initial=initial_mapping.get(header, ""))

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}

    def clean_match(self) -> list[str]:
        chosen = set(self.cleaned_data.get("match") or [])
        return [value for value, _label in MATCH_CHOICES if value in chosen]

    def clean_save_as(self) -> str:
        return (self.cleaned_data.get("save_as") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "match" in self.fields and data.get("mode") in ("update", "upsert") \
                and not data.get("match"):
            self.add_error("match", _("Choose at least one way to find existing customers, or "
                                      "only create new ones."))
        return data
