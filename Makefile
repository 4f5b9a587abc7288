# canbridge: `make test` installs what it needs and runs everything; `make demo` runs the stack.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Compose v2 plugin when present, else v1's docker-compose.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)

APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq

.PHONY: test lint bytecode coverage topics deps lock mosquitto test-packages demo up up-sim down logs passwords bench bench-control bench-latency bench-wican bench-bic bench-e2e bench-recovery bench-startup clean

# First the installs (the venv, Debian's packages), then lint and the bytecode side by side,
# each pair with one core each. Then the suite in parallel (pytest-xdist). Many tests wait on
# a broker or a service process, so it runs more workers than cores. How many pays depends
# on how fast the cores are (2 cores, 3 December 2026, the parallel run alone, 2-4 runs each):
# - at this machine's full speed (a fixed Python loop in 1.4-1.5 s) the suite mostly waits,
#   and more workers fill the cores: 5 workers 98-100 s, 6 workers 90 s, 7 workers 83-89 s,
#   8 workers 80-87 s, 9 workers 80-81 s (user+sys CPU 115-137 s);
# - in hours when the host slowed it (the same suite used 170-200 s CPU) it was CPU-bound,
#   and each extra worker's collection (~3.5 s CPU; every worker collects the whole suite)
#   cost time: 4 workers 130 s, 6 workers 109-113 s, 8 workers 117-118 s.
# 8 takes most of the first gain for part of the second loss.
# The longest tests start first, each on a worker of its own (tests/conftest.py);
# --maxschedchunk 2 then hands the rest out two at a time as workers free up.
# COV: the coverage total against a floor ([tool.coverage] in pyproject.toml); `make coverage`
# prints the per-file table of the same run. The `exhaustive` tests (hypothesis properties,
# bulk corpora: thousands of inputs through pure code that example tests cover too) run
# untraced (tests/conftest.py): line tracing made them four to six times slower.
# `make test COV=` skips coverage altogether.
# Python may write its bytecode cache (__pycache__, ignored by git) even where the environment
# says not to, and it is written first, once: compileall for the project, and on a fresh
# checkout one collection for the tests (pytest's assertion rewriting); otherwise every worker
# and every service zygote compiles the same modules at the same time (a fresh clone's first
# run took 137 s instead of ~105 s).
# Tests marked `alone` run afterwards, one at a time with nothing beside them: their simulator
# and adapter are threads in the test process, timed against the manual's 20 ms request period,
# and four busy workers (with coverage tracing) made them late and bunched (a false
# request_too_soon in tests/bic_gateway/test_bic_slcan.py). That run collects only the files
# that name the marker (tests/conftest.py refuses an `alone` test marked any other way).
ALONE_FILES = $(shell grep -rl --include='test_*.py' 'mark\.alone' tests)
TEST_WORKERS ?= 8
COV ?= --cov --cov-report=
test:
	$(MAKE) --no-print-directory -j 2 -O deps test-packages
	$(MAKE) --no-print-directory -j 2 -O lint bytecode
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n $(TEST_WORKERS) --maxschedchunk 2 $(COV) -m "not alone"
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -m alone $(ALONE_FILES)

# Runs beside `lint` in make test, one core each: on a fresh clone, mypy takes ~10 s and the
# tests' first collection (pytest rewrites and compiles every test module) ~10 s.
bytecode: deps
	$(PY) -m compileall -q -j 0 shared services bench
	test -d tests/__pycache__ || PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q --co -p no:cacheprovider >/dev/null || true

# The per-file table of the last make test's coverage (its data stays in .coverage): make test
# prints only the total against the floor, since each table re-reads all 180 source files
# (~1.7 s at the end of the run, when nothing else is left to run beside it).
coverage: deps
	$(VENV)/bin/coverage report

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The topic tables of the README and the service docs, generated from the topic contract
# (shared/contract/catalog.py names the pages).
topics: deps
	$(PY) -m shared.contract.table --write

# The virtualenv from the pinned dependencies in pyproject.toml and constraints.txt (their
# dependencies, pinned too); re-made when either changes. uv installs them (2-3 s on a fresh
# machine, where pip took 24 s); when uv itself cannot be installed or fails, pip does the same
# install from the same pins. The venv is made without pip, and the system's pip puts uv into
# it (`pip --python`, pip 22.3 or newer): copying pip into a new venv took 4-5 s of a fresh
# clone's ~11 s install. Without a usable system pip (none, or older than 22.3), the venv gets
# its own (ensurepip) and that installs uv.
UV_VERSION := 0.13.9
UV_PIN = --quiet --disable-pip-version-check uv==$(UV_VERSION)
# the venv's own pip, put there first when the venv has none
VENV_PIP = { $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null; } \
	&& $(PY) -m pip
deps: $(STAMP)
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@if { $(PYTHON) -m pip --python $(PY) install $(UV_PIN) 2>/dev/null || { $(VENV_PIP) install $(UV_PIN); }; } \
	    && $(VENV)/bin/uv pip install --quiet --python $(PY) -c constraints.txt -e '.[dev]'; then :; \
	else echo "uv failed: installing with pip instead"; \
	  $(VENV_PIP) install --quiet -c constraints.txt -e '.[dev]'; fi
	touch $@

# After changing a pin in pyproject.toml: resolve afresh and pin the whole set again.
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; $(VENV)-lock/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf $(VENV)-lock

# Shell fragments: each adds the Debian packages of a program that is missing to $$missing;
# INSTALL_MISSING installs them with one apt-get update. Debian's mosquitto is installed as a
# program only (the tests and the demo start their own), so its system service is stopped.
NEED_MOSQUITTO = { command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto; } \
	|| missing="$$missing mosquitto mosquitto-clients";
NEED_CHROMIUM = command -v chromium >/dev/null || missing="$$missing chromium";
INSTALL_MISSING = if [ -n "$$missing" ]; then \
	  echo "installing$$missing with apt"; \
	  $(APT_INSTALL) $$missing >/dev/null \
	    && { systemctl disable --now mosquitto >/dev/null 2>&1 || true; }; \
	fi

# The tests and the demo start a real broker: Debian's mosquitto when it is missing.
mosquitto:
	@missing=""; $(NEED_MOSQUITTO) $(INSTALL_MISSING)

# What make test needs from Debian: mosquitto, and chromium (the status page is tested in a
# real headless browser).
test-packages:
	@missing=""; $(NEED_MOSQUITTO) $(NEED_CHROMIUM) $(INSTALL_MISSING)

# The whole stack as local processes (broker with the project config, services, simulators).
demo: deps mosquitto
	$(PY) -m services.devstack

up:
	$(COMPOSE) up -d --build

# The stack with the simulators (config/sim.yaml); the gateway talks to the simulated BIC over udp_multicast.
up-sim:
	CANBRIDGE_CONFIG_FILE=sim.yaml BIC_CAN_INTERFACE=udp_multicast BIC_CAN_CHANNEL=239.74.163.2 \
	  $(COMPOSE) --profile sim up -d --build

down:
	$(COMPOSE) --profile sim down

logs:
	$(COMPOSE) logs -f --tail=100

passwords:
	@$(COMPOSE) run --rm --no-deps broker-setup python -m services.broker_setup show

# Benchmarks; each prints a table and writes JSON (and plots) under bench/results/.
bench: bench-control bench-latency bench-wican bench-bic bench-e2e bench-recovery bench-startup

bench-control: deps
	$(PY) -m bench.control

# the controller against a meter whose delay differs from control.meter_latency_s
bench-latency: deps
	$(PY) -m bench.meter_latency

bench-wican: deps mosquitto
	$(PY) -m bench.wican

bench-bic: deps mosquitto
	$(PY) -m bench.bic

# meter message -> charge controller -> gateway -> CAN setpoint frame, through the real broker
bench-e2e: deps mosquitto
	$(PY) -m bench.e2e

# broker, controller or gateway restarted -> regulating again (goal 5 s)
bench-recovery: deps mosquitto
	$(PY) -m bench.recovery

# docker compose up -> every container healthy (needs a Docker engine; says so without one)
bench-startup: deps
	COMPOSE='$(COMPOSE)' $(PY) -m bench.startup

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info test-output .coverage
