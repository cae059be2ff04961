"""The one place where secret references in the configuration are resolved through Prefect."""

from __future__ import annotations

import os
import secrets as random_names

from prefect import get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE

from vigil.config import SecretSource, VigilConfig
from vigil.errors import ConfigError


@task(name="resolve-secrets", cache_policy=NO_CACHE, persist_result=False)
def resolve_secrets(config: VigilConfig) -> VigilConfig:
    """Load every Prefect Secret block the configuration names into this process's environment.

    The returned configuration names an environment variable instead of each block,
    so the core reads every secret the same way and no value ever travels as a
    parameter, a result or a log line.

    Args:
        config: The validated configuration.
    """
    resolved = config
    for key_path, source in config.secrets():
        if source.prefect_secret is None:
            continue
        try:
            value = Secret.load(source.prefect_secret).get()
        except ValueError as exc:
            raise ConfigError(
                f"{key_path}: Prefect Secret block {source.prefect_secret!r} could not be "
                f"loaded: {exc}; create it with `prefect block create secret` or name another"
            ) from exc
        variable = f"VIGIL_SECRET_{random_names.token_hex(4).upper()}"
        os.environ[variable] = str(value)
        resolved = resolved.with_secret(key_path, SecretSource(env=variable))
        get_run_logger().info(
            "Secret %s read from Prefect Secret block %r", key_path, source.prefect_secret
        )
    return resolved
