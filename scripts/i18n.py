#!/usr/bin/env python3
"""Developer tool for the translation catalogs (needs GNU gettext's xgettext for `extract`).

  scripts/i18n.py extract            makemessages for zh_Hans, zh_Hant and en
  scripts/i18n.py apply FILE.json    put zh-Hans translations from FILE into zh_Hans
  scripts/i18n.py derive             fill zh_Hant from zh_Hans (OpenCC s2twp) where it is
                                     empty, and en with the English source text
  scripts/i18n.py check              list entries that are missing or lost a placeholder
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import opencc
import polib

ROOT = Path(__file__).resolve().parent.parent / "src" / "guanxi"
LOCALE = ROOT / "locale"
PLACEHOLDER = re.compile(r"%\([a-zA-Z_]+\)[sdf]|%[sd]|\{[a-zA-Z_]*\}")


def catalog(lang: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"), wrapwidth=100)


def extract() -> None:
    env = dict(os.environ, GUANXI_DATA_DIR=os.environ.get("GUANXI_DATA_DIR", "/tmp/guanxi-i18n"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--settings=guanxi.config.settings",
         "-l", "zh_Hans", "-l", "zh_Hant", "-l", "en", "--no-obsolete",
         "-i", "testing/*", "-i", "*/tests/*",],
        cwd=ROOT, env=env, check=True,
    )


def _set(entry: polib.POEntry, text: str) -> None:
    if entry.msgid_plural:
        entry.msgstr_plural = {0: text}
    else:
        entry.msgstr = text
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")


def _get(entry: polib.POEntry) -> str:
    if entry.msgid_plural:
        return entry.msgstr_plural.get(0, "")
    return entry.msgstr


def apply(path: str) -> None:
    po = catalog("zh_Hans")
    index = {(e.msgctxt, e.msgid): e for e in po}
    n = 0
    for item in json.loads(Path(path).read_text()):
        entry = index.get((item.get("msgctxt"), item["msgid"]))
        if entry is not None and item.get("msgstr"):
            _set(entry, item["msgstr"])
            n += 1
    po.save()
    print(f"applied {n} translations")


def derive() -> None:
    conv = opencc.OpenCC("s2twp")
    hans = {(e.msgctxt, e.msgid): _get(e) for e in catalog("zh_Hans")}
    hant = catalog("zh_Hant")
    for e in hant:
        if not _get(e) or "fuzzy" in e.flags:
            source = hans.get((e.msgctxt, e.msgid))
            if source:
                _set(e, conv.convert(source))
    hant.save()
    en = catalog("en")
    for e in en:
        if e.msgid_plural:
            e.msgstr_plural = {0: e.msgid, 1: e.msgid_plural}
            if "fuzzy" in e.flags:
                e.flags.remove("fuzzy")
        else:
            _set(e, e.msgid)
    en.save()


def problems(lang: str) -> list[str]:
    out = []
    for e in catalog(lang):
        texts = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
        if not all(texts) or "fuzzy" in e.flags:
            out.append(f"{lang}: untranslated: {e.msgid!r}")
            continue
        wants = [sorted(PLACEHOLDER.findall(m)) for m in (e.msgid, e.msgid_plural) if m]
        for text in texts:
            if sorted(PLACEHOLDER.findall(text)) not in wants:
                out.append(f"{lang}: placeholders differ: {e.msgid!r} → {text!r}")
    return out


def check() -> int:
    issues = [p for lang in ("zh_Hans", "zh_Hant", "en") for p in problems(lang)]
    print("\n".join(issues) or "all catalogs complete")
    return 1 if issues else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "extract":
        extract()
    elif cmd == "apply":
        apply(sys.argv[2])
    elif cmd == "derive":
        derive()
    elif cmd == "check":
        sys.exit(check())
    else:
        print(__doc__)
        sys.exit(2)
