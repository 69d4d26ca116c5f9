"""The built documentation site loads nothing from another host, and its code is highlighted.

What counts as loading: anything a browser fetches by itself when the page opens. In HTML that
is ``src``, ``srcset``, ``poster`` and ``data`` attributes, every ``<link href>``, and
``url()`` / ``@import`` in ``<style>`` blocks and ``style`` attributes; in the built CSS files,
``url()`` and ``@import``. Plain links in the content (``<a href="https://...">``) are allowed:
they load nothing until the reader follows them. A real Chromium then opens a page from disk
with every network request refused, and the code is highlighted all the same.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".mkdocs.yml"
EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.I)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""", re.I)
LOADING_ATTRIBUTES = {"src", "srcset", "poster", "data"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


class Loads(HTMLParser):
    """Collects every URL an HTML page would fetch by itself."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in LOADING_ATTRIBUTES:
                if name == "srcset":
                    self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
                else:
                    self.urls.append(value)
            elif name == "href" and tag == "link":
                self.urls.append(value)
            elif name == "style":
                self.urls += css_urls(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_urls(data)


def css_urls(text: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(text)]


def test_no_page_or_stylesheet_loads_anything_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 15
    offending: list[str] = []
    for page in pages:
        parser = Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        offending += [f"{page.relative_to(site)}: {url}" for url in parser.urls if EXTERNAL.match(url)]
    for sheet in sorted(site.rglob("*.css")):
        urls = css_urls(sheet.read_text(encoding="utf-8", errors="replace"))
        offending += [f"{sheet.relative_to(site)}: {url}" for url in urls if EXTERNAL.match(url)]
    assert offending == []


def test_the_checker_sees_what_the_theme_would_load_from_a_cdn() -> None:
    """The check above is not vacuous: the theme's own highlight.js tags are caught."""
    parser = Loads()
    parser.feed(
        '<link rel="stylesheet" href="https://cdnjs.cloudflare.com/x.css">'
        '<script src="//cdn.example/x.js"></script><img srcset="a.png 1x, https://e.x/b.png 2x">'
        '<style>@import "https://fonts.example/f.css"; p { background: url(/local.png) }</style>'
        '<a href="https://www.mkdocs.org/">MkDocs</a>'
    )
    external = [url for url in parser.urls if EXTERNAL.match(url)]
    assert external == [
        "https://cdnjs.cloudflare.com/x.css",
        "//cdn.example/x.js",
        "https://e.x/b.png",
        "https://fonts.example/f.css",
    ]


def test_code_is_highlighted_at_build_time(site: Path) -> None:
    page = (site / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "highlight.js" not in page and "hljs" not in page
    assert '<div class="codehilite">' in page
    assert re.search(r'<span class="kn">import</span>', page)  # Python keywords, by Pygments
    assert "css/pygments.css" in page
    css = (site / "css" / "pygments.css").read_text(encoding="utf-8")
    assert ".codehilite .kn" in css


@pytest.mark.browser
def test_a_page_opened_offline_is_highlighted_and_asks_no_other_host(site: Path, browser: Any) -> None:
    from playwright.sync_api import Route

    refused: list[str] = []

    def refuse_the_network(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page = browser.new_page()
    try:
        page.route("**/*", refuse_the_network)
        page.goto((site / "getting-started" / "index.html").as_uri())
        colours = page.evaluate(
            """() => {
              const kw = document.querySelector('.codehilite .kn');
              const plain = kw.closest('code');
              return [getComputedStyle(kw).color, getComputedStyle(plain).color];
            }"""
        )
    finally:
        page.close()
    assert refused == []
    keyword, text = colours
    assert keyword != text, colours  # the keyword is coloured by the generated stylesheet
