"""Every way a configuration can be wrong gets one readable message and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import load_config
from vigil.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vigil.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path | None, profile: str = "development") -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, profile)
    error = caught.value
    # The user sees one message, never a chained traceback or pydantic's own text.
    assert error.__cause__ is None, f"chained cause: {error.__cause__!r}"
    message = str(error)
    assert "errors.pydantic.dev" not in message and "Traceback" not in message, message
    assert "[type=" not in message, message
    return message


def test_builtin_configuration_is_valid_for_every_profile() -> None:
    for profile in ("development", "staging", "production"):
        config = load_config(None, profile)
        assert config.profile == profile
        assert config.target.kind == "process"
        assert set(config.criteria) >= {
            "integration_pass_rate",
            "p95_latency_within_budget",
            "learning_improves_over_30_days",
            "mttr_within_budget",
            "pattern_accuracy",
            "availability",
        }


def test_profiles_override_the_base() -> None:
    assert load_config(None, "production").suites.integration.feedback_rounds == 1000
    assert load_config(None, "development").suites.integration.feedback_rounds == 50


def test_user_base_wins_over_builtin_profile(tmp_path: Path) -> None:
    path = write(tmp_path, "suites:\n  integration:\n    feedback_rounds: 7\n")
    assert load_config(path, "production").suites.integration.feedback_rounds == 7


def test_user_profile_wins_over_user_base(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "seed: 1\nprofiles:\n  staging:\n    seed: 2\n  nightly:\n    seed: 3\n",
    )
    assert load_config(path, "development").seed == 1
    assert load_config(path, "staging").seed == 2
    assert load_config(path, "nightly").seed == 3


def test_missing_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "absent.yaml")
    assert "absent.yaml: no such file" in message


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\ntarget:\n  kind: [http\n")
    message = error_of(path)
    assert f"{path}:4:1: YAML syntax error" in message or f"{path}:3:" in message
    assert "YAML syntax error" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "- a\n- b\n"))
    assert "top level must be a mapping" in message


def test_misspelt_key_gets_did_you_mean_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 3\nsuites:\n  integration:\n    feedback_round: 4\n")
    message = error_of(path)
    assert f"{path}:4: suites.integration.feedback_round: unknown key" in message
    assert "did you mean 'feedback_rounds'?" in message


def test_unknown_key_without_close_match_lists_allowed_keys(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "store:\n  zzz: 1\n"))
    assert "store.zzz: unknown key; allowed here: url" in message


def test_unknown_key_inside_a_target_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "target:\n  kind: http\n  base_url: http://127.0.0.1:9\n  comand: x\n")
    message = error_of(path)
    assert f"{path}:4: target.comand: unknown key" in message


def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: many\n")
    message = error_of(path)
    assert f"{path}:1: seed:" in message
    assert "valid integer" in message and "'many'" in message


def test_out_of_range_value(tmp_path: Path) -> None:
    path = write(tmp_path, "suites:\n  integration:\n    feedback_rounds: 0\n")
    message = error_of(path)
    assert (
        "suites.integration.feedback_rounds: Input should be greater than or equal to 1" in message
    )
    assert "(got 0)" in message


def test_error_in_a_profile_points_at_the_profile_line(tmp_path: Path) -> None:
    path = write(tmp_path, "profiles:\n  staging:\n    seed: -1\n")
    message = error_of(path, "staging")
    assert f"{path}:3: seed:" in message


def test_unknown_profile_suggests_the_closest(tmp_path: Path) -> None:
    message = error_of(None, "prod")
    assert "unknown profile 'prod'; did you mean 'production'?" in message
    assert "development, staging, production" in message


def test_unknown_target_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\ntarget:\n  kind: ssh\n")
    message = error_of(path)
    assert f"{path}:2: target: unknown kind 'ssh'" in message
    assert "'process', 'http', 'docker'" in message


def test_switching_target_kind_replaces_the_default_target(tmp_path: Path) -> None:
    path = write(tmp_path, "target:\n  kind: http\n  base_url: http://127.0.0.1:8080\n")
    config = load_config(path)
    assert config.target.kind == "http"
    assert config.target.base_url == "http://127.0.0.1:8080"


def test_unknown_placeholder_in_command(tmp_path: Path) -> None:
    path = write(tmp_path, "target:\n  command: ['{python}', '-m', 'svc', '--port', '{prot}']\n")
    message = error_of(path)
    assert "unknown placeholder {prot}" in message


def test_secret_from_unset_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIL_TEST_UNSET_TOKEN", raising=False)
    path = write(
        tmp_path,
        "target:\n  kind: http\n  base_url: http://127.0.0.1:1\n"
        "  admin_token: {env: VIGIL_TEST_UNSET_TOKEN}\n",
    )
    message = error_of(path)
    assert f"{path}:4: target.admin_token:" in message
    assert "environment variable VIGIL_TEST_UNSET_TOKEN is not set" in message


def test_secret_source_needs_exactly_one_origin(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "target:\n  admin_token: {env: TOKEN, generate: true}\n"))
    assert "give exactly one of" in message


def test_user_token_source_replaces_the_generated_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_TEST_TOKEN", "t0ken")
    config = load_config(write(tmp_path, "target:\n  admin_token: {env: VIGIL_TEST_TOKEN}\n"))
    assert config.target.admin_token.env == "VIGIL_TEST_TOKEN"
    assert config.target.admin_token.resolve().get_secret_value() == "t0ken"
    assert "t0ken" not in config.model_dump_json()


def test_password_in_store_url_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  url: postgresql+psycopg://u:secret@127.0.0.1/db\n")
    message = error_of(path)
    assert "VIGIL_DATABASE_URL" in message
    assert "secret" not in message.replace("secrets", "")


def test_criterion_with_unknown_operator(tmp_path: Path) -> None:
    path = write(tmp_path, "criteria:\n  availability:\n    operator: '=>'\n")
    message = error_of(path)
    assert "criteria.availability.operator" in message


def test_data_generator_parameters_are_checked_with_the_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, "suites:\n  data:\n    metrics:\n      days: -3\n")
    message = error_of(path)
    assert (
        f"{path}:4: suites.data.metrics.days: days must be a positive number of days, got -3"
        in message
    )


def test_resolution_coarser_than_the_daily_cycle_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "suites:\n  data:\n    metrics:\n      resolution_seconds: 7200\n")
    message = error_of(path)
    assert "suites.data.metrics.resolution_seconds" in message


def test_misspelt_data_key_gets_a_suggestion(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "suites:\n  data:\n    learning:\n      rows_per_dya: 10\n"))
    assert "suites.data.learning.rows_per_dya: unknown key; did you mean 'rows_per_day'?" in message


def test_criterion_naming_an_unknown_measure_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "criteria:\n  rate:\n    suite: integration\n    measure: pass_rat\n"
        "    operator: '>'\n    threshold: 0.5\n",
    )
    message = error_of(path)
    assert (
        f"{path}:4: criteria.rate.measure: suite 'integration' produces no measure 'pass_rat'; "
        "did you mean 'pass_rate'?" in message
    )


def test_criterion_naming_an_unknown_suite_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "criteria:\n  rate:\n    suite: integratoin\n    measure: pass_rate\n"
        "    operator: '>'\n    threshold: 0.5\n",
    )
    message = error_of(path)
    assert f"{path}:3: criteria.rate.suite: unknown suite 'integratoin'; did you mean" in message
    assert "known suites: data, integration" in message


def test_every_registered_suite_has_a_settings_section() -> None:
    from vigil.suites import SUITES

    config = load_config(None)
    assert list(type(config.suites).model_fields) == list(SUITES)
    for name, spec in SUITES.items():
        assert isinstance(getattr(config.suites, name), spec.settings)
