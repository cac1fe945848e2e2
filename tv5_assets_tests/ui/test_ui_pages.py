"""The lineage page and an asset page, opened in Debian's headless chromium (driven by Playwright).

A page fails on an uncaught JavaScript error or an error boundary's text, and passes only once real
content is drawn (the graph's group boxes; the asset's name, description and, after a run, row count). The screenshots are kept
under $TV5_DATA_DIR/ui-screenshots/ and their paths printed, so a CI log names them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tv5_assets_tests.ui.conftest import SCREENSHOTS, Webserver, skip_or_fail

CHROMIUM_NAMES = ("chromium", "chromium-browser")
ERROR_TEXTS = ("Something went wrong", "An unexpected error", "Unexpected GraphQL error")
CONTENT_TIMEOUT_MS = 30_000
ASSET = "neo4j_movies"


def chromium_path() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    executable = chromium_path()
    if executable is None:
        skip_or_fail("Debian's chromium is not installed (scripts/bootstrap.sh installs it: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (the dev extra of pyproject.toml)")
    with sync_playwright() as playwright:
        # Playwright's own browser download is blocked here: it drives the Debian executable.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, url: str, wait_for: Callable, shot: str) -> tuple[Path, str]:
    """Open url, wait for content, screenshot it; fail on a page error. Returns (screenshot, body text)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    screenshot = SCREENSHOTS / f"{shot}.png"
    try:
        page.goto(url, wait_until="domcontentloaded")
        try:
            wait_for(page)
            page.wait_for_load_state("networkidle", timeout=10_000)
        finally:
            page.screenshot(path=str(screenshot))
            print(f"UI screenshot: {screenshot}")
        body = page.inner_text("body")
    finally:
        page.close()
    assert not errors, f"JavaScript errors on {url} (screenshot {screenshot}): {errors}"
    shown = [text for text in ERROR_TEXTS if text in body]
    assert not shown, f"{url} shows an error ({shown}); screenshot {screenshot}"
    return screenshot, body


def group_names(webserver: Webserver) -> list[str]:
    nodes = webserver.graphql("{ assetNodes { groupName } }")["assetNodes"]
    return sorted({n["groupName"] for n in nodes})


def test_lineage_page_draws_every_group(browser, webserver: Webserver) -> None:
    groups = group_names(webserver)

    def graph_drawn(page) -> None:
        page.get_by_text("Global asset lineage").first.wait_for(timeout=CONTENT_TIMEOUT_MS)
        graph = page.locator("svg foreignObject")  # the graph's boxes (the sidebar lists the groups too)
        for group in groups:
            graph.get_by_text(group, exact=True).first.wait_for(timeout=CONTENT_TIMEOUT_MS)

    screenshot, _ = open_page(browser, f"{webserver.url}/asset-groups", graph_drawn, "lineage")
    assert screenshot.stat().st_size > 10_000, f"{screenshot} looks empty"


def test_asset_page_shows_the_asset(browser, webserver: Webserver) -> None:
    node = webserver.graphql(
        "query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode { description "
        "assetMaterializations(limit: 1) { runId } } } }",
        {"key": {"path": [ASSET]}},
    )["assetNodeOrError"]
    description, materialized = node["description"], bool(node["assetMaterializations"])

    def asset_drawn(page) -> None:
        page.get_by_text(ASSET, exact=True).first.wait_for(timeout=CONTENT_TIMEOUT_MS)
        page.get_by_text("Latest materialization").first.wait_for(timeout=CONTENT_TIMEOUT_MS)
        if materialized:  # the status panel shows the latest materialization's dagster/row_count
            page.get_by_text("Row count", exact=True).first.wait_for(timeout=CONTENT_TIMEOUT_MS)

    _, body = open_page(browser, f"{webserver.url}/assets/{ASSET}", asset_drawn, f"asset-{ASSET}")
    assert description[:40] in body, f"{ASSET}'s description is not on its page"


@pytest.mark.parametrize(
    ("html", "caught"),
    [
        ("<p>ready</p><script>throw new Error('boom in the page')</script>", "JavaScript errors"),
        ("<p>ready</p><h1>Something went wrong</h1>", "shows an error"),
    ],
)
def test_a_page_error_fails_the_page(browser, html: str, caught: str) -> None:
    """The detector itself: an uncaught exception or an error screen fails open_page."""

    def ready(page) -> None:
        page.get_by_text("ready").wait_for(timeout=5_000)

    with pytest.raises(AssertionError, match=caught):
        open_page(browser, f"data:text/html,{html}", ready, "selftest-error-detection")
