"""The SQLModel base of vigil's own tables.

vigil's tables live in their own registry and ``MetaData``, apart from SQLModel's
global one, so a process that imports another SQLModel user as well (the
reference service, a user's plugin) never creates that user's tables in vigil's
store, nor vigil's in theirs.
"""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class VigilTable(SQLModel, registry=registry()):
    """Base of every vigil table model (and of the non-table models that share their fields)."""
