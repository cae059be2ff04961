"""Fixtures shared by every test tier; services are asked for through tests.services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.services import require_service

POSTGRES_ENV = "VIGIL_TEST_POSTGRES_URL"


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped afterwards.

    The server is named by ``VIGIL_TEST_POSTGRES_URL`` (a URL of a role that may
    create databases, e.g. ``postgresql+psycopg://vigil:vigil@127.0.0.1:5432/postgres``).
    """
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        require_service("PostgreSQL", f"{POSTGRES_ENV} is not set")
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        require_service("PostgreSQL", f"cannot connect with {POSTGRES_ENV}: {exc.orig}")
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
