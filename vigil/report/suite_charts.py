"""The charts of the performance, workflow and readiness suites in the HTML report.

Each function shapes what the store kept of a suite into plotly.js figures; none
computes a figure the suites did not measure. The evidence is read by
:func:`vigil.report.evidence.load_evidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from vigil.load.statistics import decode_histogram

if TYPE_CHECKING:
    from vigil.report.evidence import ReportEvidence
    from vigil.report.html import Chart
    from vigil.report.model import SuiteReport

PERCENTILES = (0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)
"""Where the latency distribution is read off each step's HDR histogram."""
_OUTCOME_COLOURS = {
    "detected": "#1a7f37",
    "missed": "#cf222e",
    "event": "#8c959f",
    "true": "#1a7f37",
    "false": "#cf222e",
    "neutral": "#8c959f",
}


def _chart(title: str, data: list[dict[str, Any]], **layout: Any) -> Chart:
    from vigil.report.html import Chart

    return Chart(title=title, data=data, layout={"title": {"text": title}, **layout})


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# --- performance ------------------------------------------------------------------------------


def performance_charts(suite: SuiteReport, evidence: ReportEvidence) -> list[Chart]:
    """Latency and throughput over time, the latency distribution, the stress curve, resources."""
    steps = evidence.load
    if not steps:
        return []
    charts: list[Chart] = []
    traces: list[dict[str, Any]] = []
    for step in steps:
        start = step.started_at
        x = [_iso(start + timedelta(seconds=s["start_seconds"])) for s in step.series]
        for key, dash in (("p50_ms", "dot"), ("p95_ms", "solid")):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{step.step} {key[:-3]}",
                    "x": x,
                    "y": [s.get(key) for s in step.series],
                    "line": {"dash": dash, "width": 1.5},
                }
            )
        traces.append(
            {
                "type": "bar",
                "name": f"{step.step} req/s",
                "x": x,
                "y": [s.get("throughput_rps") for s in step.series],
                "yaxis": "y2",
                "opacity": 0.25,
            }
        )
    charts.append(
        _chart(
            "Latency percentiles (ms) and throughput over time, by load step",
            traces,
            yaxis={"title": {"text": "ms"}, "type": "log"},
            yaxis2={"title": {"text": "req/s"}, "overlaying": "y", "side": "right"},
            xaxis={"type": "date"},
            legend={"orientation": "h"},
        )
    )
    distribution = []
    for step in steps:
        encoded = step.histograms.get("overall")
        if not isinstance(encoded, str) or not encoded:
            continue
        histogram = decode_histogram(encoded)
        if not histogram.get_total_count():
            continue
        distribution.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{step.step} ({histogram.get_total_count()} requests)",
                "x": [f"p{p:g}" for p in PERCENTILES],
                "y": [histogram.get_value_at_percentile(p) / 1000.0 for p in PERCENTILES],
            }
        )
    if distribution:
        charts.append(
            _chart(
                "Latency distribution by step (ms, from the HDR histograms)",
                distribution,
                yaxis={"title": {"text": "ms"}, "type": "log"},
                xaxis={"type": "category"},
            )
        )
    stress = [s for s in steps if s.phase in ("load", "stress")]
    if len(stress) > 1:
        p95 = [(s.summary.get("overall") or {}).get("p95_ms") for s in stress]
        charts.append(
            _chart(
                "Stress curve: p95 (ms) and whether each step met its SLO",
                [
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": "p95 ms",
                        "x": [s.users for s in stress],
                        "y": p95,
                        "marker": {
                            "size": 10,
                            "color": ["#1a7f37" if s.within_slo else "#cf222e" for s in stress],
                        },
                    }
                ],
                xaxis={"title": {"text": "users"}},
                yaxis={"title": {"text": "ms"}},
            )
        )
    samples = [r for step in steps for r in step.resources]
    if samples:
        x = [r.get("at") for r in samples]
        target = [r.get("target") or {} for r in samples]
        vigil_own = [r.get("vigil") or {} for r in samples]
        charts.append(
            _chart(
                "Resources during the load (CPU %, 100 = one core; RSS MB)",
                [
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": "target CPU %",
                        "x": x,
                        "y": [t.get("cpu_percent") for t in target],
                    },
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": "vigil CPU %",
                        "x": x,
                        "y": [v.get("cpu_percent") for v in vigil_own],
                    },
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": "target RSS MB",
                        "x": x,
                        "y": [(t.get("rss_bytes") or 0) / 2**20 for t in target],
                        "yaxis": "y2",
                    },
                ],
                yaxis={"title": {"text": "CPU %"}},
                yaxis2={"title": {"text": "MB"}, "overlaying": "y", "side": "right"},
                xaxis={"type": "date"},
                legend={"orientation": "h"},
            )
        )
    return charts


# --- workflow ---------------------------------------------------------------------------------


def workflow_charts(suite: SuiteReport, evidence: ReportEvidence) -> list[Chart]:
    """The learning curve with its drift points, the fault timeline, detected vs true windows."""
    charts: list[Chart] = []
    if evidence.learning:
        days = [d.day for d in evidence.learning]
        shapes = [
            {
                "type": "line",
                "x0": day,
                "x1": day,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dash", "color": "#9a6700"},
            }
            for day in evidence.drift_days
        ]
        charts.append(
            _chart(
                "Learning curve: vigil's daily prequential accuracy (dashed: known drifts)",
                [
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": "accuracy",
                        "x": days,
                        "y": [d.accuracy for d in evidence.learning],
                    },
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": "log loss",
                        "x": days,
                        "y": [d.log_loss for d in evidence.learning],
                        "yaxis": "y2",
                    },
                ],
                shapes=shapes,
                xaxis={"title": {"text": "simulated day"}},
                yaxis={"title": {"text": "accuracy"}, "range": [0, 1]},
                yaxis2={"title": {"text": "log loss"}, "overlaying": "y", "side": "right"},
            )
        )
    if evidence.incidents:
        charts.append(_fault_timeline(evidence))
    if evidence.pattern_windows:
        charts.append(_pattern_windows(evidence))
    return charts


def _fault_timeline(evidence: ReportEvidence) -> Chart:
    traces: list[dict[str, Any]] = []
    for incident in evidence.incidents:
        label = f"{incident.fault} ({incident.expected_kind})"
        end = incident.recovered_at or incident.injected_at
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": [_iso(incident.injected_at), _iso(end)],
                "y": [label, label],
                "line": {"width": 10, "color": "#cf222e" if incident.recovered_at else "#8c959f"},
                "showlegend": False,
            }
        )
        for moment, name, symbol in (
            (incident.injected_at, "injected", "x"),
            (incident.detected_at, "detected", "diamond"),
            (incident.recovered_at, "recovered", "circle"),
        ):
            if moment is not None:
                traces.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "name": name,
                        "legendgroup": name,
                        "showlegend": incident is evidence.incidents[0],
                        "x": [_iso(moment)],
                        "y": [label],
                        "marker": {"symbol": symbol, "size": 12},
                    }
                )
    return _chart(
        "Fault timeline: injected, detected (the target's incident or the first failed probe), "
        "recovered",
        traces,
        xaxis={"type": "date"},
        yaxis={"type": "category", "automargin": True},
        height=140 + 40 * len(evidence.incidents),
    )


def _pattern_windows(evidence: ReportEvidence) -> Chart:
    traces: list[dict[str, Any]] = []
    shown: set[str] = set()
    for window in evidence.pattern_windows:
        row = f"{window.metric} · {window.side}"
        legend = f"{window.side}: {window.outcome}"
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": legend,
                "legendgroup": legend,
                "showlegend": legend not in shown,
                "x": [_iso(window.start), _iso(window.end)],
                "y": [row, row],
                "line": {"width": 8, "color": _OUTCOME_COLOURS.get(window.outcome, "#57606a")},
                "hovertext": window.kind,
            }
        )
        shown.add(legend)
    rows = {f"{w.metric} · {w.side}" for w in evidence.pattern_windows}
    return _chart(
        "Pattern analysis: true windows (truth) against what the target reported (report)",
        traces,
        xaxis={"type": "date"},
        yaxis={"type": "category", "automargin": True, "categoryorder": "category descending"},
        height=160 + 22 * len(rows),
    )


# --- readiness --------------------------------------------------------------------------------


def readiness_charts(suite: SuiteReport, evidence: ReportEvidence) -> list[Chart]:
    """The probe stream second by second, with each drill's span marked."""
    if not evidence.probe_series:
        return []
    x = [_iso(p.second) for p in evidence.probe_series]
    shapes, notes = _drill_spans(evidence)
    return [
        _chart(
            "Readiness: probes answered (green) and failed (red) per second, drills shaded",
            [
                {
                    "type": "bar",
                    "name": "good",
                    "x": x,
                    "y": [p.good for p in evidence.probe_series],
                    "marker": {"color": "#1a7f37"},
                },
                {
                    "type": "bar",
                    "name": "failed",
                    "x": x,
                    "y": [p.sent - p.good for p in evidence.probe_series],
                    "marker": {"color": "#cf222e"},
                },
            ],
            barmode="stack",
            shapes=shapes,
            annotations=notes,
            xaxis={"type": "date"},
            yaxis={"title": {"text": "probes"}},
        )
    ]


def _drill_spans(evidence: ReportEvidence) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes, notes = [], []
    for index, drill in enumerate(evidence.drills):
        colour = "#cf222e" if drill.status not in ("passed", "not_applicable") else "#0969da"
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(drill.started_at),
                "x1": _iso(drill.finished_at),
                "y0": 0,
                "y1": 1,
                "fillcolor": colour,
                "opacity": 0.08,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        notes.append(
            {
                "x": _iso(drill.started_at),
                "y": 1.02 + 0.06 * (index % 3),
                "xref": "x",
                "yref": "paper",
                "text": drill.drill,
                "showarrow": False,
                "xanchor": "left",
                "font": {"size": 10},
            }
        )
    return shapes, notes


def drift_days(config: dict[str, Any]) -> Sequence[float]:
    """The simulated days of the learning stream's drifts, from the run's recorded config."""
    from vigil.synth.config import LearningStreamConfig

    learning = ((config.get("suites") or {}).get("data") or {}).get("learning")
    if not isinstance(learning, dict):
        return []
    try:
        stream = LearningStreamConfig.model_validate(learning)
    except ValueError:
        return []
    return [drift.day for drift in stream.resolved_drifts()]
