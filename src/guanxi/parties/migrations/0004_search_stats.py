"""Trigram statistics for the SQLite search planner (see search_plan.py); no-op on
PostgreSQL. The tables start empty: rebuild_search_index / optimize_search_index
fill them."""

from django.db import migrations

from guanxi.parties import search_index


class Migration(migrations.Migration):
    dependencies = [("parties", "0003_list_indexes")]

    operations = [
        migrations.RunPython(search_index.install_stats, search_index.uninstall_stats,
                             elidable=False),
    ]
