"""Fault primitives, each with its own proof of effect and its own rollback.

:data:`FAULT_KINDS` maps a fault configuration's ``kind`` to the class that injects
it; :func:`inject` is the one entry point. Nothing registers itself on import.
"""

from __future__ import annotations

from vigil.exports import lazy_exports

_EXPORTS = {
    "ActiveFault": "base",
    "FAULT_KINDS": "registry",
    "FaultConfig": "config",
    "FaultContext": "base",
    "FaultEvidence": "base",
    "RecoveryPartConfig": "config",
    "ScenarioConfig": "config",
    "active_faults": "base",
    "inject": "registry",
    "revert_journalled_faults": "journal",
    "roll_back_all": "base",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
