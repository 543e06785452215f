# Every target bootstraps .venv by itself: a machine with only Python is enough.
# It installs the versions in the lock files (hashes checked), the ones CI tested;
# `make lock` regenerates them after a change to the dependencies in pyproject.toml.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
UV := uv>=0.9,<1
# One resolution for every platform and Python >= 3.11, with the hash of every file.
COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"

.PHONY: run test lint bench clean venv lock

$(STAMP): pyproject.toml $(TEST_LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m pip check || { echo "pyproject.toml asks for more than $(TEST_LOCK): run make lock" >&2; exit 1; }
	touch $(STAMP)

# $(TEST_LOCK): runtime and test dependencies (make run, test, lint; CI).
# $(LOCK): runtime only, at the same versions (the Dockerfile).
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q '$(UV)'
	$(COMPILE) --extra test -o $(TEST_LOCK)
	$(COMPILE) --constraints $(TEST_LOCK) -o $(LOCK)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/gateway serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check storage gateway web tests bench
	$(BIN)/ruff format --check storage gateway web tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info
