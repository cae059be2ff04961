"""The system part of the workflow suite: cross-component integration and the full cycle.

:mod:`vigil.system.settings` is light (pydantic only) for the suite registry;
:mod:`vigil.system.checks` holds the checks and the pure judgements.
"""
