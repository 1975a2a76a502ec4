from django.urls import path

from . import views_export

app_name = "export"
urlpatterns = [
    path("contacts.vcf", views_export.contacts_vcf, name="contacts_vcf"),
    path("vcard/import/", views_export.vcard_import, name="vcard_import"),
    path("<slug:what>.<slug:fmt>", views_export.download, name="download"),
]
