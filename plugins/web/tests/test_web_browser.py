"""A real headless Chromium (Debian's ``chromium`` driven by playwright) against a live server.

``tests/run`` installs chromium when it is missing; ``playwright install`` is never used. A
missing chromium fails these tests (they are part of the contract); to leave them out on
purpose, set ``BUSSDCC_SKIP_BROWSER_TESTS=1``. Screenshots are saved to ``test-artifacts/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
TOKEN = "browser-test-token-42"

pytestmark = pytest.mark.browser  # ``browser`` is the repository conftest's Chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def test_dashboard_shows_live_events_and_keeps_the_token_out_of_the_address(
    page: Any, start_live: Any, types: Any
) -> None:
    live = start_live(token=TOKEN)
    live.runtime.state.set("app.version", "2.3.0")
    page.goto(f"{live.url}?token={TOKEN}")
    page.wait_for_selector("#conn[data-state='live']")
    assert "token" not in page.url  # stripped from the address bar and history
    assert page.evaluate("sessionStorage.getItem('bussdcc.token')") == TOKEN

    live.emit(types.Alarm(text="<b>boiler</b> pressure high"))
    row = page.locator("#events tbody tr.ev", has_text="<b>boiler</b> pressure high")
    row.first.wait_for()
    assert page.locator("#events b").count() == 0  # event data is text, never HTML
    assert "error" in row.first.inner_text().lower()

    expect(page.locator("#rate")).not_to_have_text("0")
    time.sleep(1.2)  # let the chart draw a few seconds
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-dashboard.png"))

    page.reload()  # the gate re-sends the stored token: a reload keeps working
    page.wait_for_selector("#conn[data-state='live']")
    assert "token" not in page.url


def test_dashboard_filters_pause_and_clear(page: Any, live: Any, types: Any) -> None:
    page.goto(live.url)
    page.wait_for_selector("#conn[data-state='live']")
    page.fill("#f-types", "Alarm")
    time.sleep(0.6)
    live.emit(types.Alarm(text="filtered in"))
    page.locator("#events tbody tr.ev", has_text="filtered in").wait_for()
    assert page.locator("#events tbody tr.ev", has_text="Ping").count() == 0
    page.click("#pause")
    live.emit(types.Alarm(text="while paused"))
    expect(page.locator("#stream-info")).to_contain_text("1 new")
    assert page.locator("#events tbody tr.ev", has_text="while paused").count() == 0
    page.click("#pause")
    page.locator("#events tbody tr.ev", has_text="while paused").wait_for()
    page.click("#clear")
    assert page.locator("#events tbody tr.ev").count() == 0


def test_stopping_a_service_from_the_page(page: Any, live: Any, wait_until: Any) -> None:
    page.goto(live.url)
    page.click("nav >> text=Services")
    page.wait_for_url("**/services")
    page.wait_for_selector("#conn[data-state='live']")  # the page's script runs: clicks act
    row = page.locator("tr[data-service='ticker']")
    assert row.locator("[data-field='status']").inner_text() == "running"
    row.locator("button[data-action='stop']").click()
    expect(row.locator("[data-field='status']")).to_have_text("stopped")
    assert not live.runtime.services.is_running("ticker")
    row.locator("button[data-action='start']").click()
    wait_until(lambda: live.runtime.services.is_running("ticker"))
    expect(row.locator("[data-field='status']")).to_have_text("running")


def test_send_form_validates_and_reaches_the_runtime(
    page: Any, live: Any, types: Any, wait_until: Any
) -> None:
    page.goto(live.url + "send")
    type_name = f"{types.SetPoint.__module__}:SetPoint"
    page.wait_for_selector(f"#msg-type option[value='{type_name}']", state="attached")
    page.select_option("#msg-type", type_name)
    page.fill("#f-celsius", "21.5")
    page.click("#send-btn")
    error = page.locator("[data-error-for='zone']")
    expect(error).to_have_text("required")  # shown next to its field
    page.fill("#f-zone", "kitchen")
    page.select_option("#f-mode", label="manual")
    page.check("#f-boost")
    page.click("#send-btn")
    page.wait_for_selector("#send-result.ok")
    message = live.sink.wait_for(types.SetPoint)
    assert message == types.SetPoint(zone="kitchen", celsius=21.5, mode=types.Mode.MANUAL, boost=True)


def test_state_and_plugins_pages(page: Any, live: Any) -> None:
    live.runtime.state.set("zones.kitchen.target", 20)
    page.goto(live.url + "state")
    page.locator(".tree .leaf[data-path='zones.kitchen.target']", has_text="20").wait_for()
    live.runtime.state.set("zones.kitchen.target", 23)
    page.locator(".tree .leaf[data-path='zones.kitchen.target']", has_text="23").wait_for()
    page.goto(live.url + "plugins")
    assert page.locator("table.plugins tbody tr").count() >= 1


OVERFLOW = """() => {
  const found = [];
  for (const box of document.querySelectorAll(".card, .table-wrap, table")) {
    if (box.scrollWidth > box.clientWidth + 1) {
      found.push((box.id || box.className || box.tagName) + ": " + box.scrollWidth + " > "
                 + box.clientWidth);
    }
  }
  for (const card of document.querySelectorAll(".card")) {
    const edge = card.getBoundingClientRect().right;
    for (const node of card.querySelectorAll("td, button, .chip, .badge")) {
      const r = node.getBoundingClientRect();
      if (r.width && r.right > edge + 1) {
        found.push(node.tagName + " '" + node.textContent.trim().slice(0, 30) + "' ends at "
                   + Math.round(r.right) + " past its card at " + Math.round(edge));
      }
    }
  }
  return found;
}"""


def test_phone_layout_has_no_horizontal_scroll(browser: Any, live: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    tab = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        for path in ("", "services", "plugins", "send", "state"):
            tab.goto(live.url + path)
            tab.wait_for_selector("#conn[data-state='live']", timeout=10_000)
            overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)
            # nothing is clipped or scrolled inside its card either (tables reflow)
            assert tab.evaluate(OVERFLOW) == [], path
            if path in ("services", "plugins"):
                tab.screenshot(path=str(ARTIFACTS / f"web-phone-{path}.png"), full_page=True)
        visible = tab.locator("button[data-action='stop']")
        tab.goto(live.url + "services")
        assert visible.first.is_visible()
    finally:
        context.close()


def test_plugins_table_rows_line_up_on_a_desktop(page: Any, live: Any) -> None:
    page.goto(live.url + "plugins")
    rows = page.locator("table.plugins tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):
        tops = rows.nth(i).evaluate(
            "tr => [...tr.children].map(td => Math.round(td.getBoundingClientRect().top))"
        )
        assert len(set(tops)) == 1, tops  # every cell of a row starts on the same line
        heights = rows.nth(i).evaluate(
            "tr => [...tr.children].map(td => Math.round(td.getBoundingClientRect().height))"
        )
        assert len(set(heights)) == 1, heights
