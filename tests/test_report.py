"""eventbuilder report: one self-contained page, opened in real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pipelines.build import build

from .conftest import SAMPLE, run_cli

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    """Debian's chromium, installed here when missing (skip with the reason when it cannot be)."""
    path = shutil.which("chromium")
    if path is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        subprocess.run(install, capture_output=True, timeout=900, env=env)
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed and apt-get could not install it")
    return path


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert build([SAMPLE], out, extractor="rules").error is None
    target = out.parent / "report.html"
    done = run_cli("report", "--dataset", out, "--output", target)
    assert done.returncode == 0, done.stderr
    return target


def test_the_report_fetches_nothing(page_file):
    page = page_file.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page


def test_the_report_in_headless_chromium(page_file, tmp_path):
    exe = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=FLAGS)
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        count = int(page.inner_text("#event-count"))
        cards = page.locator("article.event")
        assert count == cards.count() > 20
        # An Arabic quote, highlighted, in an element laid out right to left.
        arabic = page.locator("mark").filter(has_text=re.compile("[\u0600-\u06ff]")).first
        assert arabic.count() == 1
        direction = arabic.evaluate("m => getComputedStyle(m.closest('p')).direction")
        assert direction == "rtl"
        assert page.locator("article.event:visible").count() == count
        # The map draws the shipped world outline: land spanning the globe, Libya's capital on land.
        box = page.evaluate(
            "() => { const b = document.querySelector('svg.map path.land').getBBox();"
            " return {width: b.width, height: b.height}; }"
        )
        assert box["width"] > 340 and box["height"] > 140, box
        on_land = page.evaluate(
            "() => { const p = document.querySelector('svg.map path.land');"
            " const at = (lon, lat) => p.isPointInFill(new DOMPoint(lon + 180, 90 - lat));"
            " return [at(13.2, 32.9), at(0, 0)]; }"  # Tripoli is on land; 0, 0 is in the sea
        )
        assert on_land == [True, False]
        page.select_option("#f-type", "resolution")
        page.click("#f-apply")
        visible = page.locator("article.event:visible")
        assert 0 < visible.count() < count
        assert set(visible.evaluate_all("es => es.map(e => e.dataset.type)")) == {"resolution"}
        assert page.inner_text("#shown") == str(visible.count())
        # A reviewer's click becomes a decision in the downloaded file.
        visible.first.locator("button.reject").click()
        with page.expect_download() as dl:
            page.click("#download")
        saved = tmp_path / "decisions.jsonl"
        dl.value.save_as(saved)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)  # kept with the test's files
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert '"decision":"reject"' in saved.read_text()
    assert all(u.startswith(("file:", "blob:", "data:")) for u in requests), requests
