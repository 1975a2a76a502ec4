"""Sales set-up pages for administrators: product lines, products, pipelines and their
stages with entry rules. Everything else gets 403; writes go through setup_services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import setup_services as svc
from .models import Pipeline, Product, ProductLine, Stage
from .setup_forms import (
    PipelineForm,
    ProductForm,
    ProductLineForm,
    StageForm,
    activity_choices,
    requirable_choices,
)


def _require_admin(request: HttpRequest) -> None:
    if not svc.can_edit_setup(request.user):
        raise PermissionDenied


def _apply(form: Form, exc: ValidationError) -> None:
    """Put a service's errors on the form's fields (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    pipelines = list(Pipeline.objects.select_related("product_line")
                     .annotate(n_stages=Count("stages")).order_by("-is_default", "name"))
    for p in pipelines:
        p.problems = svc.pipeline_problems(p)
    return render(request, "sales/setup/index.html", {
        "product_lines": ProductLine.objects.annotate(n_products=Count("products")),
        "products": Product.objects.select_related("product_line"),
        "pipelines": pipelines,
    })


def _edit(request: HttpRequest, *, form_class, model, pk: int | None, save, title: str,
          kw: str) -> HttpResponse:
    instance = get_object_or_404(model, pk=pk) if pk is not None else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in form._meta.fields}
        fresh = model.objects.get(pk=pk) if pk is not None else None
        try:
            save(actor=request.user, **{kw: fresh}, **data)
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("salessetup:index")
    return render(request, "sales/setup/form.html", {"form": form, "title": title,
                                                      "instance": instance})


@login_required
def product_line_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    return _edit(request, form_class=ProductLineForm, model=ProductLine, pk=pk,
                 save=svc.product_line_save, kw="product_line",
                 title=_("Edit product line") if pk else _("New product line"))


@login_required
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    return _edit(request, form_class=ProductForm, model=Product, pk=pk,
                 save=svc.product_save, kw="product",
                 title=_("Edit product") if pk else _("New product"))


@login_required
@require_POST
def product_line_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    line = get_object_or_404(ProductLine, pk=pk)
    svc.product_line_save(actor=request.user, product_line=line, active=not line.active)
    return redirect("salessetup:index")


@login_required
@require_POST
def product_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    product = get_object_or_404(Product, pk=pk)
    svc.product_save(actor=request.user, product=product, active=not product.active)
    return redirect("salessetup:index")


# ---------------------------------------------------------------- pipelines and stages


@login_required
def pipeline_create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("name", "product_line", "is_default", "active")}
        try:
            pipeline = svc.pipeline_save(actor=request.user,
                                         copy_from=form.cleaned_data.get("copy_from"), **data)
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Pipeline created."))
            return redirect("salessetup:pipeline", pk=pipeline.pk)
    return render(request, "sales/setup/form.html", {"form": form, "title": _("New pipeline")})


@login_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The pipeline's settings and its stages (add, edit, reorder, delete)."""
    _require_admin(request)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = PipelineForm(request.POST or None, instance=pipeline, prefix="pipeline")
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("name", "product_line", "is_default", "active")}
        try:
            svc.pipeline_save(actor=request.user, pipeline=Pipeline.objects.get(pk=pk), **data)
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("salessetup:pipeline", pk=pk)
    return _render_pipeline(request, Pipeline.objects.get(pk=pk), form=form)


def _render_pipeline(request: HttpRequest, pipeline: Pipeline, *, form=None,
                     stage_form: StageForm | None = None, status: int = 200) -> HttpResponse:
    fields = dict(requirable_choices())
    activities = dict(activity_choices())
    stages = list(pipeline.stages.order_by("order", "pk"))
    for s in stages:
        s.field_labels = [fields.get(f, f) for f in s.required_fields]
        s.activity_labels = [activities.get(a, a) for a in s.required_activities]
        s.in_use = svc.stage_in_use(s)
    return render(request, "sales/setup/pipeline.html", {
        "pipeline": pipeline, "stages": stages, "problems": svc.pipeline_problems(pipeline),
        "form": form or PipelineForm(instance=pipeline, prefix="pipeline"),
        "stage_form": stage_form or StageForm(prefix="new"),
    }, status=status)


@login_required
@require_POST
def stage_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = StageForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            svc.stage_add(actor=request.user, pipeline=pipeline, **form.cleaned_data)
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Stage added."))
            return redirect("salessetup:pipeline", pk=pk)
    return _render_pipeline(request, pipeline, stage_form=form, status=400)


@login_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    if request.method == "POST":
        form = StageForm(request.POST)
        if form.is_valid():
            try:
                svc.stage_update(actor=request.user, stage=stage, **form.cleaned_data)
            except ValidationError as exc:
                _apply(form, exc)
            else:
                messages.success(request, _("Stage saved."))
                return redirect("salessetup:pipeline", pk=stage.pipeline_id)
    else:
        form = StageForm.for_stage(stage)
    return render(request, "sales/setup/stage_form.html", {"form": form, "stage": stage})


@login_required
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    stage = get_object_or_404(Stage, pk=pk)
    try:
        svc.stage_move(actor=request.user, stage=stage, direction=request.POST.get("direction"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("salessetup:pipeline", pk=stage.pipeline_id)


@login_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    stage = get_object_or_404(Stage, pk=pk)
    try:
        svc.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Stage “%(name)s” deleted.") % {"name": stage.name})
    return redirect("salessetup:pipeline", pk=stage.pipeline_id)
