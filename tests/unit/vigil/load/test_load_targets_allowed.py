"""Unit tests of which targets a load run may send to, and of the series' bounded width."""

from __future__ import annotations

import argparse
import re

import pytest

from vigil.errors import ConfigError
from vigil.load import LOOPBACK_HOSTS, LoadProfileConfig, check_target_allowed
from vigil.load.command import add_arguments


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.9.8.7",
        "http://[::1]:9000",
        "http://localhost:80",
        "http://LOCALHOST:80",
        "https://[::ffff:127.0.0.1]:443",
    ],
)
def test_loopback_targets_are_allowed_by_default(url: str) -> None:
    check_target_allowed(url)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://198.51.100.7:8080", "198.51.100.7"),
        ("http://192.0.2.1", "192.0.2.1"),
        ("http://[2001:db8::1]:80", "2001:db8::1"),
        ("http://example.com", "example.com"),
        ("http://localhost.example.com", "localhost.example.com"),
        ("http://0.0.0.0:8080", "0.0.0.0"),
    ],
)
def test_other_targets_are_refused_by_name(url: str, host: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_target_allowed(url)
    message = str(info.value)
    assert f"refusing to send load to {host!r}" in message
    assert "add the host (or its network) to allow_hosts" in message


def test_listed_networks_and_names_are_allowed() -> None:
    allow = (*LOOPBACK_HOSTS, "198.51.100.0/24", "target.internal")
    check_target_allowed("http://198.51.100.23:8080", allow)
    check_target_allowed("http://target.internal", allow)
    with pytest.raises(ConfigError, match=re.escape("203.0.113.1")):
        check_target_allowed("http://203.0.113.1", allow)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8080", "is not an http(s) URL"),
        ("ftp://127.0.0.1", "is not an http(s) URL"),
        ("http://127.0.0.1:99999", "is not a valid URL"),
    ],
)
def test_malformed_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_target_allowed(url)


def test_long_runs_get_wider_buckets_so_the_series_stays_bounded() -> None:
    short = LoadProfileConfig(users=1, duration_seconds=600)
    soak = LoadProfileConfig(users=1, duration_seconds=72 * 3600, bucket_seconds=1)

    assert short.series_bucket_seconds == 1
    assert soak.series_bucket_seconds == 64  # 259 200 s / 64 s = 4050 buckets <= 4096
    assert soak.duration_seconds / soak.series_bucket_seconds <= soak.max_series_buckets


def test_the_command_parses_its_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    args = parser.parse_args(["http://127.0.0.1:1/x", "--rate", "20", "--workers", "2", "--json"])

    assert (args.rate, args.users, args.workers, args.json) == (20.0, None, 2, True)
