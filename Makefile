# vigil's two entry points. Each sets itself up: a pinned uv in .tools/, then the
# locked environment in .venv/ (uv.lock), then the command.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PROFILE ?= development
PYTEST_ARGS ?=
# Trust the operating system's certificate store (corporate proxies add their CA there).
export UV_SYSTEM_CERTS := 1

.PHONY: validate test lint clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## Run `vigil validate` against the built-in reference service.
validate: $(UV)
	$(UV) run --frozen --python $(PYTHON) vigil validate --profile $(PROFILE)

## Run the whole test suite (unit, integration, e2e).
test: $(UV)
	$(UV) run --frozen --python $(PYTHON) pytest $(PYTEST_ARGS)

lint: $(UV)
	$(UV) run --frozen --python $(PYTHON) ruff check vigil flows tasks reference expectations tests

clean:
	rm -rf .tools .venv .vigil reports .pytest_cache
