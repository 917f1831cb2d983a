# Two commands do everything on a fresh machine (Python 3.11, Java 17, Node 20):
#   make demo   set up the environment and run the full daily flow on generated data
#   make test   set up the environment and run the test suite
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup test-setup demo test test-fast bench clean

setup: $(VENV)/.installed

# The tests also need Azurite (npm, pinned in package-lock.json) and headless Chromium (Debian).
test-setup: setup node_modules/.installed
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	touch $@

demo: setup node_modules/.installed
	$(VENV)/bin/lakehouse demo

test: test-setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-fast: test-setup
	$(VENV)/bin/python -m pytest -m "not slow and not classic"

clean:
	rm -rf data .pytest_cache

# Mutation testing (not part of `make test`): benchmarks/mutation.py with [tool.cosmic-ray] of pyproject.toml;
# results in benchmarks/results/mutation.md. MODULES="quality/event_checks.py ml/registry.py" limits the run,
# MINUTES bounds each module (default 20), SURVIVORS=1 reruns only the last run's survivors and mutants not run.
.PHONY: mutation
mutation: setup
	$(VENV)/bin/python benchmarks/mutation.py $(MODULES) $(if $(MINUTES),--minutes $(MINUTES)) $(if $(SURVIVORS),--survivors)
