"""The readiness suite's core: settings, drill evidence and pure judgements.

The drills themselves (the I/O) live in :mod:`vigil.observe.drills` and
:mod:`vigil.observe.security`; the steps in ``tasks/readiness.py``.
"""
