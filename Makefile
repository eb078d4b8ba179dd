# deployer — developer commands. `make demo` and `make test` work on a fresh Debian machine.
#
# Everything runs in a virtualenv ($(VENV)) holding exactly requirements/lock.txt (hash-checked),
# plus this checkout installed editable: never the machine's own Python packages.
PYTHON ?= python3
# Python writes each module's bytecode the first time it imports it (pip installs with --no-compile);
# a PYTHONDONTWRITEBYTECODE inherited from the machine would make every `deployer` process, and every
# test worker, compile boto3, botocore and jinja2 from source again (~0.5 s of CPU each time).
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
LOCK_VENV ?= .venv-lock
PYTEST_ARGS ?=
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-lock
LOCK := requirements/lock.txt

# `make test`: every tier at once, in XDIST_WORKERS pytest-xdist workers (the end-to-end tests mostly
# wait on emulated rollouts, so more workers than cores pay off: on 2 cores, pytest took 339 s with 8
# workers, 391 s with 6 and 371 s with 10). worksteal: a worker that runs out takes half of another's queue (test
# lengths differ from 0.1 s to 80 s). Each worker that runs a Docker test starts its own engine and
# registry (tests/dockerenv.py, ~1.5 s). XDIST_WORKERS=0 runs serially.
XDIST_WORKERS ?= 8
XDIST = $(if $(filter 0,$(XDIST_WORKERS)),,-n $(XDIST_WORKERS) --dist worksteal)
# Collected once, in one process, before the workers start: a fresh checkout's first collection
# compiles the test modules (pytest's assertion rewriting) and the emulator's moto to bytecode, ~6 s of
# CPU each of the XDIST_WORKERS workers would otherwise spend at once (~4 s when nothing is left to compile).
# $(call warm,PATHS): the same paths and PYTEST_ARGS as the run that follows.
warm = $(if $(filter 0,$(XDIST_WORKERS)),,@$(VPY) -m pytest -q --collect-only -p no:cacheprovider $(1) $(PYTEST_ARGS) >/dev/null 2>&1 || true)

.PHONY: install system-deps python-deps check-lock lock test test-unit test-e2e test-docker test-profile demo bench dist clean

install: $(STAMP)

# Rebuilt from scratch whenever the lock or the project's metadata changes, so nothing an earlier
# install left behind stays. --only-binary: nothing is built from source, with unhashed build tools.
# The lock is installed by uv (the lock tool, itself hash-pinned in requirements/uv.txt, in $(LOCK_VENV)):
# with the same hashes, ~3 s where pip took ~27 s (pip parsed every release on each package's index page).
# If uv cannot, pip installs the same lock. Nothing is compiled at install, then only what `deployer`
# runs is (scripts/runtime_files.py, ~3 s): the test-only packages (moto...) compile as first imported.
$(STAMP): $(LOCK) requirements/uv.txt pyproject.toml setup.py
	@$(MAKE) --no-print-directory python-deps check-lock $(LOCK_VENV)/.installed-uv
	@if [ -e "$(VENV)" ] && [ ! -f "$(VENV)/pyvenv.cfg" ]; then \
		echo "error: $(VENV) exists and is not a virtualenv; remove it or set VENV=" >&2; exit 2; fi
	$(PYTHON) -m venv --clear $(VENV)
	$(LOCK_VENV)/bin/uv pip install --quiet --python $(VPY) --require-hashes --no-deps --only-binary :all: -r $(LOCK) \
		|| { echo "uv could not install $(LOCK): pip installs it instead" >&2; \
		     $(VPY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps --no-compile \
		       --only-binary :all: -r $(LOCK); }
	$(VPY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	$(VPY) -m pip check
	$(VPY) scripts/runtime_files.py | $(VPY) -m compileall -q -j 0 -i - >/dev/null
	@touch $@

system-deps:
	bash scripts/system-deps.sh

python-deps:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh python

check-lock:
	@$(PYTHON) scripts/lock.py --check

# Regenerate the locks from pyproject.toml (keeps current pins; `make lock UPGRADE=1` takes the newest).
lock: $(LOCK_VENV)/.installed-uv
	$(PYTHON) scripts/lock.py --uv $(LOCK_VENV)/bin/uv $(if $(UPGRADE),--upgrade)

$(LOCK_VENV)/.installed-uv: requirements/uv.txt
	$(PYTHON) -m venv --clear $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps --only-binary :all: -r requirements/uv.txt
	@touch $@

# pytest, saying so when it collected nothing (exit 5: a wrong path or -k selects no test).
pytest = @$(VPY) -m pytest -q $(1) $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "error: pytest collected no tests (exit 5)" >&2; fi; exit $$code

# The whole suite, in parallel: unit tests, the local AWS and end-to-end runs of the real `deployer`
# command against it, and, with a private Docker engine and registry, the image tests.
test: install system-deps
	$(call warm)
	$(call pytest,$(XDIST))

# The tiers alone (tests/<tier>/; docs: development). test-unit needs no Docker and no local AWS.
test-unit: install
	$(call pytest,tests/unit)

test-e2e: install
	$(call warm,tests/e2e)
	$(call pytest,$(XDIST) tests/e2e)

test-docker: install system-deps
	$(call pytest,tests/docker)

# A full release of examples/app against the local AWS and a local Docker engine and registry.
demo: install system-deps
	$(VPY) scripts/demo.py

bench: install
	$(VPY) -m bench

# `make test`, recording each test's wall time and CPU (tests/suite_profile.py), then the figures:
# per worker, the files that cost most, the longest tests (bench/suite.py).
test-profile: install system-deps
	rm -rf .suite-profile
	$(call warm)
	$(call pytest,$(XDIST) -p tests.suite_profile)
	$(VPY) -m bench.suite .suite-profile

# dist/: the wheel and sdist, and deployer-requirements.txt (the wheel + runtime lock, all hashed).
dist: install
	$(VPY) scripts/dist.py --outdir dist

clean:
	rm -rf build dist *.egg-info .pytest_cache

# A native ECS blue/green (then canary) release of examples/app against the local AWS (no Docker).
.PHONY: demo-bluegreen
demo-bluegreen: install
	$(VPY) scripts/demo_bluegreen.py

# Build once, promote: a release to staging and a promotion of its digest to prod, in three accounts
# of the local AWS (no Docker).
.PHONY: demo-promote
demo-promote: install
	$(VPY) scripts/demo_promote.py
