"""Render the report in real headless Chromium: a screenshot, and the DOM after load.

The screenshot is kept under ``var/test-artifacts/report.png`` for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from resilience.reports import write_report
from resilience.reports.charts import fmt_int
from tests.conftest import missing
from tests.reports.report_data import XSS_MUNI, XSS_TITLE

pytestmark = pytest.mark.chromium

# RESILIENCE_TEST_CHROMIUM: another browser binary (or a wrong one, to see the run fail)
CHROMIUM = os.environ.get("RESILIENCE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        missing("chromium", f"no chromium at {CHROMIUM} (scripts/system-deps.sh installs the Debian package)")
    return CHROMIUM


def _run(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    profile.mkdir()
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_screenshot_is_a_real_page(chromium, filled, tmp_path):
    engine, written = filled
    report = write_report(engine, tmp_path / "out")
    png = tmp_path / "report.png"
    res = _run(chromium, tmp_path, f"--screenshot={png}", "--window-size=1280,4000",
               report.as_uri())
    assert png.exists(), res.stderr[-2000:]
    assert png.stat().st_size > 50_000
    width, height, raw = _png_pixels(png)
    assert (width, height) == (1280, 4000)
    assert len(set(raw[: len(raw) // 3])) > 50  # not a blank or single-colour page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "report.png")


def test_rendered_dom_holds_the_numbers_and_no_injected_script_ran(chromium, hostile, tmp_path):
    engine, written = hostile
    report = write_report(engine, tmp_path / "out")
    res = _run(chromium, tmp_path, "--dump-dom", "--virtual-time-budget=2000", report.as_uri())
    dom = res.stdout
    assert "</html>" in dom, res.stderr[-2000:]
    now = written["snapshots"][-1]
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert title.startswith("Network resilience report"), title  # no payload set document.title
    assert "pwned" not in title
    assert re.search(rf'id="sites-out"[^>]*>{fmt_int(now["sites_out"])}<', dom)
    assert re.search(rf'id="subscribers-out"[^>]*>{fmt_int(now["subscribers_out"])}<', dom)
    assert re.search(rf'id="served-ratio"[^>]*>{100 * now["served_ratio"]:.1f}%<', dom)
    # the payloads are text in the DOM, never elements
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # XSS_MUNI as text
    assert XSS_MUNI not in dom and XSS_TITLE not in dom
