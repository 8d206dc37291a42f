"""The chat page in headless Chromium: ``routellm serve`` (random router) over a loopback
echo upstream; type messages, read the shown model and score, move the threshold slider.

Needs Debian's ``chromium`` (``apt-get install chromium``) and ``pip install playwright``
(no ``playwright install``: the system browser is used).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from routellm_core.testing import EchoUpstream, serve

CHROMIUM = os.environ.get("CHROMIUM_PATH") or next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server():
    with EchoUpstream() as upstream:
        args = [
            "--routers",
            "random",
            "length",
            "--threshold",
            "length=0.3",
            "--strong-model",
            "openai/strong-echo",
            "--weak-model",
            "openai/weak-echo",
            "--base-url",
            upstream.base_url,
            "--api-key",
            "sk-echo",
        ]
        with serve(args, ready_timeout=60) as srv:
            yield srv


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory(prefix="routellm-chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 760}
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture()
def page(browser, server):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(server.url + "/")
    if response is None or response.status == 404:
        response = page.goto(server.url + "/chat")
    assert response is not None and response.ok, f"chat page not served at / or /chat: {response and response.status}"
    page.wait_for_selector("body[data-ready]")
    assert page.get_attribute("body", "data-ready") == "1", page.inner_text("#status")
    page.select_option('[data-testid="router-select"]', "random")
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"
    page.close()


def send(page, text: str):
    """Type a message, press Enter, return the finished assistant bubble."""
    before = page.locator('[data-testid="assistant-message"][data-done="1"]').count()
    page.fill('[data-testid="input"]', text)
    page.press('[data-testid="input"]', "Enter")
    bubble = page.locator('[data-testid="assistant-message"][data-done="1"]').nth(before)
    bubble.wait_for()
    return bubble


def set_threshold_with_keyboard(page, key: str) -> str:
    page.focus('[data-testid="threshold"]')
    page.keyboard.press(key)
    return page.inner_text('[data-testid="model-name"]')


def screenshot_dir() -> Path:
    path = Path(os.environ.get("ROUTELLM_SCREENSHOT_DIR") or tempfile.gettempdir())
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_router_selector_filled_from_models(page):
    options = page.eval_on_selector_all('[data-testid="router-select"] option', "els => els.map(e => e.value)")
    assert sorted(options) == ["length", "random"]
    page.select_option('[data-testid="router-select"]', "random")
    assert re.fullmatch(r"router-random-(0|1|0\.\d+)", page.inner_text('[data-testid="model-name"]'))
    # each router starts at the threshold the server advertises for it
    page.select_option('[data-testid="router-select"]', "length")
    assert page.inner_text('[data-testid="model-name"]') == "router-length-0.3"
    reply = send(page, "which router scores this?")
    assert reply.locator('[data-field="router"]').inner_text() == "length"
    assert reply.locator('[data-field="threshold"]').inner_text() == "0.3"
    assert reply.get_attribute("data-route") == ("strong" if float(reply.get_attribute("data-score")) >= 0.3 else "weak")


def test_chat_shows_model_score_and_slider_flips_strong_weak(page):
    # threshold 1: random scores are < 1, so the weak model answers
    assert set_threshold_with_keyboard(page, "End") == "router-random-1"
    assert page.inner_text('[data-testid="threshold-value"]') == "1"
    weak = send(page, "hello from the browser")
    assert weak.locator('[data-field="content"]').inner_text() == "[weak-echo] hello from the browser"
    assert "weak-echo" in weak.locator('[data-field="model"]').inner_text()
    assert weak.locator('[data-field="route"]').inner_text().lower() == "weak"
    score = float(weak.locator('[data-field="score"]').inner_text())
    assert 0.0 <= score < 1.0
    assert weak.get_attribute("data-route") == "weak"
    assert weak.locator('[data-field="router"]').inner_text() == "random"

    # threshold 0: every score >= 0, so the strong model answers
    assert set_threshold_with_keyboard(page, "Home") == "router-random-0"
    strong = send(page, "and now the strong one")
    assert strong.locator('[data-field="content"]').inner_text() == "[strong-echo] and now the strong one"
    assert "strong-echo" in strong.locator('[data-field="model"]').inner_text()
    assert strong.locator('[data-field="route"]').inner_text().lower() == "strong"
    assert strong.get_attribute("data-route") == "strong"

    # the same prompt scores the same (deterministic router), whatever the threshold
    again = send(page, "hello from the browser")
    assert float(again.locator('[data-field="score"]').inner_text()) == pytest.approx(score, abs=1e-4)
    assert again.get_attribute("data-route") == "strong"

    # a middle threshold: the route follows score >= threshold
    page.eval_on_selector(
        '[data-testid="threshold"]', "(el) => { el.value = '0.5'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    assert page.inner_text('[data-testid="model-name"]') == "router-random-0.5"
    mid = send(page, "a third message")
    mid_score = float(mid.get_attribute("data-score"))
    assert mid.get_attribute("data-route") == ("strong" if mid_score >= 0.5 else "weak")

    bubbles = page.locator('[data-testid="user-message"]')
    assert bubbles.count() == 4
    page.screenshot(path=str(screenshot_dir() / "routellm-chat.png"), full_page=False)


def test_non_streaming_mode(page):
    page.uncheck('[data-testid="stream"]')
    set_threshold_with_keyboard(page, "Home")
    reply = send(page, "no streaming please")
    assert reply.locator('[data-field="content"]').inner_text() == "[strong-echo] no streaming please"
    assert reply.get_attribute("data-route") == "strong"


def test_server_error_is_shown(page):
    # pick a router the server does not enable: the 400 error message appears in the chat
    page.eval_on_selector(
        '[data-testid="router-select"]',
        """(el) => {
        const o = document.createElement('option'); o.value = o.textContent = 'nosuchrouter';
        el.appendChild(o); el.value = 'nosuchrouter'; el.dispatchEvent(new Event('change', {bubbles: true})); }""",
    )
    page.fill('[data-testid="input"]', "will fail")
    page.press('[data-testid="input"]', "Enter")
    error = page.locator('[data-testid="error-message"]')
    error.wait_for()
    assert "400" in error.inner_text()
    assert "nosuchrouter" in error.inner_text()
    assert page.locator('[data-testid="assistant-message"]').count() == 0


def test_api_key_box_unlocks_a_protected_server(browser):
    with EchoUpstream() as upstream:
        args = [
            "--routers",
            "random",
            "--strong-model",
            "openai/strong-echo",
            "--weak-model",
            "openai/weak-echo",
            "--base-url",
            upstream.base_url,
            "--api-key",
            "sk-echo",
            "--server-api-key",
            "secret-key",
        ]
        with serve(args, ready_timeout=60) as srv:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            try:
                page.goto(srv.url + "/")
                page.wait_for_selector("body[data-ready]")
                assert page.get_attribute("body", "data-ready") == "error"
                assert "cannot list routers" in page.inner_text('[data-testid="status"]')
                page.fill("#api-key", "secret-key")
                page.press("#api-key", "Enter")
                page.dispatch_event("#api-key", "change")
                page.wait_for_selector('body[data-ready="1"]')
                set_threshold_with_keyboard(page, "Home")
                reply = send(page, "authorised")
                assert reply.locator('[data-field="content"]').inner_text() == "[strong-echo] authorised"
            finally:
                page.close()
