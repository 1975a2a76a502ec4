"""Settings for the test suite: fast hashing, immediate tasks, isolated data dir."""

import os
import tempfile

os.environ.setdefault("GUANXI_DATA_DIR", tempfile.mkdtemp(prefix="guanxi-test-"))

from .settings import *  # noqa: E402,F401,F403
from .settings import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get(
    "DATABASE_URL"
):
    DATABASES["default"]["NAME"] = os.path.join(os.environ["GUANXI_DATA_DIR"], "test.sqlite3")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# WhiteNoise warns when the static root is missing; tests serve static files from finders.
from .settings import STATIC_ROOT

os.makedirs(STATIC_ROOT, exist_ok=True)

# Tests assert on English source strings; the zh-Hans default is covered by
# core/tests/test_translations.py, which renders pages with the production default.
LANGUAGE_CODE = "en"
