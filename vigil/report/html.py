"""The human report: one self-contained HTML file with charts, readable offline."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path

from vigil.report.model import RunReport

_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#8250df",
    "incomplete": "#9a6700",
    "not_evaluated": "#9a6700",
    "not_applicable": "#57606a",
    "running": "#57606a",
}

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2328;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} .badge{color:#fff;border-radius:1rem;padding:.1rem .7rem;font-weight:600}
.meta{color:#57606a} code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f8fa;padding:1rem;overflow:auto}
"""


def _badge(status: str | None) -> str:
    label = status or "unknown"
    colour = _COLOURS.get(label, "#57606a")
    return f'<span class="badge" style="background:{colour}">{escape(label)}</span>'


def _clock(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%H:%M:%S.%f}"[:-3]


def _criteria_chart(report: RunReport) -> str:
    """Measured value as a share of its threshold, one bar per evaluated criterion."""
    import plotly.graph_objects as go

    judged = [c for c in report.criteria if c.measured is not None and c.threshold]
    if not judged:
        return "<p class='meta'>No criterion was measured, so there is nothing to chart.</p>"
    figure = go.Figure(
        go.Bar(
            x=[c.measured / c.threshold for c in judged],
            y=[c.name for c in judged],
            orientation="h",
            marker_color=[_COLOURS.get(c.status, "#57606a") for c in judged],
            text=[f"{c.measured:.4g} {c.unit} ({c.operator} {c.threshold:g})" for c in judged],
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    figure.add_vline(x=1.0, line_dash="dash", annotation_text="threshold")
    figure.update_layout(
        title="Measured value as a share of its threshold (1 = exactly at the threshold)",
        height=max(240, 140 + 50 * len(judged)),
        margin={"l": 220},
        bargap=0.35,
    )
    return figure.to_html(full_html=False, include_plotlyjs=True)


def _durations_chart(report: RunReport) -> str:
    import plotly.graph_objects as go

    figure = go.Figure()
    for suite in report.suites.values():
        figure.add_trace(
            go.Bar(
                name=suite.suite,
                x=[c.name for c in suite.checks],
                y=[(c.finished_at - c.started_at).total_seconds() for c in suite.checks],
            )
        )
    figure.update_layout(title="Check durations (s)", height=360)
    return figure.to_html(full_html=False, include_plotlyjs=False)


def render_html(report: RunReport) -> str:
    """The report as one HTML document with plotly.js inlined."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>vigil {escape(report.run_id)}: {escape(report.verdict or report.status)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>vigil run {escape(report.run_id)} {_badge(report.verdict or report.status)}</h1>",
        f"<p class='meta'>profile <b>{escape(report.profile)}</b> · target "
        f"<b>{escape(report.target)}</b> · seed {report.seed} · started "
        f"{report.started_at:%Y-%m-%d %H:%M:%S} UTC · status {escape(report.status)}</p>",
    ]
    if report.error:
        parts.append(f"<p><b>Error:</b> {escape(report.error)}</p>")
    parts.append(
        "<h2>Success criteria</h2><table><tr><th>criterion</th><th>status</th>"
        "<th>measured</th><th>threshold</th><th>suite</th><th>why</th></tr>"
    )
    for c in report.criteria:
        measured = "—" if c.measured is None else f"{c.measured:.6g} {escape(c.unit)}"
        parts.append(
            f"<tr><td><b>{escape(c.name)}</b><br><span class='meta'>{escape(c.description)}</span>"
            f"</td><td>{_badge(c.status)}</td><td>{measured}</td>"
            f"<td>{escape(c.operator)} {c.threshold:g} {escape(c.unit)}</td>"
            f"<td>{escape(c.suite)}</td><td>{escape(c.message)}</td></tr>"
        )
    parts.append("</table>")
    parts.append(_criteria_chart(report))
    for suite in report.suites.values():
        rate = "n/a" if suite.pass_rate is None else f"{suite.pass_rate:.1%}"
        parts.append(
            f"<h2>Suite {escape(suite.suite)} {_badge(suite.status.value)}</h2>"
            f"<p class='meta'>pass rate {rate} · {len(suite.checks)} checks</p>"
            "<table><tr><th>check</th><th>status</th><th>message</th><th>measured</th></tr>"
        )
        for check in suite.checks:
            measured = ", ".join(f"{k}={v:g}" for k, v in check.measured.items())
            parts.append(
                f"<tr><td>{escape(check.name)}</td><td>{_badge(check.status.value)}</td>"
                f"<td>{escape(check.message)}</td><td><code>{escape(measured)}</code></td></tr>"
            )
        parts.append("</table>")
    if report.suites:
        parts.append(_durations_chart(report))
    if report.incidents:
        parts.append(
            "<h2>Injected faults</h2><table><tr><th>fault</th><th>expected</th>"
            "<th>reported</th><th>injected</th><th>recovered</th></tr>"
        )
        for i in report.incidents:
            parts.append(
                f"<tr><td>{escape(i.fault)}</td><td>{escape(i.expected_kind)}</td>"
                f"<td>{escape(i.reported_kind or '—')}</td><td>{_clock(i.injected_at)}</td>"
                f"<td>{_clock(i.recovered_at)}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<h2>Configuration</h2><details><summary>merged configuration of this run</summary>"
        f"<pre>{escape(json.dumps(report.config, indent=2))}</pre></details></body></html>"
    )
    return "\n".join(parts)


def write_html(report: RunReport, path: Path) -> Path:
    """Write ``report.html``."""
    path.write_text(render_html(report), encoding="utf-8")
    return path
