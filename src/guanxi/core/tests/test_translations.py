"""Every user-facing string is translated into zh-Hans, zh-Hant and en, placeholders intact,
and the UI really switches language."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

PLACEHOLDER = re.compile(r"%\([a-zA-Z_]+\)[sdf]|%[sd]|\{[a-zA-Z_]*\}")
LOCALE = Path(settings.LOCALE_PATHS[0])


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_catalog_is_complete_and_keeps_placeholders(lang):
    po = polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))
    assert len(po) > 300
    problems = []
    for e in po:
        texts = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
        if not all(texts) or "fuzzy" in e.flags:
            problems.append(f"untranslated: {e.msgid!r}")
            continue
        # A plural entry's forms may use either the singular's or the plural's placeholders
        # (Chinese has one form, which says "%(counter)s" even for one).
        wants = [sorted(PLACEHOLDER.findall(m)) for m in (e.msgid, e.msgid_plural) if m]
        problems += [f"placeholders: {e.msgid!r} → {t!r}" for t in texts
                     if sorted(PLACEHOLDER.findall(t)) not in wants]
    assert problems == []


def test_traditional_catalog_is_traditional_script():
    po = polib.pofile(str(LOCALE / "zh_Hant" / "LC_MESSAGES" / "django.po"))
    text = "".join(e.msgstr for e in po)
    assert "客戶" in text and "客户" not in text


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "word"), [("zh-hans", "客户"), ("zh-hant", "客戶"),
                                            ("en", "Customers")])
def test_pages_render_in_the_chosen_language(client, users, lang, word):
    client.force_login(users["director"])
    client.post("/i18n/setlang/", {"language": lang, "next": "/customers/"})
    response = client.get("/customers/")
    assert response.status_code == 200
    assert word in response.content.decode()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.mark.django_db
def test_default_language_is_simplified_chinese(client, users):
    from guanxi.config import settings as production

    assert production.LANGUAGE_CODE == "zh-hans"
    client.force_login(users["director"])
    with override_settings(LANGUAGE_CODE=production.LANGUAGE_CODE):
        html = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="").content.decode()
    assert 'lang="zh-hans"' in html and "客户" in html
