# Two commands for users: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages the tests and the demo need; installed only when missing (systemd: its
# `systemd-analyze verify` checks the relay's generated unit).
DEBIAN_PACKAGES := mosquitto mosquitto-clients systemd
# Pure core packages: no homeassistant imports, mypy --strict.
CORE_PACKAGES := custom_components/automationone/protocol custom_components/automationone/safety simulator custom_components/automationone/processors custom_components/automationone/gpio custom_components/automationone/rules custom_components/automationone/predictions custom_components/automationone/broker_security kaiser

.DEFAULT_GOAL := test

# Parts own their checks in an included makefile that appends to EXTRA_TESTS and DEBIAN_PACKAGES.
EXTRA_TESTS :=
-include firmware/firmware.mk
-include firmware/fuzz/fuzz.mk
-include esphome_configs/esphome.mk
EXTRA_TESTS += fault-soak
# The real frontend in headless Chromium (ui-test below).
EXTRA_TESTS += ui-test

.PHONY: test demo bench deps venv lint typecheck pytest pytest-current ui-test

test: deps venv lint typecheck pytest pytest-current $(EXTRA_TESTS)

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Python 3.13: pyenv's 3.13.0 if present, else python3.13 on PATH.
venv: $(VENV)/.stamp-requirements

$(VENV)/.stamp-requirements: requirements_test.txt
	@if [ ! -x $(PY) ]; then \
	  py=""; \
	  if command -v pyenv >/dev/null && [ -x "$$(pyenv root)/versions/3.13.0/bin/python" ]; then py="$$(pyenv root)/versions/3.13.0/bin/python"; \
	  elif PYENV_VERSION=3.13.0 python3.13 -c '' 2>/dev/null; then py="$$(PYENV_VERSION=3.13.0 python3.13 -c 'import sys; print(sys.executable)')"; \
	  else echo "Python 3.13 not found (pyenv 3.13.0 or python3.13 on PATH)"; exit 1; fi; \
	  "$$py" -m venv $(VENV); \
	fi
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements_test.txt
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy --strict $(CORE_PACKAGES)
	$(VENV)/bin/mypy custom_components/automationone

# pytest exits 5 when it collects nothing; that is not a failure here. Each suite prints
# `ha-suite: version=.. python=.. passed=N failed=0 deprecations=0` (tests/conftest.py).
# On HA 2025.4 the suite measures the integration's line coverage, fails under 95 % and prints
# `coverage: automationone=NN%` (rounded down, as the check counts; a targeted run:
# `make pytest PYTEST_ARGS=tests/x.py PYTEST_COV=`). sys.monitoring (Python >= 3.12) keeps the
# tracing cost low: with the classic tracer the predictions' fits ran ~15x slower and timed out.
PYTEST_COV ?= --cov=custom_components/automationone --cov-report= --cov-fail-under=95
pytest: venv deps
	@rc=0; COVERAGE_CORE=sysmon HA_SUITE=1 $(PY) -m pytest $(PYTEST_COV) $(PYTEST_ARGS) || rc=$$?; [ $$rc -eq 5 ] && rc=0; \
	  if [ -n "$(PYTEST_COV)" ]; then total=$$($(PY) -m coverage report --format=total --precision=2); \
	    echo "coverage: automationone=$${total%.*}%"; fi; \
	  exit $$rc

# The same suite on the newest HA pytest-homeassistant-custom-component pins (Python 3.14, in a
# cached Debian unstable chroot: scripts/current_ha.sh), once on a monotonic clock that started
# 5 minutes ago (a Linux time namespace): tests must not depend on the machine's uptime.
# virtual-esp is built on the host (the chroot has no compiler).
DEBIAN_PACKAGES += debootstrap util-linux
CURRENT_HA := scripts/current_ha.sh
pytest-current: deps firmware-virtual-esp
	@$(CURRENT_HA) build
	@rc=0; HA_SUITE=1 $(CURRENT_HA) run --monotonic 300 /opt/ha/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) || rc=$$?; \
	  [ $$rc -eq 5 ] && rc=0; exit $$rc

# libturbojpeg0: HA's camera helpers (imported by the MQTT integration) log an error without it.
DEMO_DEBIAN_PACKAGES := libturbojpeg0
# HA 2026.10.4 (what a new user runs) by default, in the chroot of scripts/current_ha.sh with
# its frontend; DEMO_ARGS=--ha=minimum runs HA 2025.4.4 from .venv.
demo: deps venv $(VENV)/.stamp-demo
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(DEMO_DEBIAN_PACKAGES)"
	@$(CURRENT_HA) demo-deps
	$(PY) -m demo $(DEMO_ARGS)

# The real Home Assistant process needs the frontend too (requirements_demo.txt).
$(VENV)/.stamp-demo: requirements_demo.txt requirements_test.txt $(VENV)/.stamp-requirements
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements_demo.txt
	touch $@

# Home Assistant's real frontend in headless Chromium (Debian chromium + npm playwright-core,
# installed when missing) against a real HA 2026.10.4 with the integration, Mosquitto and a
# simulated device: demo/ui_test.py. UI_TEST_ARGS=--ha=minimum runs it on HA 2025.4.4 (.venv).
UI_TEST_ARGS :=
ui-test: deps venv $(if $(findstring minimum,$(UI_TEST_ARGS)),$(VENV)/.stamp-demo)
	@$(CURRENT_HA) demo-deps
	$(PY) -m demo.ui_test $(UI_TEST_ARGS)

# Benchmarks print figures; they never gate CI. They run on the Home Assistant users run today
# (the chroot of scripts/current_ha.sh: HA 2026.10.4, Python 3.14); BENCH_HA=minimum runs them
# on HA 2025.4.4 (.venv). The fault soak's 1,000 faults take hours.
BENCH_HA := current
bench: deps venv firmware-virtual-esp
	@shopt -s nullglob; export PYTHONPATH=$(CURDIR); \
	  if [ "$(BENCH_HA)" = minimum ]; then run() { $(PY) "$$@"; }; \
	  else $(CURRENT_HA) bench-deps; run() { $(CURRENT_HA) run "PYTHONPATH=$(CURDIR) /opt/ha/bin/python $$*"; }; fi; \
	  echo "benchmarks on Home Assistant $$(run -m homeassistant --version), $$(run --version)"; \
	  for b in bench/bench_*.py; do echo "== $$b"; run $$b; done

# A short fault-injection soak: Mosquitto, a Home Assistant process and virtual-esp devices
# (`make bench` runs 1,000 faults); fails unless every figure is 0.
.PHONY: fault-soak
fault-soak: deps venv firmware-virtual-esp
	PYTHONPATH=$(CURDIR) $(PY) bench/bench_fault_soak.py --faults 10 --quick
