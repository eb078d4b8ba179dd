# deployer — developer commands. `make demo` and `make test` work on a fresh Debian machine.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install system-deps test demo bench lint clean

install:
	$(PIP) install --quiet --disable-pip-version-check -e '.[test]'

system-deps:
	bash scripts/system-deps.sh

# The whole suite: unit tests, the local AWS, and end-to-end runs of the real `deployer` command
# against it, with a private Docker engine and registry for the image tests.
test: install system-deps
	$(PYTHON) -m pytest -q

# A full release of examples/app against the local AWS and a local Docker engine and registry.
demo: install system-deps
	$(PYTHON) scripts/demo.py

bench: install
	$(PYTHON) -m bench

clean:
	rm -rf build dist *.egg-info .pytest_cache

# A native ECS blue/green (then canary) release of examples/app against the local AWS (no Docker).
.PHONY: demo-bluegreen
demo-bluegreen: install
	$(PYTHON) scripts/demo_bluegreen.py
