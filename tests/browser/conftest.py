"""Browser tests in real headless Chromium (Debian's /usr/bin/chromium) through Playwright.

Fixtures for every browser test:
  page          a fresh Chromium page (new profile) whose base URL is pytest-django's
                live_server, so `page.goto("/customers/")` works
  login         login(page, user, password="pw-Guanxi-123") signs in through the form
  screenshot    screenshot(page, name, width=None) writes docs/screenshots/<name>.png at
                1280 px and <name>-phone.png at 390 px (or only the given width)
Mark tests with `pytestmark = pytest.mark.browser`. Without Chromium the tests are skipped
with a plain message, except under CI=true, where a missing browser fails them.
Playwright's sync API runs an event loop in the test thread, so Django's async-safety
check is switched off while it runs (DJANGO_ALLOW_ASYNC_UNSAFE).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEFAULT_PASSWORD = "pw-Guanxi-123"
SCREENSHOT_DIR = Path(os.environ.get(
    "GUANXI_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "docs" / "screenshots"))
DESKTOP, PHONE = 1280, 390


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = (f"Chromium is not installed at {CHROMIUM} "
                   "(Debian: apt-get install chromium, or run scripts/ensure-chromium.sh)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI=true the browser tests must run.")
        pytest.skip(f"{message}: browser test skipped.")
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_instance(chromium_executable) -> Iterator:
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_locale() -> str:
    """The browser's language (Accept-Language); override the fixture to change it."""
    return "zh-CN"


@pytest.fixture
def browser_context(playwright_instance, chromium_executable, live_server, tmp_path,
                    browser_locale) -> Iterator:
    """A Chromium with a fresh, empty profile (its own --user-data-dir) for each test."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=chromium_executable,
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        locale=browser_locale,
        timezone_id="Asia/Shanghai",
        viewport={"width": DESKTOP, "height": 800},
    )
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context) -> Iterator:
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def login() -> Callable:
    def _login(page, user, password: str = DEFAULT_PASSWORD) -> None:
        page.goto("/login/")
        form = page.locator("form:has(input[name=password])")
        form.locator("input[name=username]").fill(user.username)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return _login


@pytest.fixture
def screenshot() -> Callable:
    def _screenshot(page, name: str, width: int | None = None) -> list[Path]:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size or {"width": DESKTOP, "height": 800}
        written = []
        for w in ([width] if width else [DESKTOP, PHONE]):
            suffix = "" if w == DESKTOP else ("-phone" if w == PHONE else f"-{w}")
            path = SCREENSHOT_DIR / f"{name}{suffix}.png"
            page.set_viewport_size({"width": w, "height": 800 if w >= 800 else 844})
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
        page.set_viewport_size(original)
        return written

    return _screenshot
