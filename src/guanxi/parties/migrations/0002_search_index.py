"""Global search index: SQLite FTS5 (trigram) + sync triggers, or PostgreSQL pg_trgm GIN.

Vendor-conditional: each backend creates only its own objects (see search_index.py).
"""

from django.db import migrations

from guanxi.parties import search_index


class Migration(migrations.Migration):
    dependencies = [("parties", "0001_initial")]

    operations = [
        migrations.RunPython(search_index.install, search_index.uninstall, elidable=False),
    ]
