"""Pattern analysis of metric series: anomalies, seasonality, trends, recommendations.

A pure library: no I/O, no global state. The reference service exposes it as
``POST /patterns/analyze``::

    from reference.patterns import PatternRequest, PatternResponse, analyze

    response = analyze(PatternRequest.model_validate(body))
"""

from reference.patterns.analysis import analyze
from reference.patterns.models import PatternRequest, PatternResponse

__all__ = ["PatternRequest", "PatternResponse", "analyze"]
