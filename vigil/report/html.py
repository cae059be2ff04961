"""The human report: one self-contained HTML file, readable offline, loading no URL.

Order of the page: the verdict and an executive summary (what passed, what did not and
why, the key figures), the criteria table, the criteria's trends over earlier runs, then one
section per suite -- its charts, and its checks collapsed in ``<details>``, grouped by
their name's prefix so that fifty expectations are a handful of short tables.

Charts are plain plotly.js figure specifications (``{"data": [...], "layout": {...}}``)
drawn by ONE inlined copy of plotly.js at the end of the page. A suite adds its own charts
through one function in :data:`SUITE_CHARTS`: ``(suite, evidence) -> list[Chart]``.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from vigil.criteria import CriterionStatus
from vigil.report.evidence import ReportEvidence
from vigil.report.model import RunReport, SuiteReport
from vigil.report.suite_charts import performance_charts, readiness_charts, workflow_charts
from vigil.results import CheckResult, Status

_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#8250df",
    "incomplete": "#9a6700",
    "not_evaluated": "#9a6700",
    "not_applicable": "#57606a",
    "running": "#57606a",
}
_WINDOW_COLOURS = {
    "deploy": "#0969da",
    "config_change": "#54aeff",
    "traffic_surge": "#bf8700",
    "holiday": "#8c959f",
    "gradual_degradation": "#cf222e",
    "spike": "#fa4549",
    "intermittent": "#e16f24",
    "level_shift": "#8250df",
    "bad_deploy": "#a40e26",
}

_STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;color:#1f2328;
padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0} h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
h3{margin:1rem 0 .3rem;font-size:1rem}
.verdict{border-radius:8px;padding:1rem 1.2rem;color:#fff;margin-bottom:1rem}
.verdict p{margin:.3rem 0 0}
table{border-collapse:collapse;width:100%;margin:.5rem 0;table-layout:fixed}
th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere;word-break:break-word}
th{background:#f6f8fa}
.badge{color:#fff;border-radius:1rem;padding:.05rem .6rem;font-weight:600;white-space:nowrap}
.meta{color:#57606a} code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f8fa;padding:1rem;overflow:auto;max-height:30rem}
details{margin:.4rem 0} summary{cursor:pointer;font-weight:600}
.figures{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}
.figure{border:1px solid #d0d7de;border-radius:6px;padding:.4rem .7rem;min-width:10rem}
.figure b{display:block;font-size:1.2rem}
.chart{width:100%;min-height:260px}
ul.why li{margin:.2rem 0}
"""


@dataclass(frozen=True)
class Chart:
    """One plotly.js figure: traces and layout as plain JSON-able data."""

    title: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]


SuiteCharts = Callable[[SuiteReport, ReportEvidence], list[Chart]]


@cache
def plotly_bundle() -> str:
    """plotly.js as the plotly package ships it, gzipped and base64-encoded, once per process.

    The page inflates it with the browser's own ``DecompressionStream``: the report stays
    one file that opens offline and loads no URL, at 2 MB instead of plotly.js's 4.8 MB.
    """
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    # mtime=0: the same bundle gives byte-identical reports.
    return base64.b64encode(gzip.compress(path.read_bytes(), 9, mtime=0)).decode("ascii")


_LOADER = """
(async()=>{const z=document.getElementById('vigil-plotly').textContent.trim();
const b=Uint8Array.from(atob(z),c=>c.charCodeAt(0));
const src=await new Response(new Blob([b]).stream().pipeThrough(
new DecompressionStream('gzip'))).text();
const s=document.createElement('script');s.textContent=src;document.head.appendChild(s);
const charts=JSON.parse(document.getElementById('vigil-charts').textContent);
for(const [i,c] of charts.entries()){const l=Object.assign({autosize:true},c.layout);
if(l.title)l.title=Object.assign({x:0.01,xanchor:'left'},l.title);
await Plotly.newPlot('chart-'+i,c.data,l,{responsive:true,displaylogo:false});}
document.body.dataset.chartsDrawn=String(charts.length);})().catch(e=>{
document.body.dataset.chartsError=String(e);console.error('vigil charts: '+e);});
"""


def _badge(status: str | None) -> str:
    label = status or "unknown"
    colour = _COLOURS.get(label, "#57606a")
    return f'<span class="badge" style="background:{colour}">{escape(label)}</span>'


def _clock(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%H:%M:%S.%f}"[:-3]


def _seconds(suite: SuiteReport) -> float:
    return max((suite.finished_at - suite.started_at).total_seconds(), 0.0)


# --- charts each suite adds ----------------------------------------------------------------


def _data_charts(suite: SuiteReport, evidence: ReportEvidence) -> list[Chart]:
    """The 90 days of synthetic metrics, one panel each, with their labelled windows shaded."""
    data = evidence.data
    if data is None:
        return []
    metrics = list(data.series)
    n = len(metrics)
    gap = 0.02
    height = (1 - gap * (n - 1)) / n
    traces, shapes, layout = [], [], {}
    for index, metric in enumerate(metrics):
        axis = "" if index == 0 else str(index + 1)
        top = 1 - index * (height + gap)
        layout[f"yaxis{axis}"] = {
            "domain": [top - height, top],
            "title": {"text": metric, "font": {"size": 10}},
            "automargin": True,
        }
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": metric,
                "x": data.timestamps,
                "y": data.series[metric],
                "xaxis": "x",
                "yaxis": f"y{axis}",
                "line": {"width": 1, "color": "#24292f"},
                "showlegend": False,
            }
        )
        for window in data.windows:
            if window.metric != metric:
                continue
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": f"y{axis} domain",
                    "x0": window.start,
                    "x1": window.end,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": _WINDOW_COLOURS.get(window.kind, "#8c959f"),
                    "opacity": 0.25,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
    # A legend entry per window kind present (shapes have none of their own).
    for kind in sorted({w.kind for w in data.windows if w.metric in data.series}):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [None],
                "y": [None],
                "name": kind,
                "marker": {"symbol": "square", "size": 12, "color": _WINDOW_COLOURS.get(kind)},
            }
        )
    layout.update(
        {
            "height": 130 * n + 120,
            "shapes": shapes,
            "xaxis": {"anchor": f"y{n if n > 1 else ''}", "type": "date"},
            "legend": {"orientation": "h", "y": -0.04, "yanchor": "top"},
            "margin": {"l": 60, "r": 20, "t": 40, "b": 90},
        }
    )
    title = (
        f"Synthetic metrics: {data.samples} samples (drawn: {len(data.timestamps)}), "
        f"{len(data.windows)} labelled windows shaded"
    )
    return [Chart(title=title, data=traces, layout={"title": {"text": title}, **layout})]


SUITE_CHARTS: dict[str, SuiteCharts] = {
    "data": _data_charts,
    "performance": performance_charts,
    "workflow": workflow_charts,
    "readiness": readiness_charts,
}
"""Per suite name, the function that draws its charts. Add one function per suite."""


def _durations_chart(suite: SuiteReport) -> Chart | None:
    """Every suite gets this one: how long its checks took, longest first."""
    timed = sorted(
        ((c.name, (c.finished_at - c.started_at).total_seconds()) for c in suite.checks),
        key=lambda item: -item[1],
    )[:25]
    if not timed or all(seconds <= 0 for _, seconds in timed):
        return None
    if len(timed) > 1 and len({round(seconds, 3) for _, seconds in timed}) == 1:
        # Checks validated together (one GX run) share one span: bars of equal length say
        # nothing the suite's own duration does not.
        return None
    return Chart(
        title=f"Slowest checks of {suite.suite} (s)",
        data=[
            {
                "type": "bar",
                "orientation": "h",
                "x": [seconds for _, seconds in timed][::-1],
                "y": [name for name, _ in timed][::-1],
                "marker": {"color": "#0969da"},
            }
        ],
        layout={
            "title": {"text": f"Slowest checks of {suite.suite} (s)"},
            "height": 120 + 22 * len(timed),
            "margin": {"l": 300, "r": 20, "t": 40, "b": 30},
            "yaxis": {"automargin": True, "tickfont": {"size": 10}},
        },
    )


def _trend_charts(report: RunReport, evidence: ReportEvidence) -> list[Chart]:
    """Each criterion's measured value across earlier runs, its threshold dashed."""
    charts = []
    for outcome in report.criteria:
        points = evidence.trends.get(outcome.name, [])
        if not points:
            continue
        x = [p.started_at.isoformat() for p in points]
        charts.append(
            Chart(
                title=f"{outcome.name} over the last {len(points)} runs",
                data=[
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": outcome.name,
                        "x": x,
                        "y": [p.measured for p in points],
                        "text": [p.run_id for p in points],
                        "marker": {"color": [_COLOURS.get(p.status, "#57606a") for p in points]},
                        "line": {"color": "#57606a"},
                    },
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": f"threshold ({outcome.operator} {outcome.threshold:g})",
                        "x": [x[0], x[-1]] if len(x) > 1 else x * 2,
                        "y": [outcome.threshold, outcome.threshold],
                        "line": {"dash": "dash", "color": "#cf222e"},
                    },
                ],
                layout={
                    "title": {"text": f"{outcome.name} ({outcome.unit or 'value'}) per run"},
                    "height": 260,
                    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
                    "showlegend": False,
                    "xaxis": {"type": "date"},
                },
            )
        )
    return charts


# --- the page ----------------------------------------------------------------------------


class _Page:
    """Collects HTML parts and the charts they place, then emits one document."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.charts: list[Chart] = []

    def add(self, html: str) -> None:
        self.parts.append(html)

    def chart(self, chart: Chart) -> None:
        self.parts.append(
            f"<div class='chart' id='chart-{len(self.charts)}' "
            f"aria-label='{escape(chart.title)}'></div>"
        )
        self.charts.append(chart)

    def document(self, title: str) -> str:
        specs = json.dumps(
            [{"data": c.data, "layout": c.layout} for c in self.charts], allow_nan=False
        ).replace("</", "<\\/")
        head = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        )
        scripts = ""
        if self.charts:
            scripts = (
                f"<script type='application/json' id='vigil-charts'>{specs}</script>"
                f"<script type='text/plain' id='vigil-plotly'>{plotly_bundle()}</script>"
                f"<script>{_LOADER}</script>"
            )
        return head + "\n".join(self.parts) + scripts + "</body></html>"


def _summary(report: RunReport) -> str:
    """The executive summary: what passed, what did not and why, the key figures."""
    verdict = report.verdict.value if report.verdict else report.status.value
    colour = _COLOURS.get(verdict, "#57606a")
    criteria = report.criteria
    passed = [c for c in criteria if c.status is CriterionStatus.PASSED]
    missed = [c for c in criteria if c.status is not CriterionStatus.PASSED]
    headline = {
        "passed": "Every success criterion passed.",
        "failed": "At least one success criterion failed.",
        "incomplete": "Some criteria could not be evaluated, so the run cannot pass.",
        "error": "An infrastructure error stopped the run before it could be judged.",
    }.get(verdict, f"The run is {verdict}.")
    html = [
        f"<div class='verdict' style='background:{colour}'>"
        f"<h1>vigil run {escape(report.run_id)}: {escape(verdict.upper())}</h1>"
        f"<p>{escape(headline)} {len(passed)} of {len(criteria)} criteria passed.</p></div>",
        f"<p class='meta'>profile <b>{escape(report.profile)}</b> · target "
        f"<b>{escape(report.target)}</b> · seed {report.seed} · started "
        f"{report.started_at:%Y-%m-%d %H:%M:%S} UTC · status {escape(report.status.value)}</p>",
        "<h2>Summary</h2>",
    ]
    why = []
    if report.error:
        why.append(f"<li><b>Infrastructure error:</b> {escape(report.error)}</li>")
    for c in missed:
        why.append(
            f"<li>{_badge(c.status.value)} <b>{escape(c.name)}</b> "
            f"({escape(c.suite)}.{escape(c.measure)} {escape(c.operator)} {c.threshold:g}): "
            f"{escape(c.message)}</li>"
        )
    for suite in report.suites.values():
        bad = [ch for ch in suite.checks if ch.status in (Status.FAILED, Status.ERROR)]
        if bad:
            names = ", ".join(escape(ch.name) for ch in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            why.append(
                f"<li>suite <b>{escape(suite.suite)}</b>: {len(bad)} of {len(suite.checks)} "
                f"checks did not pass ({names}{more})</li>"
            )
    if why:
        html.append("<p><b>What did not pass, and why</b></p><ul class='why'>")
        html.extend(why)
        html.append("</ul>")
    if passed:
        html.append("<p><b>Passed:</b> " + ", ".join(escape(c.name) for c in passed) + "</p>")
    figures = []
    for c in criteria:
        value = "—" if c.measured is None else f"{c.measured:.4g} {escape(c.unit)}"
        figures.append(
            f"<div class='figure' style='border-left:4px solid "
            f"{_COLOURS.get(c.status.value)}'><span class='meta'>{escape(c.name)}</span>"
            f"<b>{value}</b><span class='meta'>needs {escape(c.operator)} {c.threshold:g}"
            "</span></div>"
        )
    for suite in report.suites.values():
        rate = "n/a" if suite.pass_rate is None else f"{suite.pass_rate:.0%}"
        figures.append(
            f"<div class='figure' style='border-left:4px solid "
            f"{_COLOURS.get(suite.status.value)}'><span class='meta'>suite "
            f"{escape(suite.suite)}</span><b>{rate}</b><span class='meta'>"
            f"{len(suite.checks)} checks in {_seconds(suite):.1f} s</span></div>"
        )
    if figures:
        html.append("<div class='figures'>" + "".join(figures) + "</div>")
    return "\n".join(html)


def _criteria_table(report: RunReport) -> str:
    rows = [
        "<h2>Success criteria</h2><table><colgroup><col style='width:22%'>"
        "<col style='width:14%'><col style='width:11%'><col style='width:12%'>"
        "<col style='width:10%'><col></colgroup><tr><th>criterion</th><th>status</th>"
        "<th>measured</th><th>threshold</th><th>suite</th><th>why</th></tr>"
    ]
    if not report.criteria:
        rows.append("<tr><td colspan='6'>No success criterion was configured.</td></tr>")
    for c in report.criteria:
        measured = "—" if c.measured is None else f"{c.measured:.6g} {escape(c.unit)}"
        rows.append(
            f"<tr><td><b>{escape(c.name)}</b><br><span class='meta'>{escape(c.description)}"
            f"</span></td><td>{_badge(c.status.value)}</td><td>{measured}</td>"
            f"<td>{escape(c.operator)} {c.threshold:g} {escape(c.unit)}</td>"
            f"<td>{escape(c.suite)}</td><td>{escape(c.message)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _group(checks: list[CheckResult]) -> dict[str, list[CheckResult]]:
    """Checks grouped by their name's first ``:``-separated part (a GX suite, say)."""
    groups: dict[str, list[CheckResult]] = {}
    for check in checks:
        head, sep, _ = check.name.partition(":")
        groups.setdefault(head if sep else "checks", []).append(check)
    return groups


_ORDER = {Status.ERROR: 0, Status.FAILED: 1, Status.PASSED: 2, Status.NOT_APPLICABLE: 3}


def _checks_table(checks: list[CheckResult], prefix: str) -> str:
    rows = [
        "<table><colgroup><col style='width:32%'><col style='width:14%'><col>"
        "<col style='width:18%'></colgroup><tr><th>check</th><th>status</th><th>message</th>"
        "<th>measured</th></tr>"
    ]
    for check in sorted(checks, key=lambda c: _ORDER.get(c.status, 9)):
        name = check.name.removeprefix(prefix)
        measured = ", ".join(f"{k}={v:g}" for k, v in check.measured.items())
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{_badge(check.status.value)}</td>"
            f"<td>{escape(check.message)}</td><td><code>{escape(measured)}</code></td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _suite_section(page: _Page, suite: SuiteReport, evidence: ReportEvidence) -> None:
    rate = "n/a" if suite.pass_rate is None else f"{suite.pass_rate:.1%}"
    counts: dict[str, int] = {}
    for check in suite.checks:
        counts[check.status.value] = counts.get(check.status.value, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no checks"
    page.add(
        f"<h2>Suite {escape(suite.suite)} {_badge(suite.status.value)}</h2>"
        f"<p class='meta'>pass rate {rate} · {tally} · {_seconds(suite):.1f} s</p>"
    )
    if suite.measurements:
        page.add(
            "<p>"
            + " · ".join(
                f"{escape(m.name)} <b>{m.value:.6g}</b> {escape(m.unit)}"
                for m in suite.measurements
            )
            + "</p>"
        )
    renderer = SUITE_CHARTS.get(suite.suite)
    for chart in renderer(suite, evidence) if renderer else []:
        page.chart(chart)
    durations = _durations_chart(suite)
    if durations is not None:
        page.chart(durations)
    groups = _group(suite.checks)
    for name, checks in groups.items():
        bad = sum(c.status in (Status.FAILED, Status.ERROR) for c in checks)
        state = f"{bad} not passed" if bad else "all passed or not applicable"
        prefix = f"{name}:" if name != "checks" else ""
        # A group holding a failure opens by itself: that is what a reader came for.
        opened = " open" if bad else ""
        page.add(
            f"<details{opened}><summary>{escape(name)}: {len(checks)} checks ({state})"
            f"</summary>{_checks_table(checks, prefix)}</details>"
        )


def render_html(report: RunReport, evidence: ReportEvidence | None = None) -> str:
    """The report as one HTML document, with one inlined copy of plotly.js.

    Args:
        report: The run's report.
        evidence: What the charts draw beyond the report (saved data, earlier runs).
    """
    evidence = evidence or ReportEvidence()
    page = _Page()
    page.add(_summary(report))
    page.add(_criteria_table(report))
    trends = _trend_charts(report, evidence)
    if trends:
        page.add("<h2>Trends across runs</h2>")
        for chart in trends:
            page.chart(chart)
    for suite in report.suites.values():
        _suite_section(page, suite, evidence)
    if report.incidents:
        page.add(
            "<h2>Injected faults</h2><table><tr><th>fault</th><th>expected</th>"
            "<th>reported</th><th>injected</th><th>recovered</th></tr>"
        )
        for i in report.incidents:
            page.add(
                f"<tr><td>{escape(i.fault)}</td><td>{escape(i.expected_kind)}</td>"
                f"<td>{escape(i.reported_kind or '—')}</td><td>{_clock(i.injected_at)}</td>"
                f"<td>{_clock(i.recovered_at)}</td></tr>"
            )
        page.add("</table>")
    page.add(
        "<h2>Configuration</h2><details><summary>merged configuration of this run</summary>"
        f"<pre>{escape(json.dumps(report.config, indent=2))}</pre></details>"
    )
    verdict = report.verdict.value if report.verdict else report.status.value
    return page.document(f"vigil {report.run_id}: {verdict}")


def write_html(report: RunReport, path: Path, evidence: ReportEvidence | None = None) -> Path:
    """Write ``report.html``."""
    path.write_text(render_html(report, evidence), encoding="utf-8")
    return path
