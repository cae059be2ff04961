"""The reference's TLS flags: both or neither, readable files, one clear line otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.__main__ import parse_settings


def test_tls_needs_a_certificate_and_a_key_that_exist(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    settings = parse_settings(["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)])
    assert settings.ssl_certfile == cert and settings.ssl_keyfile == key
    with pytest.raises(SystemExit, match=r"--ssl-keyfile: .*give both --ssl-certfile and"):
        parse_settings(["--ssl-certfile", str(cert)])
    with pytest.raises(SystemExit, match=r"--ssl-certfile: .*/absent.pem is not a readable file"):
        parse_settings(["--ssl-certfile", str(tmp_path / "absent.pem"), "--ssl-keyfile", str(key)])
    assert parse_settings([]).ssl_certfile is None
