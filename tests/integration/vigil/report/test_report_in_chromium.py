"""report.html opened in headless Chromium, network off: every chart draws, nothing complains.

Chromium is Debian's ``chromium`` package. Its network is cut two ways (every host name
resolves to nothing, and every request goes to a proxy on a closed port), so a chart that
needed a URL would not draw; the console must stay silent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.vigil.report.conftest import Recorded
from tests.services import require_service
from vigil.report import write_reports

pytestmark = pytest.mark.integration

CHROMIUM_TIMEOUT_S = 180


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    require_service("chromium", "Debian's `chromium` package is not installed")
    raise AssertionError("unreachable")


def open_in_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Load `page` headless with no network; return the run (DOM on stdout, log on stderr)."""
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            # Virtual time runs the page's async work (inflating plotly.js, drawing) to the end
            # before the DOM is dumped, however slow the machine is.
            "--virtual-time-budget=60000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_S,
        check=False,
    )


def test_every_chart_draws_offline_with_no_console_message(
    recorded: Recorded, tmp_path: Path
) -> None:
    write_reports(recorded.store, recorded.run_id, recorded.report_dir)
    page = recorded.report_dir / "report.html"
    html = page.read_text(encoding="utf-8")
    expected = len(
        json.loads(re.search(r"id='vigil-charts'>(.*?)</script>", html, re.DOTALL).group(1))
    )
    assert expected >= 4  # trends, the integration durations, the data suite's metrics

    done = open_in_chromium(page, tmp_path / "profile", "--dump-dom")

    assert done.returncode == 0, done.stderr[-3000:]
    dom = done.stdout
    assert f'data-charts-drawn="{expected}"' in dom, (
        re.findall(r'data-charts-error="[^"]*"', dom),
        done.stderr[-3000:],
    )
    assert dom.count('class="plot-container plotly"') == expected
    assert dom.count('class="main-svg"') >= expected
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_a_broken_chart_is_reported_not_hidden(recorded: Recorded, tmp_path: Path) -> None:
    # The page must say when its charts fail, or the test above could not fail.
    write_reports(recorded.store, recorded.run_id, recorded.report_dir)
    page = recorded.report_dir / "report.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("id='vigil-plotly'>", "id='vigil-plotly'>AAAA"), "utf-8")

    done = open_in_chromium(page, tmp_path / "profile", "--dump-dom")

    assert "data-charts-error=" in done.stdout
    assert "data-charts-drawn" not in done.stdout
    assert any("vigil charts:" in line for line in done.stderr.splitlines() if ":CONSOLE" in line)
