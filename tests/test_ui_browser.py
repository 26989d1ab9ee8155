"""The chat in a real browser (Debian's chromium via Playwright): streaming, citation clicks, escaping.

Shares the session's `rag chat` server (tests/servers.py) with the other chat tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LLM_TIMEOUT_MS = 420_000  # the local model on two shared cores
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Records the life of the newest answer bubble: preview -> streaming -> final.
WATCH_STATES = """
() => {
  window.__states = [];
  const log = document.querySelector('#chat-log');
  const record = () => {
    const bots = log.querySelectorAll('.msg.bot');
    const last = bots[bots.length - 1];
    if (!last) return;
    const state = ['preview', 'streaming', 'final', 'error'].find(s => last.classList.contains(s));
    if (state && window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  };
  new MutationObserver(record).observe(log, {childList: true, subtree: true, attributes: true});
}
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing; install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(ui_server.url)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def _ask(page, question: str, timeout: int = 60_000):
    page.evaluate(WATCH_STATES)
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#chat-log .msg.bot.final, #chat-log .msg.bot.error", timeout=timeout)
    return page.locator("#chat-log .msg.bot").last


def _choose_backend(page, name: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):  # the accordion renders its content lazily; on a busy machine a click can get lost
        page.click("#settings > button.label-wrap")
        try:
            page.wait_for_selector("#backend input", state="visible", timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    page.click("#backend input")
    page.get_by_role("option", name=name, exact=True).click()
    assert page.input_value("#backend input") == name


def test_streamed_answer_with_a_clickable_citation_and_highlighted_evidence(page):
    _choose_backend(page, "local")
    answer = _ask(page, "Welches Land soll Russland heimlich Artilleriemunition geliefert haben?", LLM_TIMEOUT_MS)
    states = page.evaluate("window.__states")
    assert states[0] == "preview" and "streaming" in states and states[-1] == "final", states
    assert "Nordkorea" in answer.inner_text()
    links = answer.locator("a.cite")
    assert links.count() >= 1, answer.inner_html()

    link = links.first
    n = link.get_attribute("data-n")
    link.click()
    page.wait_for_selector(f'#evidence .evidence[data-n="{n}"] mark')
    evidence = page.locator("#evidence .evidence")
    assert evidence.locator(".ev-title").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", evidence.locator(".ev-doc").inner_text().strip())
    assert evidence.locator(".ev-date").inner_text().strip()
    marked = evidence.locator("mark").first.inner_text().strip()
    assert marked and marked in evidence.locator(".ev-passage").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat_llm.png"))


def test_hostile_document_is_shown_as_text_and_new_chat_clears(page, tmp_path):
    hostile = (
        "Wernigerode <script>window.__xss=1</script> Giraffenlauf\n\n"
        'Beim Giraffenlauf in Wernigerode <img src=x onerror="window.__xss=1"> liefen 312 Giraffenfans mit. '
        "Die Strecke führte ${window.__xss=1} zweimal um das Rathaus.\n"
    )
    path = tmp_path / "giraffen_xss.txt"
    path.write_text(hostile, encoding="utf-8")

    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#upload-file input[type=file]", str(path))
    page.click("#upload")
    page.wait_for_selector("#library-status .note.ok", timeout=180_000)
    preview = page.locator("#doc-preview")
    preview.get_by_text("liefen 312 Giraffenfans").wait_for()
    assert "<script>window.__xss=1</script>" in preview.inner_text()
    assert '<img src=x onerror="window.__xss=1">' in preview.inner_text()
    assert "${window.__xss=1}" in preview.inner_text()  # not evaluated by the HTML component's template

    page.get_by_role("tab", name="Chat").click()
    answer = _ask(page, "Wie viele Giraffenfans liefen beim Giraffenlauf in Wernigerode mit?")
    answer.locator("a.cite").first.click()
    page.wait_for_selector("#evidence mark")
    evidence = page.locator("#evidence").inner_text()
    assert "giraffen_xss" in evidence
    assert '<img src=x onerror="window.__xss=1">' in evidence
    assert "<script>window.__xss=1</script>" in evidence
    page.wait_for_timeout(500)  # give a broken image's onerror a chance to fire
    assert page.evaluate("window.__xss") is None
    assert page.locator("#chat-log img, #evidence img, #doc-preview img, #evidence script").count() == 0

    page.click("#new-chat")
    page.wait_for_selector("#chat-log .chat-log.empty")
    assert "Click a citation" in page.locator("#evidence").inner_text()

    page.get_by_role("tab", name="Documents").click()
    page.click("#doc-select input")
    page.get_by_role("option", name=re.compile("^giraffen_xss")).click()
    page.click("#delete")
    page.wait_for_selector("#library-status .note.ok >> text=Deleted giraffen_xss")
    assert "giraffen_xss" not in page.locator("#docs-table").inner_text()
    assert page.evaluate("window.__xss") is None
