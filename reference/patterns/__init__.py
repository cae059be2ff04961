"""Pattern analysis of metric series: anomalies, seasonality, trends, recommendations.

A pure library: no I/O, no global state. The reference service exposes it as
``POST /patterns/analyze``::

    from reference.patterns import PatternRequest, PatternResponse, analyze

    response = analyze(PatternRequest.model_validate(body))
"""

from __future__ import annotations

from typing import Any

from reference.patterns.models import PatternRequest, PatternResponse

__all__ = ["PatternRequest", "PatternResponse", "analyze"]


def __getattr__(name: str) -> Any:
    # The analysis pulls in statsmodels, scipy and ruptures (seconds of import): load it on
    # first use, so that a service importing the models starts fast.
    if name == "analyze":
        from reference.patterns.analysis import analyze

        return analyze
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
