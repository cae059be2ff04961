"""vigil's Great Expectations suites, custom expectations and the runner that applies them.

* :mod:`expectations.suites` -- one suite per dataset, in code (``synthetic_metrics``,
  ``synthetic_metric_labels``, ``learning_effectiveness``);
* :mod:`expectations.time_series` -- vigil's own expectations (daily seasonality, even
  spacing) and the metrics they measure;
* :mod:`expectations.runner` -- ``validate_frame`` runs a suite with the real GX engine,
  builds Data Docs into a given folder and returns vigil ``CheckResult``s.

Importing this package does not import Great Expectations (it costs seconds); only the
runner's functions do.
"""
