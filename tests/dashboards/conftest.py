"""Fixtures of the review app's tests: a 60-trial campaign store built on the twin, the app served on a free
loopback port, and one real headless Chromium (Debian's ``/usr/bin/chromium``) per test session.

In CI (``CI=true``) a missing Chromium fails the browser tests with a clear message; elsewhere they are skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SPUTTER_TWIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboards"
N_DONE, N_PROPOSED = 60, 4


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def sample_store_template(tmp_path_factory) -> Path:
    """A store holding one campaign: 60 finished twin runs and 4 GP proposals. Built once; copy before writing."""
    from dashboards.sample_store import build_sample_store

    path = tmp_path_factory.mktemp("store") / "template.sqlite"
    build_sample_store(path, N_DONE, N_PROPOSED, seed=3)
    return path


@pytest.fixture
def store_path(sample_store_template, tmp_path) -> Path:
    """A private copy of the sample store for one test (the template is closed, so its WAL is checkpointed)."""
    dst = tmp_path / "campaigns.sqlite"
    shutil.copyfile(sample_store_template, dst)
    return dst


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright's Python package, the system's chromium binary).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it
    lives, which would leak into every later test module.
    """
    if not Path(CHROMIUM).exists():
        msg = (f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
               "(apt-get install chromium) or SPUTTER_TWIN_CHROMIUM=/path/to/chromium")
        if _in_ci():
            pytest.fail(msg + " — CI=true, so these tests must run, not skip", pytrace=False)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:
        pw.stop()
        if _in_ci():
            pytest.fail(f"cannot launch Chromium at {CHROMIUM}: {exc}", pytrace=False)
        pytest.skip(f"cannot launch Chromium at {CHROMIUM}: {exc}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh browser context and page (own cookies), closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def served(store_path) -> Iterator[tuple[str, Path]]:
    """The app on a private store copy, served on 127.0.0.1 at a free port: ``(url, store_path)``."""
    from dashboards.app import create_app
    from dashboards.serve import start

    app = create_app(store_path, refresh_ms=500)
    running = start(app.server, "127.0.0.1", 0)
    yield running.url, store_path
    running.stop()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
