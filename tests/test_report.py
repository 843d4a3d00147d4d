"""The Snakemake report of a smoke run: built offline, self-contained, and rendered by a
real browser (headless Chromium) that lists every figure.

The browser test skips only where no Chromium binary exists; CI installs one
(``.ci/install-browser.sh``) and sets ``TWINNETS_REQUIRE_BROWSER=1`` so that a missing
browser fails instead. ``TWINNETS_ARTEFACTS=<dir>`` keeps a screenshot of the report.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from test_workflow import snakemake

#: category -> the report items it must list (the figures' SVGs, the answer's pages)
EXPECTED = {
    "0. The answer": ["answer.html", "summary.html", "summary.csv"],
    "1. The question": ["1-question.svg"],
    "2. Receptive fields": ["2-receptive-fields.svg"],
    "3. Distance matrices": ["3-distance-matrices.svg"],
    "4. Over training": ["4-over-training.svg"],
    "5. Barriers": ["5-barriers.svg"],
    "6. Similarity vs distance": ["6-similarity-vs-distance.svg"],
    "7. Convex control": ["7-convex-control.svg"],
    "8. Accuracy grid": ["8-accuracy-grid.svg"],
}
FIGURES = [name for names in EXPECTED.values() for name in names if name.endswith(".svg")]

#: Chromium with no network, no first-run work, no background traffic, no GPU.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--proxy-server=127.0.0.1:9",  # any request would go nowhere
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def run(smoke_run, tmp_path_factory) -> Path:
    """The smoke workflow run to its default target (conftest.py's session-wide run, with
    every figure), copied, then ``snakemake --report`` as HTML and as a zip."""
    workdir = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(smoke_run, workdir, symlinks=True)
    snakemake(workdir, "--report", "results/report.html")
    snakemake(workdir, "--report", "results/report.zip")
    return workdir


def test_the_default_target_draws_every_figure(run):
    figures = run / "results" / "figures"
    for name in FIGURES:
        svg, png = figures / name, (figures / name).with_suffix(".png")
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:2000]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (run / "logs" / "figures" / svg.with_suffix(".log").name).exists()
        assert (run / "benchmarks" / "figures" / svg.with_suffix(".tsv").name).exists()
    pages = run / "results" / "report"
    assert "<table>" in (pages / "answer.html").read_text()
    assert "relative distance, raw" in (pages / "summary.html").read_text()


def test_the_report_is_self_contained(run):
    report = (run / "results" / "report.html").read_text()
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r"""<(script|img|link|iframe)\b[^>]*(src|href)=["']?(https?:)?//""",
                         report, re.I)  # fmt: skip
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", report, re.I)
    for name in [*FIGURES, "answer.html", "summary.html", "summary.csv"]:
        assert name in report
    assert "image/svg+xml;" in report  # the figures are embedded as data
    with zipfile.ZipFile(run / "results" / "report.zip") as archive:
        names = archive.namelist()
    assert any(n.endswith("report.html") for n in names)
    for name in FIGURES:
        assert any(n.endswith(name) for n in names), name


PROBE = """
<script>
(async () => {
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const out = { landing: "", categories: {}, shown: null, error: null };
  try {
    await wait(500);
    out.landing = document.querySelector("#app").innerText;
    for (const name of %(categories)s) {
      app.setView({ navbarMode: "menu" });  // back to the menu, as a reader would
      await wait(200);
      app.showCategory(name);
      await wait(300);
      out.categories[name] = document.querySelector("#app").innerText;
    }
    // open the first figure: click the eye button beside it, as a reader would
    app.setView({ navbarMode: "menu" });
    await wait(200);
    app.showCategory("1. The question");
    await wait(300);
    const item = [...document.querySelectorAll("#app *")].find(
      (el) => el.children.length === 0 && el.textContent.trim().endsWith("1-question.svg"));
    item.closest("tr").querySelector("a[href='#']").click();
    await wait(1000);
    out.shown = [...document.querySelectorAll("#app img")]
      .filter((img) => img.src.startsWith("data:image/svg+xml"))
      .map((img) => [img.naturalWidth, img.naturalHeight]);
  } catch (e) {
    out.error = String(e);
  }
  const pre = document.createElement("pre");
  pre.id = "twinnets-probe";
  pre.style.display = "none";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def probed(report: Path, dest: Path) -> Path:
    """A copy of the report that walks its categories, opens the first figure, and writes
    what it saw into the page (hidden)."""
    script = PROBE % {"categories": json.dumps(list(EXPECTED))}
    text = report.read_text()
    end = text.rindex("</body>")
    dest.write_text(text[:end] + script + text[end:])
    return dest


def chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def browser() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("TWINNETS_REQUIRE_BROWSER"):
            pytest.fail("TWINNETS_REQUIRE_BROWSER is set but no Chromium binary was found")
        pytest.skip("no Chromium binary (Debian: apt-get install chromium; .ci/install-browser.sh)")
    return found


def test_the_report_renders_in_a_browser_and_lists_every_figure(run, browser, tmp_path):
    page = probed(run / "results" / "report.html", tmp_path / "probe.html")
    result = chromium(
        browser,
        tmp_path / "profile",
        "--virtual-time-budget=20000",
        "--dump-dom",
        page.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r'<pre id="twinnets-probe"[^>]*>(.*?)</pre>', result.stdout, re.S)
    assert match, "the report's scripts did not run:\n" + result.stdout[-2000:]
    seen = json.loads(html.unescape(match[1]))
    assert seen["error"] is None, seen["error"]
    assert "How to read this report" in seen["landing"]  # the rendered workflow text
    for category, names in EXPECTED.items():
        assert category in seen["landing"]  # the menu lists the category
        for name in names:  # and opening it lists its items
            assert name in seen["categories"][category], (category, name)
    # the first figure, displayed from its embedded SVG (beside the small logo)
    width, height = max(seen["shown"])
    assert width > 500 and height > 300


def test_a_screenshot_of_the_first_figure(run, browser, tmp_path):
    page = probed(run / "results" / "report.html", tmp_path / "show.html")
    shot = tmp_path / "report.png"
    result = chromium(
        browser,
        tmp_path / "profile",
        "--virtual-time-budget=20000",
        "--window-size=1400,1000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-3000:]
    with Image.open(shot) as image:
        assert image.size == (1400, 1000)
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, "the screenshot is blank"
    if artefacts := os.environ.get("TWINNETS_ARTEFACTS"):
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artefacts) / "report-screenshot.png")
