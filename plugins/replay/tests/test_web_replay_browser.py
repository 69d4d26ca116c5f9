"""The replay in the browser: a real headless Chromium against a real server replaying a file.

The replay bar (REPLAY, the recording's start and end, the time now, the speed), the scrubber
seeking and the page showing the state at that time, pause stopping the events, step showing
exactly one more, clicking an error mark, controls that act on the outside world disabled, a
page opened mid-replay showing what a page open from the start shows, the Plot page following
a seek. Chromium is Debian's (see plugins/web/tests/test_web_browser.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bussdcc.context import ContextProtocol
from bussdcc.service import Service
from replay_helpers import at
from web_replay_helpers import (
    FAULT_AT,
    RECORDED_HOST,
    SECONDS,
    WebReplay,
    greenhouse_log,
    readings_before,
    wait_until,
)

pytest.importorskip("bussdcc_framework_web")
pytest.importorskip("playwright")

pytestmark = pytest.mark.browser  # ``browser`` is the repository conftest's Chromium


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(url)``: a page at ``url``, connected; no script error allowed."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(url: str) -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_selector("#conn[data-state='live']")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == []


class Idle(Service):
    """A service that does nothing: the Services page lists it with start/stop buttons."""

    name = "idle"
    interval = 3600.0

    def tick(self, ctx: ContextProtocol) -> None:
        pass


def rows(page: Any) -> int:
    return int(page.locator("#events tr.ev").count())


def replay_status(page: Any) -> dict[str, Any]:
    return page.evaluate("() => window.BusReplay.status()") or {}


def wait_status(page: Any, predicate: str) -> None:
    """Wait until ``predicate`` (JS, over ``s``: the replay status the page has) holds."""
    page.wait_for_function(
        f"() => {{ const s = window.BusReplay.status(); return Boolean(s && ({predicate})); }}"
    )


def state_value(page: Any, path: str) -> str:
    leaf = page.locator(f'.leaf[data-path="{path}"] .val')
    return str(leaf.text_content())


def test_the_replay_bar_and_the_controls_that_would_act(tmp_path: Path, open_page: Any) -> None:
    with WebReplay(greenhouse_log(tmp_path), services=(Idle(),)) as replay:
        page = open_page(replay.url)
        bar = page.locator("#replay-bar")
        assert "REPLAY" in str(bar.text_content())
        assert page.locator("#conn .conn-text").text_content() == "replay"
        assert page.locator("#replay-start").text_content() == "2026-03-09 12:00:00.000"
        # the end grows while the recording is surveyed in the background: wait for the survey
        page.wait_for_function(
            "() => document.getElementById('replay-end').textContent === '2026-03-09 12:02:00.000'"
        )
        assert page.locator("#replay-state").text_content() == "paused"
        page.select_option("#replay-speed", "10")
        wait_status(page, "s.speed === 10")
        assert replay.ctl.speed == 10
        # the recorded machine, once its identity was replayed
        page.click("#replay-step")
        page.wait_for_function(
            f"() => document.getElementById('ov-hostname').textContent === {RECORDED_HOST!r}"
        )
        # this machine's software in the footer, the recorded versions in the card
        assert "0.29.0" not in str(page.locator("footer").text_content())
        assert "0.29.0" in str(page.locator("#versions").text_content())

        send = open_page(replay.url + "send")
        assert send.locator("#send-btn").is_disabled()
        assert "replays a recording" in str(send.locator("#send-replay").text_content())
        answer = send.evaluate(
            """async () => {
                 const json = {type: 'SoilMoisture', data: {sensor: 'x', percent: 1}};
                 try { await bussdcc.api('/api/emit', {method: 'POST', json: json}); return null; }
                 catch (err) { return [err.status, err.body.error]; }
               }"""
        )
        assert answer == [409, "replaying"]

        services = open_page(replay.url + "services")
        for action in ("start", "stop"):
            button = services.locator(f'tr[data-service="idle"] button[data-action="{action}"]')
            assert button.is_disabled()
            assert "replay" in str(button.get_attribute("title"))
        assert "replays a recording" in str(services.locator("#svc-replay").text_content())


def test_pause_stops_the_events_and_step_shows_exactly_one_more(tmp_path: Path, open_page: Any) -> None:
    with WebReplay(greenhouse_log(tmp_path), speed=4, paused=False) as replay:
        page = open_page(replay.url)
        page.wait_for_function("() => document.querySelectorAll('#events tr.ev').length >= 12")
        page.click("#replay-play")  # Pause
        wait_status(page, "s.paused")
        assert page.locator("#replay-play").text_content() == "Play"
        time.sleep(0.5)  # what was emitted before the pause has arrived
        shown = rows(page)
        time.sleep(2.0)  # at 4x, sixteen readings would have come
        assert rows(page) == shown
        page.click("#replay-step")
        page.wait_for_function(f"() => document.querySelectorAll('#events tr.ev').length === {shown + 1}")
        time.sleep(1.0)
        assert rows(page) == shown + 1
        page.click("#replay-step")
        page.wait_for_function(f"() => document.querySelectorAll('#events tr.ev').length === {shown + 2}")
        time.sleep(1.0)
        assert rows(page) == shown + 2
        page.click("#replay-play")  # Play again
        page.wait_for_function(f"() => document.querySelectorAll('#events tr.ev').length > {shown + 4}")


def test_the_scrubber_seeks_and_the_page_shows_the_state_at_that_time(tmp_path: Path, open_page: Any) -> None:
    with WebReplay(greenhouse_log(tmp_path)) as replay:
        page = open_page(replay.url + "state")
        page.wait_for_function("() => window.BusReplay && window.BusReplay.status()")
        page.wait_for_selector("#replay-scrub:not([disabled])")  # once the end is known
        box = page.locator("#replay-scrub").bounding_box()
        assert box is not None
        for fraction in (0.7, 0.25):
            before = replay.ctl.status()["epoch"]
            page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
            wait_until(lambda b=before: replay.ctl.status()["epoch"] > b, what="the seek")  # type: ignore[misc]
            assert replay.ctl.wait(30)
            position = datetime.fromisoformat(replay.ctl.status()["position"])
            expected = readings_before(position)
            assert at(SECONDS * fraction - 15) < position < at(SECONDS * fraction + 15)
            page.wait_for_function(
                f"""() => {{ const v = document.querySelector('.leaf[data-path="greenhouse.readings"] .val');
                           return v && v.textContent === '{expected}'; }}"""
            )
            wait_status(page, f"s.position === {position.isoformat()!r}")
            shown = page.locator("#replay-position").text_content()
            assert (
                shown
                == position.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.")
                + f"{position.microsecond // 1000:03d}"
            )


def test_clicking_the_error_mark_seeks_there(tmp_path: Path, open_page: Any) -> None:
    with WebReplay(greenhouse_log(tmp_path)) as replay:
        page = open_page(replay.url)
        mark = page.locator(".replay-mark.sev-error")
        mark.wait_for()
        assert mark.count() == 1 and "PumpFault" in str(mark.get_attribute("title"))
        mark.click()
        wait_status(page, "!s.seeking && s.epoch > 0")
        position = datetime.fromisoformat(replay_status(page)["position"])
        assert at(FAULT_AT) < position < at(FAULT_AT + 0.01)
        # the newest event on the list is the fault itself
        try:
            page.wait_for_function(
                "() => { const r = document.querySelector('#events tr.ev');"
                " return r && r.dataset.type === 'PumpFault'; }"
            )
        except Exception:  # say what the list shows instead
            newest = page.evaluate(
                "() => [...document.querySelectorAll('#events tr.ev')].slice(0, 5).map((r) => r.textContent)"
            )
            raise AssertionError(f"the newest events shown: {newest}; status {replay_status(page)}") from None
        assert replay.get("/api/state?path=greenhouse.fault")["value"] == 3


def dashboard_view(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => ({
                rows: [...document.querySelectorAll('#events tr.ev')].slice(0, 100).map((r) => r.textContent),
                host: document.getElementById('ov-hostname').textContent,
                versions: document.getElementById('versions').textContent,
                total: document.getElementById('total').textContent,
                series: window.BusDashboard.seriesNames(),
                chart: window.BusDashboard.chartData(),
                position: document.getElementById('replay-position').textContent,
            })"""
        )
    )


def test_a_page_opened_mid_replay_shows_what_a_page_open_from_the_start_shows(
    tmp_path: Path, open_page: Any
) -> None:
    with WebReplay(greenhouse_log(tmp_path), speed=20, paused=False) as replay:
        early = open_page(replay.url)
        wait_until(lambda: replay.ctl.status()["events"] > 150, what="a good part of the replay")
        replay.post("/api/replay/pause")
        replay.post("/api/replay/seek", {"to": at(47.3).isoformat()})  # back: a rebuild
        wait_status(early, f"s.position === {at(47.3).isoformat()!r}")
        late = open_page(replay.url)
        wait_status(late, f"s.position === {at(47.3).isoformat()!r}")

        seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

        def same() -> bool:
            a, b = dashboard_view(early), dashboard_view(late)
            seen[:] = [(a, b)]
            return a == b and len(a["rows"]) > 90

        try:
            wait_until(same, what="both pages to show the same")
        except AssertionError:  # say where they differ (a flake under load, see docs/testing.md)
            a, b = seen[0]
            differ = {
                k: (a[k] if k != "rows" else a[k][:5], b[k] if k != "rows" else b[k][:5])
                for k in a
                if a[k] != b[k]
            }
            raise AssertionError(f"the pages differ in {differ}") from None
        view = dashboard_view(late)
        assert view["host"] == RECORDED_HOST
        assert "SoilMoisture" in view["series"]
        newest = late.locator("#events tr.ev").first
        assert newest.get_attribute("data-type") == "SoilMoisture"
        assert str(newest.locator("td").first.text_content()) == "12:00:47.000"


def test_the_chart_runs_on_the_recorded_clock_when_the_status_comes_before_the_script(
    tmp_path: Path, browser: Any
) -> None:
    # A slow download of dashboard.js lets replay.js's first status arrive before the dashboard
    # listens; a paused replay sends no more, so the chart stayed on this browser's clock.
    with WebReplay(greenhouse_log(tmp_path)) as replay:
        replay.post("/api/replay/seek", {"to": at(30).isoformat()})
        context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC")
        context.set_default_timeout(20_000)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            def late_script(route: Any) -> None:
                # dashboard.js as it arrives after replay.js has its status: the real script,
                # loaded by a stand-in once that status is there
                route.fulfill(
                    content_type="text/javascript",
                    body="(function wait() {"
                    " if (!(window.BusReplay && window.BusReplay.status())) { setTimeout(wait, 20); return; }"
                    " const s = document.createElement('script');"
                    f" s.src = {route.request.url + '?late=1'!r}; document.body.append(s); }})();",
                )

            page.route(lambda url: url.endswith("/js/dashboard.js"), late_script)
            page.goto(replay.url)
            page.wait_for_function(
                "() => window.BusDashboard && window.BusDashboard.chartData()[0].length > 0"
            )
            xs = page.evaluate("() => window.BusDashboard.chartData()[0]")
            assert abs(xs[-1] - at(30).timestamp()) < 5, (xs[-1], at(30).timestamp())
            assert errors == []
        finally:
            context.close()


def test_the_plot_page_draws_a_field_and_follows_seeks(tmp_path: Path, open_page: Any) -> None:
    with WebReplay(greenhouse_log(tmp_path)) as replay:
        replay.post("/api/replay/seek", {"to": at(30).isoformat()})
        page = open_page(replay.url + "plot")
        page.wait_for_selector(
            "#plot-type option[value='greenhouse.messages:SoilMoisture']", state="attached"
        )
        page.select_option("#plot-type", "greenhouse.messages:SoilMoisture")
        page.wait_for_function(f"() => window.BusPlot.points() === {readings_before(at(30))}")
        assert page.evaluate("() => window.BusPlot.fields()") == ["percent"]
        assert page.locator("#plot-chart canvas").count() >= 1
        assert "type=greenhouse.messages%3ASoilMoisture" in page.url and "fields=percent" in page.url
        # a seek back: the plot shows the values up to there
        replay.post("/api/replay/seek", {"to": at(10).isoformat()})
        page.wait_for_function(f"() => window.BusPlot.points() === {readings_before(at(10))}")
        # steps arrive live
        replay.post("/api/replay/step", {"until": "SoilMoisture"})
        page.wait_for_function(f"() => window.BusPlot.points() === {readings_before(at(10)) + 1}")
        xs, ys = page.evaluate("() => window.BusPlot.data()")
        assert xs[-1] == at(10).timestamp() and ys[0][-1] == 39.5
