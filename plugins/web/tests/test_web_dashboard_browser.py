"""The dashboard a first-hour user sees, in a real headless Chromium against a live server.

The event list scrolls inside a fixed height and opens a detail panel with the whole record;
one time format on every page; chart axis labels that fit; a colour per type that survives a
reload; a banner and greyed-out numbers while the server is away, and recovery when it comes
back; a navigation menu and usable pages at 390 px; processes and interfaces on the Services
page; stat cards at their natural height. Chromium is Debian's (see test_web_browser.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bussdcc.process import Process
from bussdcc_framework_web import WebInterface
from playwright.sync_api import expect

from bussdcc_framework.runtime import Runtime

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")
ZONE = "Asia/Kolkata"  # UTC+05:30: local time visibly differs from the UTC in records

pytestmark = pytest.mark.browser  # ``browser`` is the repository conftest's Chromium


@dataclass
class Tab:
    page: Any
    errors: list[str]


@pytest.fixture
def open_tab(browser: Any) -> Iterator[Any]:
    """``open_tab(width=1366, height=900, **context_options)``: a page; no script error allowed."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    def open_(width: int = 1366, height: int = 900, **options: Any) -> Any:
        options.setdefault("timezone_id", ZONE)
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page, [])
        page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        tabs.append(tab)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert [e for tab in tabs for e in tab.errors] == []


def dashboard(open_tab: Any, url: str, **options: Any) -> Any:
    page = open_tab(**options)
    page.goto(url)
    page.wait_for_selector("#conn[data-state='live']")
    return page


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))


# -- the event list ---------------------------------------------------------------------------


def test_the_event_list_scrolls_inside_a_fixed_height(open_tab: Any, live: Any, types: Any) -> None:
    page = dashboard(open_tab, live.url)
    box = page.locator("#events-scroll")
    height = box.evaluate("b => b.clientHeight")
    document = page.evaluate("document.documentElement.scrollHeight")
    for n in range(150):
        live.emit(types.Ping(count=n, note="flood"))
    page.wait_for_function("() => document.querySelectorAll('#events tr.ev').length >= 150")
    assert box.evaluate("b => b.clientHeight") == height
    assert box.evaluate("b => b.scrollHeight > b.clientHeight + 100")  # it scrolls inside...
    assert abs(page.evaluate("document.documentElement.scrollHeight") - document) <= 2  # ...not the page
    # the header stays in view while the list scrolls
    box.evaluate("b => { b.scrollTop = 2000; }")
    head = page.locator("#events thead th").first.bounding_box()
    assert head is not None and abs(head["y"] - box.bounding_box()["y"]) < 3


def test_a_row_opens_the_whole_record_which_copies_as_json(open_tab: Any, live: Any, types: Any) -> None:
    page = dashboard(open_tab, live.url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url.rstrip("/"))
    page.fill("#f-types", "SetPoint,Alarm")
    time.sleep(0.6)
    point = types.SetPoint(zone="kitchen", celsius=21.5, tags={"floor": "1", "wing": "east"})
    live.emit(point)
    row = page.locator("#events tbody tr.ev", has_text="SetPoint")
    row.click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("SetPoint")
    record = json.loads(page.locator("#detail-json").inner_text())
    assert set(record) == {"time", "type", "data"}  # the record format, as recorded
    assert record["type"] == f"{types.SetPoint.__module__}:SetPoint"
    assert record["data"] == {
        "zone": "kitchen",
        "celsius": 21.5,
        "mode": "auto",
        "boost": False,
        "note": None,
        "tags": {"floor": "1", "wing": "east"},
    }
    expect(row).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#detail-cut")).to_be_hidden()

    page.click("#detail-copy")
    expect(page.locator("#detail-copied")).to_have_text("Copied to the clipboard.")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == record

    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    # a record whose long string the interface cut says so
    live.emit(types.Alarm(text="x" * 5000))
    page.locator("#events tbody tr.ev", has_text="Alarm").click()
    expect(page.locator("#detail-cut")).to_be_visible()
    page.click("#detail-close")
    expect(detail).to_be_hidden()


# -- one time format ----------------------------------------------------------------------------


def test_one_local_time_format_in_the_table_the_chart_the_state_and_the_cards(
    open_tab: Any, live: Any, types: Any
) -> None:
    live.runtime.state.set("zones.kitchen.changed", "2026-03-09T12:00:01.722504+00:00")
    page = dashboard(open_tab, live.url)
    live.emit(types.Alarm(text="what time is it"))
    row = page.locator("#events tbody tr.ev", has_text="what time is it")
    row.click()
    iso = json.loads(page.locator("#detail-json").inner_text())["time"]
    shown = row.locator(".ev-time").inner_text()
    assert TIME.match(shown), shown
    when = local(iso)
    assert shown == when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    expect(page.locator("#detail-time")).to_contain_text(when.strftime("%Y-%m-%d %H:%M:%S."))
    started = page.locator("#started").inner_text()
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", started), started

    page.wait_for_function("() => BusDashboard.axisLabels() && BusDashboard.axisLabels().x.length > 1")
    labels = [b["text"] for b in page.evaluate("BusDashboard.axisLabels()")["x"]]
    assert all(re.match(r"^\d\d:\d\d:\d\d$", text) for text in labels), labels

    page.goto(live.url + "state")
    stamp = page.locator(".tree .leaf[data-path='zones.kitchen.changed'] time")
    expect(stamp).to_have_text("2026-03-09 17:30:01.722")  # 12:00 UTC in Kolkata
    assert stamp.get_attribute("title") == "2026-03-09T12:00:01.722504+00:00"


# -- the chart ----------------------------------------------------------------------------------


def overlaps(boxes: list[dict[str, float]], a: str, b: str, gap: float) -> list[str]:
    ordered = sorted(boxes, key=lambda box: box[a])
    return [f"{one['text']} / {two['text']}" for one, two in pairwise(ordered) if one[b] + gap > two[a]]


@pytest.mark.parametrize("width", [1366, 760, 390])
def test_chart_axis_labels_stay_inside_and_never_overlap(
    open_tab: Any, live: Any, types: Any, width: int
) -> None:
    page = dashboard(open_tab, live.url, width=width, height=900)
    for n in range(2500):  # a busy second: wide labels on the y axis
        live.emit(types.Ping(count=n))
    page.wait_for_function(
        "() => { const a = BusDashboard.axisLabels();"
        " return a && a.y.some(b => b.text.length >= 4) && a.x.length >= 2; }",
        timeout=20_000,
    )
    labels = page.evaluate("BusDashboard.axisLabels()")
    chart = labels["chart"]
    outside = [
        b["text"]
        for b in labels["x"] + labels["y"]
        if b["left"] < chart["left"] - 0.5 or b["right"] > chart["right"] + 0.5
    ]
    assert outside == [], (outside, chart)
    assert overlaps(labels["x"], "left", "right", 4) == []
    assert overlaps(labels["y"], "top", "bottom", 0) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#chart").screenshot(path=str(ARTIFACTS / f"web-chart-{width}.png"))


def legend_colours(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            """() => [...document.querySelectorAll('#chart .u-legend .u-series')].slice(1).map(tr =>
                 [tr.querySelector('.u-label').textContent,
                  getComputedStyle(tr.querySelector('.u-marker')).borderColor])"""
        )
    )


def test_each_type_keeps_its_colour_across_reloads(open_tab: Any, live: Any, types: Any) -> None:
    for _ in range(5):  # among the busiest types, so it has a line of its own
        live.emit(types.Alarm(text="red?"))
    page = dashboard(open_tab, live.url)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#chart .u-legend .u-label')]"
        ".some(l => l.textContent === 'Alarm')",
        timeout=20_000,
    )
    before = legend_colours(page)
    dot = page.locator("#events tbody tr.ev", has_text="red?").first.locator(".type-dot")
    assert dot.evaluate("d => getComputedStyle(d).backgroundColor") == before["Alarm"]  # table = chart
    assert len(set(before.values())) == len(before)  # the types seen here all differ
    page.reload()
    page.wait_for_selector("#conn[data-state='live']")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#chart .u-legend .u-label')]"
        ".some(l => l.textContent === 'Alarm')"
    )
    after = legend_colours(page)
    assert {k: after[k] for k in before if k in after} == {k: before[k] for k in after if k in before}
    assert after["Alarm"] == before["Alarm"]
    # derived from the name alone: a new tab with other traffic first agrees
    other = dashboard(open_tab, live.url)
    colour = other.evaluate("bussdcc.typeColor('Alarm')")
    assert (
        other.evaluate(
            "c => { const d = document.createElement('b'); d.style.color = c;"
            " document.body.append(d); return getComputedStyle(d).color; }",
            colour,
        )
        == before["Alarm"]
    )


# -- the server goes away, then comes back -----------------------------------------------------


def test_the_page_says_when_the_server_is_gone_and_recovers_when_it_returns(
    open_tab: Any, start_live: Any, types: Any
) -> None:
    first = start_live()
    port = first.web.port
    page = dashboard(open_tab, first.url)
    first.emit(types.Alarm(text="before the outage"))
    page.locator("#events tbody tr.ev", has_text="before the outage").wait_for()

    first.runtime.shutdown()
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The server is not answering")
    expect(banner).to_contain_text("may be out of date")
    expect(page.locator("body")).to_have_attribute("data-conn", "offline")
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    # the stale numbers are greyed out (a 0.3 s transition: wait for it to get there)
    page.wait_for_function(
        "() => parseFloat(getComputedStyle(document.querySelector('.cards')).opacity) < 0.9"
    )
    uptime = page.locator("#uptime").inner_text()
    time.sleep(2.2)
    assert page.locator("#uptime").inner_text() == uptime  # a stale clock does not tick
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-offline.png"))

    second = start_live(port=port)  # the same address, a new server
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=30_000)
    expect(banner).to_have_count(0)
    page.wait_for_function(
        "() => parseFloat(getComputedStyle(document.querySelector('.cards')).opacity) === 1"
    )
    second.emit(types.Alarm(text="after the outage"))
    page.locator("#events tbody tr.ev", has_text="after the outage").wait_for()


# -- phones -------------------------------------------------------------------------------------


def test_at_390_px_the_navigation_is_a_menu_and_pages_fit(open_tab: Any, live: Any, types: Any) -> None:
    page = dashboard(open_tab, live.url, width=390, height=844, is_mobile=True, has_touch=True)
    links = page.locator("#nav a")
    toggle = page.locator("#nav-toggle")
    expect(toggle).to_be_visible()
    expect(links.first).to_be_hidden()  # collapsed: the bar is not a row of cut-off links
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, links.nth(i).inner_text()
        assert box["height"] >= 32  # big enough to tap
    page.screenshot(path=str(ARTIFACTS / "web-phone-menu.png"))
    page.locator("#nav a", has_text="State").click()
    page.wait_for_url("**/state")
    expect(page.locator("#nav a").first).to_be_hidden()  # a new page starts with the menu closed

    for path in ("", "state", "services", "plugins", "send"):
        page.goto(live.url + path)
        page.wait_for_selector("#conn[data-state='live']")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, path
        bar = page.locator(".topbar").bounding_box()
        assert bar is not None and bar["height"] < 80, (path, bar)  # brand, status and menu on one row

    # the event detail is usable on a phone: inside the screen, closable
    page.goto(live.url)
    live.emit(types.SetPoint(zone="x" * 300, celsius=1.0))
    page.locator("#events tbody tr.ev", has_text="SetPoint").click()
    panel = page.locator("#detail").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=str(ARTIFACTS / "web-phone-detail.png"))
    page.click("#detail-close")
    expect(page.locator("#detail")).to_be_hidden()


# -- the Services page ---------------------------------------------------------------------------


class Watcher(Process):
    name = "watcher"


class Bridge(Process):
    """An interface: what connects the runtime to the outside world."""

    name = "bridge"


def test_the_services_page_lists_processes_and_interfaces_with_their_state(
    open_tab: Any, wait_until: Any
) -> None:
    runtime = Runtime()
    runtime.add_process(Watcher())
    runtime.add_interface(Bridge())
    web = WebInterface(port=0)
    runtime.add_interface(web)
    runtime.boot()
    try:
        page = dashboard(open_tab, web.url + "services")
        watcher = page.locator("#processes tr[data-component='watcher']")
        expect(watcher.locator("[data-field='status']")).to_have_text("running")
        expect(watcher).to_contain_text(f"{Watcher.__module__}:Watcher")
        for name in ("bridge", "web"):
            row = page.locator(f"#interfaces tr[data-component='{name}']")
            expect(row.locator("[data-field='status']")).to_have_text("running")
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    finally:
        runtime.shutdown()


def test_stat_cards_keep_their_natural_height(open_tab: Any, live: Any) -> None:
    page = dashboard(open_tab, live.url)
    heights = page.evaluate(
        """() => [...document.querySelectorAll('.cards > .card')].map(c =>
             [c.getBoundingClientRect().height, [...c.children].reduce((h, e) => h + e.offsetHeight, 0)])"""
    )
    assert len(heights) == 4
    for height, content in heights:
        assert height < content + 60, heights  # padding and margins, not a stretched card
    tallest, shortest = max(h for h, _ in heights), min(h for h, _ in heights)
    assert tallest - shortest > 30, heights  # each as tall as it needs, not as the tallest
