"""The ``vigil.yaml`` configuration: pydantic models, profiles and readable errors.

A configuration is built in layers, each deep-merged over the one before::

    vigil/defaults.yaml: base <- its profile <- the user's file: base <- its profile

so whatever the user writes wins over the built-in values.

and validated once, at entry, into :class:`VigilConfig`. Anything wrong with
it -- a missing file, a YAML syntax error, an unknown or misspelt key, a wrong
type, a value out of range, an unknown profile, a secret whose environment
variable is unset -- raises one :class:`~vigil.errors.ConfigError` whose message
names the file, the line, the key path and the fix.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import secrets
import string
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from vigil.config_base import HTTP_CAPABILITIES as HTTP_CAPABILITIES  # re-exported
from vigil.config_base import Capability as Capability  # re-exported
from vigil.config_base import StrictModel
from vigil.errors import ConfigError
from vigil.results import Severity

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")
DEFAULT_CONFIG_NAME = "vigil.yaml"
DATABASE_URL_ENV = "VIGIL_DATABASE_URL"
DEFAULT_SQLITE_PATH = Path(".vigil") / "vigil.db"
COMMAND_PLACEHOLDERS = frozenset({"python", "port", "workdir"})


# --- secrets ----------------------------------------------------------------------------------


class SecretSource(StrictModel):
    """Where a secret comes from. Exactly one of the three fields is set.

    The YAML never holds a secret's value: only the name of the environment
    variable or Prefect Secret block that does, or ``generate: true`` for a
    fresh random token that vigil hands to a target it launches itself.
    """

    env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the secret.",
    )
    prefect_secret: str | None = Field(
        default=None, min_length=1, max_length=200, description="Name of a Prefect Secret block."
    )
    generate: bool = Field(
        default=False, description="Mint a random token per run (only for targets vigil launches)."
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretSource:
        chosen = [name for name in ("env", "prefect_secret") if getattr(self, name)]
        if self.generate:
            chosen.append("generate")
        if len(chosen) != 1:
            raise ValueError(
                "give exactly one of `env: VAR_NAME`, `prefect_secret: BLOCK_NAME` or "
                f"`generate: true` (got {', '.join(chosen) or 'none'})"
            )
        return self

    def check_available(self) -> None:
        """Raise ConfigError if the secret's environment variable is unset."""
        if self.env and not os.environ.get(self.env):
            raise ConfigError(
                f"environment variable {self.env} is not set; export it before running vigil "
                "(secrets are read from the environment, never from vigil.yaml)"
            )

    def resolve(self) -> SecretStr:
        """Return the secret's value, minting one if ``generate`` is set.

        A Prefect Secret block is not read here (the core knows nothing of Prefect):
        the flow resolves such references first (``tasks.secrets.resolve_secrets``),
        turning each into an environment reference.
        """
        if self.generate:
            return SecretStr(secrets.token_urlsafe(32))
        if self.env:
            self.check_available()
            return SecretStr(os.environ[self.env])
        raise ConfigError(
            f"Prefect Secret block {self.prefect_secret!r} was not resolved before use; "
            "run vigil through its flows (vigil validate or a deployment), which load it"
        )


# --- targets ----------------------------------------------------------------------------------


class TargetBaseConfig(StrictModel):
    """Settings every kind of target shares."""

    name: str = Field(
        default="target",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Short name used in reports and logs.",
    )
    health_path: str = Field(
        default="/health", pattern=r"^/", description="Path of the health endpoint."
    )
    startup_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="How long to wait for the target to be healthy."
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Timeout of each control or check request."
    )
    admin_token: SecretSource | None = Field(
        default=None, description="Bearer token for the target's /admin endpoints."
    )
    capabilities: frozenset[Capability] | None = Field(
        default=None,
        description="What the target offers; default: everything its kind can do.",
    )


class LogBounds(StrictModel):
    """How much of a launched target's output vigil keeps: a long soak must not fill the disk."""

    log_max_bytes: int = Field(
        default=16 * 2**20,
        ge=4096,
        le=2**40,
        description="Size at which the target's log is rotated (a process target's "
        "target.log in its folder; a container's Docker log).",
    )
    log_backups: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Rotated logs kept beside the current one (target.log.1 is the newest); "
        "0 keeps only the current one, emptied when full.",
    )


class ProcessTargetConfig(LogBounds, TargetBaseConfig):
    """A service vigil launches as a local process and tracks with psutil."""

    kind: Literal["process"] = "process"
    command: list[str] = Field(
        min_length=1,
        description="Command and arguments; may use {python}, {port} and {workdir}.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:{port}",
        pattern=r"^https?://",
        description="Where the launched service listens; may use {port}.",
    )
    port: int = Field(default=0, ge=0, le=65535, description="Port to give it; 0 picks a free one.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables (no secrets here)."
    )
    cwd: Path | None = Field(default=None, description="Working directory; default: vigil's.")
    admin_token: SecretSource | None = Field(
        default_factory=lambda: SecretSource(generate=True),
        description="Bearer token for /admin; by default a fresh one per run, given via token_env.",
    )
    token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable through which the launched service receives the token.",
    )
    stop_timeout_s: float = Field(
        default=15.0, gt=0, le=600, description="Grace period between SIGTERM and SIGKILL."
    )

    @field_validator("command", "base_url")
    @classmethod
    def _known_placeholders(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            for _, name, _, _ in string.Formatter().parse(text):
                if name is not None and name not in COMMAND_PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {text!r}; "
                        f"use {', '.join('{' + p + '}' for p in sorted(COMMAND_PLACEHOLDERS))}"
                    )
        return value


class ProcessSelector(StrictModel):
    """How to find a process vigil did not start, so process faults can reach it."""

    pid_file: Path | None = Field(default=None, description="File holding the main process id.")
    cmdline_pattern: str | None = Field(
        default=None, min_length=1, description="Regular expression matched against command lines."
    )

    @model_validator(mode="after")
    def _one_selector(self) -> ProcessSelector:
        if (self.pid_file is None) == (self.cmdline_pattern is None):
            raise ValueError("give exactly one of `pid_file` or `cmdline_pattern`")
        if self.cmdline_pattern is not None:
            try:
                re.compile(self.cmdline_pattern)
            except re.error as exc:
                raise ValueError(
                    f"cmdline_pattern is not a valid regular expression: {exc}"
                ) from exc
        return self


class HttpTargetConfig(TargetBaseConfig):
    """A service that is already running; vigil only talks to it."""

    kind: Literal["http"] = "http"
    base_url: str = Field(pattern=r"^https?://[^/]", description="Base URL of the running service.")
    process: ProcessSelector | None = Field(
        default=None, description="Optional: the service's process, for process faults."
    )


class Mount(StrictModel):
    """A host path bind-mounted into a container."""

    source: Path = Field(description="Absolute path on the host.")
    target: str = Field(pattern=r"^/", description="Absolute path inside the container.")
    read_only: bool = Field(default=True, description="Mount read-only.")


class DockerTargetConfig(LogBounds, TargetBaseConfig):
    """A service run as a container through the Docker engine, on the host network."""

    kind: Literal["docker"] = "docker"
    image: str = Field(min_length=1, description="Image reference, present locally.")
    command: list[str] | None = Field(
        default=None, description="Command override; may use {port} and {workdir}."
    )
    base_url: str = Field(
        default="http://127.0.0.1:{port}", pattern=r"^https?://", description="May use {port}."
    )
    port: int = Field(default=0, ge=0, le=65535, description="Port to give it; 0 picks a free one.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment (no secrets here).")
    mounts: list[Mount] = Field(default_factory=list, description="Bind mounts.")
    token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable through which the container receives the token.",
    )
    stop_timeout_s: float = Field(default=15.0, gt=0, le=600, description="Grace period on stop.")

    @field_validator("command", "base_url")
    @classmethod
    def _known_placeholders(cls, value: Any) -> Any:
        return ProcessTargetConfig._known_placeholders(value)


TargetConfig = Annotated[
    ProcessTargetConfig | HttpTargetConfig | DockerTargetConfig, Field(discriminator="kind")
]
"""The built-in kinds. A configuration is validated against :func:`config_model`, whose
``target`` also accepts every kind installed under the ``vigil.targets`` entry points."""

BUILTIN_TARGET_CONFIGS: tuple[type[TargetBaseConfig], ...] = (
    ProcessTargetConfig,
    HttpTargetConfig,
    DockerTargetConfig,
)
TARGETS_ENTRY_POINT_GROUP = "vigil.targets"


def _kind_of(model: type[TargetBaseConfig]) -> str | None:
    field = model.model_fields.get("kind")
    return field.default if field is not None and isinstance(field.default, str) else None


def plugin_target_configs() -> tuple[type[TargetBaseConfig], ...]:
    """The configuration models of the target kinds that plugins install.

    Each ``vigil.targets`` entry point names an adapter class (a ``vigil.targets.Target``)
    whose ``config_model`` is a :class:`TargetBaseConfig` subclass with
    ``kind: Literal["<entry point name>"] = "<entry point name>"``. Built-in kinds win
    over a plugin of the same name.

    Raises:
        ConfigError: a plugin cannot be imported, or its adapter declares no usable model.
    """
    from importlib.metadata import entry_points

    builtin = {_kind_of(m) for m in BUILTIN_TARGET_CONFIGS}
    found = []
    for entry in sorted(entry_points(group=TARGETS_ENTRY_POINT_GROUP), key=lambda e: e.name):
        if entry.name in builtin:
            continue
        where = f"target plugin {entry.name!r} ({entry.value}, entry point {entry.group})"
        try:
            adapter = entry.load()
        except Exception as exc:
            raise ConfigError(f"{where} cannot be imported: {exc}") from exc
        model = getattr(adapter, "config_model", None)
        if not (isinstance(model, type) and issubclass(model, TargetBaseConfig)):
            raise ConfigError(
                f"{where}: its adapter needs a `config_model` attribute, a subclass of "
                "vigil.config.TargetBaseConfig"
            )
        if _kind_of(model) != entry.name:
            raise ConfigError(
                f"{where}: {model.__name__}.kind must be Literal[{entry.name!r}] with default "
                f"{entry.name!r}, the entry point's name"
            )
        found.append(model)
    return tuple(found)


def target_config_union(extra: tuple[type[TargetBaseConfig], ...] = ()) -> Any:
    """The ``target`` annotation: the built-in kinds and `extra`, told apart by ``kind``."""
    members = (*BUILTIN_TARGET_CONFIGS, *extra)
    return Annotated[typing.Union[members], Field(discriminator="kind")]  # noqa: UP007


# --- store and reports ------------------------------------------------------------------------


class StoreConfig(StrictModel):
    """Where vigil keeps the record of its runs."""

    url: str | None = Field(
        default=None,
        description=(
            f"SQLAlchemy URL; default: ${DATABASE_URL_ENV} if set, else SQLite at "
            f"{DEFAULT_SQLITE_PATH}. Passwords belong in ${DATABASE_URL_ENV}, not here."
        ),
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_yaml(cls, value: str | None) -> str | None:
        if value and re.match(r"^[a-z0-9+]+://[^/@:]+:[^/@]+@", value):
            raise ValueError(
                f"the URL holds a password; put the whole URL in ${DATABASE_URL_ENV} instead"
            )
        return value

    def resolved_url(self) -> str:
        """The URL to open: the environment's, the file's, or the SQLite default."""
        return os.environ.get(DATABASE_URL_ENV) or self.url or f"sqlite:///{DEFAULT_SQLITE_PATH}"


class ReportsConfig(StrictModel):
    """Where run reports are written."""

    dir: Path = Field(default=Path("reports"), description="Each run writes <dir>/<run-id>/.")


# --- suites ---------------------------------------------------------------------------------


class _SuitesBase(StrictModel):
    def enabled(self) -> list[str]:
        """Names of the enabled suites, in the order they run."""
        return [name for name in type(self).model_fields if getattr(self, name).enabled]


# --- criteria ---------------------------------------------------------------------------------


Operator = Literal[">", ">=", "<", "<=", "=="]


class CriterionConfig(StrictModel):
    """One success criterion: a suite's measure compared with a threshold."""

    description: str = Field(default="", max_length=500, description="What the criterion means.")
    suite: str = Field(min_length=1, description="Suite whose measurement is judged.")
    measure: str = Field(
        min_length=1, pattern=r"^[a-z0-9_]+$", description="Name of the measurement."
    )
    operator: Operator = Field(description="How the measurement compares with the threshold.")
    threshold: float = Field(allow_inf_nan=False, description="The bound.")
    unit: str = Field(default="", max_length=32, description="Unit, for reports.")
    severity: Severity = Field(
        default=Severity.ERROR, description="`warn` reports a failure without failing the run."
    )
    enabled: bool = Field(default=True, description="Judge this criterion.")

    @field_validator("suite")
    @classmethod
    def _registered_suite(cls, value: str) -> str:
        from vigil.suites import get_suite

        try:
            get_suite(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("measure")
    @classmethod
    def _produced_measure(cls, value: str, info: ValidationInfo) -> str:
        from vigil.suites import SUITES, describe_unknown_measure

        suite = SUITES.get(info.data.get("suite", ""))
        if suite is not None and suite.measure(value) is None:
            raise ValueError(describe_unknown_measure(suite, value))
        return value


# --- the whole file ---------------------------------------------------------------------------


class VigilConfig(StrictModel):
    """A validated configuration for one profile."""

    profile: str = Field(default="development", description="The profile this was merged for.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed of every random choice.")
    work_dir: Path = Field(
        default=Path(".vigil"), description="vigil's working folder: each target's data and log."
    )
    keep_target_dirs: int | None = Field(
        default=10,
        ge=0,
        le=100_000,
        description="Target folders of finished runs kept in work_dir/targets, the newest; "
        "older ones are removed when a run starts (never a running run's or a resumable "
        "soak's). None keeps them all.",
    )
    store: StoreConfig = Field(default_factory=StoreConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    target: TargetConfig
    suites: SuitesConfig = Field(default_factory=lambda: SuitesConfig())
    criteria: dict[str, CriterionConfig] = Field(
        default_factory=dict, description="Success criteria by name."
    )

    @field_validator("criteria")
    @classmethod
    def _criterion_names(cls, value: dict[str, CriterionConfig]) -> dict[str, CriterionConfig]:
        for name in value:
            if not re.fullmatch(r"[a-z0-9_]+", name):
                raise ValueError(f"criterion name {name!r} must be lower_snake_case")
        return value

    def with_secret(self, key_path: str, source: SecretSource) -> VigilConfig:
        """A copy with the secret reference at `key_path` (as :meth:`secrets` names it) replaced."""
        head, _, rest = key_path.partition(".")
        if not rest:
            return self.model_copy(update={head: source})
        return self.model_copy(update={head: _replace_at(getattr(self, head), rest, source)})

    def secrets(self) -> list[tuple[str, SecretSource]]:
        """Every secret reference in the configuration, with its key path."""
        found = []
        if self.target.admin_token is not None:
            found.append(("target.admin_token", self.target.admin_token))
        return found


@functools.cache
def _config_model(extra: tuple[type[TargetBaseConfig], ...]) -> type[VigilConfig]:
    if not extra:
        return VigilConfig
    return create_model(
        "VigilConfig",
        __base__=VigilConfig,
        __module__=__name__,
        __doc__=VigilConfig.__doc__,
        target=(target_config_union(extra), ...),
    )


def config_model() -> type[VigilConfig]:
    """:class:`VigilConfig`, its ``target`` widened to the installed plugins' kinds.

    Built when a configuration is loaded, not when this module is imported, so that
    installing a plugin needs no change to vigil. With no plugin it is VigilConfig itself.
    """
    return _config_model(plugin_target_configs())


def _replace_at(model: BaseModel, key_path: str, value: Any) -> BaseModel:
    head, _, rest = key_path.partition(".")
    if not rest:
        return model.model_copy(update={head: value})
    return model.model_copy(update={head: _replace_at(getattr(model, head), rest, value)})


# --- loading ----------------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return `base` with `override` merged in.

    Mappings merge key by key, except that a mapping with a different ``kind``
    (say, an http target over the default process target) replaces the old one
    whole; everything else replaces.
    """
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if (
            isinstance(value, dict)
            and isinstance(current, dict)
            and value.get("kind", current.get("kind")) == current.get("kind")
        ):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


class _Source:
    """A parsed YAML file: its data, and its node tree for line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        try:
            self.node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: YAML syntax error: {exc}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path}: the top level must be a mapping of keys (seed, target, suites, ...), "
                f"not a {type(data).__name__}"
            )
        self.data: dict[str, Any] = data

    @classmethod
    def read(cls, path: Path) -> _Source:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no such file; pass an existing --config, or leave it out to use "
                "vigil's built-in configuration"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read: {exc}") from None
        return cls(path, text)

    def line_of(self, keys: tuple[str, ...]) -> int | None:
        """Line number (1-based) of the mapping key at `keys`, if the file has it."""
        node = self.node
        line = None
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return line
            for key_node, value_node in node.value:
                if key_node.value == key:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        return line

    def has(self, keys: tuple[str, ...]) -> bool:
        data: Any = self.data
        for key in keys:
            if not isinstance(data, dict) or key not in data:
                return False
            data = data[key]
        return True


def load_config(
    path: Path | str | None = None, profile: str = "development", *, check_secrets: bool = True
) -> VigilConfig:
    """Read, merge and validate the configuration for `profile`.

    Args:
        path: The user's ``vigil.yaml``; None uses ``./vigil.yaml`` if it exists,
            else only the built-in configuration.
        profile: Profile to merge over the base (development, staging, production,
            or one the file defines).
        check_secrets: Also check that every secret's environment variable is set.

    Raises:
        ConfigError: with one readable message naming the file, line, key and fix.
    """
    defaults = _Source.read(DEFAULTS_PATH)
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = Path(DEFAULT_CONFIG_NAME)
    user = _Source.read(Path(path)) if path is not None else None
    user_data = dict(user.data) if user else {}

    user_profiles = user_data.pop("profiles", None) or {}
    if not isinstance(user_profiles, dict):
        raise ConfigError(
            f"{user.path}:{user.line_of(('profiles',))}: `profiles` must be a mapping"
        )
    # Built-in profiles first, then the user's own, each named once.
    available = list(dict.fromkeys([*(defaults.data.get("profiles") or {}), *user_profiles]))
    if profile not in available:
        hint = [p for p in available if p.startswith(profile)] or difflib.get_close_matches(
            profile, available, n=1
        )
        raise ConfigError(
            f"unknown profile {profile!r}"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
            + f" Available profiles: {', '.join(available)}."
        )

    layers = [
        {k: v for k, v in defaults.data.items() if k != "profiles"},
        defaults.data.get("profiles", {}).get(profile) or {},
        user_data,
        user_profiles.get(profile) or {},
    ]
    merged: dict[str, Any] = {}
    for layer in layers:
        if not isinstance(layer, dict):
            raise ConfigError(f"profile {profile!r} must be a mapping of overrides")
        merged = deep_merge(merged, layer)
    merged["profile"] = profile

    model = config_model()
    try:
        config = model.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, merged, user, profile, model)) from None

    if check_secrets:
        for key_path, secret in config.secrets():
            try:
                secret.check_available()
            except ConfigError as exc:
                where = _where(user, profile, tuple(key_path.split(".")), fallback="configuration")
                raise ConfigError(f"{where}: {key_path}: {exc}") from None
    return config


def _describe(
    exc: ValidationError,
    data: dict[str, Any],
    user: _Source | None,
    profile: str,
    model: type[VigilConfig] = VigilConfig,
) -> str:
    """Turn a pydantic error into lines of `file:line: key.path: problem; fix`."""
    lines = []
    for error in exc.errors()[:8]:
        keys = _data_keys(error["loc"], data)
        dotted = ".".join(keys) or "(top level)"
        message = _problem(error, keys, data, model)
        lines.append(f"{_where(user, profile, keys)}: {dotted}: {message}")
    extra = exc.error_count() - len(lines)
    if extra > 0:
        lines.append(f"... and {extra} more problem(s)")
    return "\n".join(lines)


def _where(user: _Source | None, profile: str, keys: tuple[str, ...], fallback: str = "") -> str:
    """Point at the user's file and line that set `keys`, or at the built-in configuration."""
    if user is not None:
        for candidate in (("profiles", profile, *keys), keys):
            for depth in range(len(candidate), 0, -1):
                if user.has(candidate[:depth]):
                    return f"{user.path}:{user.line_of(candidate[:depth])}"
    return fallback or f"{DEFAULTS_PATH.name} (built-in)"


def _data_keys(loc: tuple[Any, ...], data: dict[str, Any]) -> tuple[str, ...]:
    """Map pydantic's error location onto keys of the data, dropping union tags."""
    keys: list[str] = []
    node: Any = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            keys.append(str(part))
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # the discriminator's tag, not a key of the file
        else:
            keys.append(str(part))
            node = None
    return tuple(keys)


def _problem(
    error: dict[str, Any],
    keys: tuple[str, ...],
    data: dict[str, Any],
    model: type[VigilConfig] = VigilConfig,
) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_fields(keys[:-1], data, model)
        hint = difflib.get_close_matches(keys[-1], known, n=1, cutoff=0.6) if keys else []
        text = "unknown key"
        if hint:
            return f"{text}; did you mean {hint[0]!r}?"
        return f"{text}; allowed here: {', '.join(known)}" if known else text
    if kind == "missing":
        return "required key is missing; add it"
    if kind == "union_tag_invalid":
        tags = error.get("ctx", {}).get("expected_tags", "process, http, docker")
        given = error.get("ctx", {}).get("tag", error["input"])
        return f"unknown kind {given!r}; use one of {tags}"
    if kind == "union_tag_not_found":
        kinds = [_kind_of(m) for m in (*BUILTIN_TARGET_CONFIGS, *plugin_target_configs())]
        return f"`kind` is missing; set it to one of {', '.join(k for k in kinds if k)}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind != "value_error" and not isinstance(error.get("input"), dict | list):
        message = f"{message} (got {error['input']!r})"
    return message


def _known_fields(
    keys: tuple[str, ...], data: dict[str, Any], root: type[BaseModel] = VigilConfig
) -> list[str]:
    """Field names of the model found by following `keys` from `root` through `data`."""
    annotation: Any = root
    node: Any = data
    for key in keys:
        model = _as_model(annotation, node)
        if model is not None:
            field = model.model_fields.get(key)
            annotation = field.annotation if field else None
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
        node = node.get(key) if isinstance(node, dict) else None
    model = _as_model(annotation, node)
    return list(model.model_fields) if model else []


def _as_model(annotation: Any, node: Any = None) -> type[BaseModel] | None:
    """The model behind an annotation; for a tagged union, the member `node`'s kind names."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [m for m in (_as_model(a) for a in typing.get_args(annotation)) if m]
        if len(models) == 1:
            return models[0]
        kind = node.get("kind") if isinstance(node, dict) else None
        for candidate in models:
            field = candidate.model_fields.get("kind")
            if field is not None and field.default == kind:
                return candidate
    return None


# --- the suites' settings ---------------------------------------------------------------------
# Built last: the registry names each suite's settings model, and those modules may use
# what this module defines above (StoreConfig, Capability, ...), so they are imported only
# once everything here exists.

from vigil.suites import SUITES  # noqa: E402

SuitesConfig = create_model(
    "SuitesConfig",
    __base__=_SuitesBase,
    __doc__="Per-suite settings, in the order the suites run; a suite left out keeps its defaults.",
    **{
        name: (spec.settings, Field(default_factory=spec.settings, description=spec.description))
        for name, spec in SUITES.items()
    },
)
"""``suites:`` -- one key per registered suite (:data:`vigil.suites.SUITES`)."""

VigilConfig.model_rebuild()
