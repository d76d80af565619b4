# ESPHome part (esphome_configs/): included by the top Makefile.
#   make esphome-test   validate every device YAML with `esphome config`, check that the
#                       component's copy of the firmware's C++ core (a1_*, with the schema
#                       tables) is identical to firmware/lib/automationone_core (the core itself
#                       runs the protocol and safety vectors in firmware-test), and build ESPHome's generated host sources
#                       (`esphome compile --only-generate tests/host_test.yaml`) with g++ plus a
#                       driver that tests the component inside ESPHome.
# esphome gets its own venv (pinned, Python 3.13): its dependencies clash with Home Assistant's.

ESPHOME_DIR := esphome_configs
ESPHOME_VERSION := 2026.10.0
ESPHOME_VENV := $(ESPHOME_DIR)/.venv
ESPHOME_STAMP := $(ESPHOME_VENV)/.stamp-esphome-$(ESPHOME_VERSION)
ESPHOME_BIN := $(ESPHOME_VENV)/bin/esphome
ESPHOME_BUILD := $(ESPHOME_DIR)/build
ESPHOME_YAMLS := $(filter-out %/secrets.yaml,$(wildcard $(ESPHOME_DIR)/*.yaml))
ESPHOME_PACKAGES := $(wildcard $(ESPHOME_DIR)/common/*.yaml)
ESPHOME_COMPONENT := $(wildcard $(ESPHOME_DIR)/components/automationone/*.py $(ESPHOME_DIR)/components/automationone/*.h $(ESPHOME_DIR)/components/automationone/*.cpp)
ESPHOME_TESTS := $(wildcard $(ESPHOME_DIR)/tests/*.h $(ESPHOME_DIR)/tests/*.cpp $(ESPHOME_DIR)/tests/*.yaml)
ESPHOME_INVALID := $(filter-out %/base.yaml,$(wildcard $(ESPHOME_DIR)/tests/invalid/*.yaml))
ESPHOME_HOST_GEN := $(ESPHOME_DIR)/tests/.esphome/build/ao-host-test
ESPHOME_VECTORS := tests/vectors
ESPHOME_JOBS ?= 2

EXTRA_TESTS += esphome-test
DEBIAN_PACKAGES += g++ ninja-build libcjson-dev

.PHONY: esphome-test esphome-test-locked esphome-venv esphome-core-copy esphome-validate esphome-host-test

# Several people run `make test` in the same tree: one esphome-test at a time (the build dirs,
# the generated host tree and the preferences file of the host test are shared).
ESPHOME_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
esphome-test:
	@mkdir -p $(ESPHOME_BUILD)
	flock $(ESPHOME_BUILD)/.lock $(MAKE) --no-print-directory -f $(ESPHOME_TOP_MAKEFILE) esphome-test-locked

esphome-test-locked: esphome-core-copy esphome-validate esphome-host-test

esphome-venv: $(ESPHOME_STAMP)

$(ESPHOME_STAMP):
	@if [ ! -x $(ESPHOME_VENV)/bin/python ]; then \
	  py=""; \
	  if command -v pyenv >/dev/null && [ -x "$$(pyenv root)/versions/3.13.0/bin/python" ]; then py="$$(pyenv root)/versions/3.13.0/bin/python"; \
	  elif PYENV_VERSION=3.13.0 python3.13 -c '' 2>/dev/null; then py="$$(PYENV_VERSION=3.13.0 python3.13 -c 'import sys; print(sys.executable)')"; \
	  else echo "Python 3.13 not found (pyenv 3.13.0 or python3.13 on PATH)"; exit 1; fi; \
	  "$$py" -m venv $(ESPHOME_VENV); \
	fi
	$(ESPHOME_VENV)/bin/python -m pip install -q --disable-pip-version-check uv
	$(ESPHOME_VENV)/bin/uv pip install -q --python $(ESPHOME_VENV)/bin/python esphome==$(ESPHOME_VERSION)
	rm -f $(ESPHOME_VENV)/.stamp-esphome-*
	touch $@

# ESPHome's external_components loader copies only a component folder's top-level files: the
# component carries a flat copy of the firmware core (tools/sync_core.py writes it, with the
# schema tables generated from the JSON Schemas). Fails when the copy differs from the core.
esphome-core-copy:
	python3 $(ESPHOME_DIR)/tools/sync_core.py --check

# `esphome config` on a copy of the YAMLs with secrets.yaml.example as secrets.yaml.
esphome-validate: $(ESPHOME_BUILD)/.stamp-validate

# Every device YAML must validate without esphome's strapping-pin warning (a pin that decides
# the boot mode must stay free). Then every tests/invalid/*.yaml must be refused with the message in its `# expect:` line.
$(ESPHOME_BUILD)/.stamp-validate: $(ESPHOME_STAMP) $(ESPHOME_YAMLS) $(ESPHOME_PACKAGES) $(ESPHOME_COMPONENT) $(ESPHOME_DIR)/secrets.yaml.example $(wildcard $(ESPHOME_DIR)/tests/invalid/*.yaml)
	rm -rf $(ESPHOME_BUILD)/validate
	mkdir -p $(ESPHOME_BUILD)/validate
	cp -r $(ESPHOME_YAMLS) $(ESPHOME_DIR)/common $(ESPHOME_DIR)/components $(ESPHOME_BUILD)/validate/
	cp $(ESPHOME_DIR)/secrets.yaml.example $(ESPHOME_BUILD)/validate/secrets.yaml
	@for y in $(notdir $(ESPHOME_YAMLS)); do \
	  echo "esphome config $$y"; \
	  (cd $(ESPHOME_BUILD)/validate && ../../.venv/bin/esphome config $$y > $$y.log 2>&1) \
	    || { cat $(ESPHOME_BUILD)/validate/$$y.log; exit 1; }; \
	  if grep -q "is a strapping pin" $(ESPHOME_BUILD)/validate/$$y.log; then \
	    grep "is a strapping pin" $(ESPHOME_BUILD)/validate/$$y.log; echo "$$y: a strapping pin is used (see boards.json)"; exit 1; \
	  fi; \
	  echo "esphome compile --only-generate $$y (code generation for the board; no toolchain)"; \
	  (cd $(ESPHOME_BUILD)/validate && ../../.venv/bin/esphome compile --only-generate $$y > $$y.gen.log 2>&1) \
	    || { cat $(ESPHOME_BUILD)/validate/$$y.gen.log; exit 1; }; \
	done
	@for y in $(ESPHOME_INVALID); do \
	  want="$$(sed -n 's/^# expect: //p' $$y)"; \
	  echo "esphome config $$y (must fail: $$want)"; \
	  if $(ESPHOME_BIN) config $$y > $(ESPHOME_BUILD)/invalid.log 2>&1; then echo "accepted: $$y"; exit 1; fi; \
	  grep -qF "$$want" $(ESPHOME_BUILD)/invalid.log || { cat $(ESPHOME_BUILD)/invalid.log; exit 1; }; \
	done
	touch $@

# ESPHome's generated host sources + the test driver, built with g++ through a small ninja file.
# First a syntax check of the component's board-only code (USE_MQTT, USE_WIFI) against ESPHome's
# own mqtt_client.h and wifi_component.h, with ArduinoJson and lwIP stubbed (tests/stubs).
esphome-host-test: $(ESPHOME_HOST_GEN)/.stamp-generated
	g++ -std=gnu++20 -fsyntax-only -Wall -DUSE_HOST -DUSE_MQTT -DUSE_WIFI -DESPHOME_LOG_LEVEL=ESPHOME_LOG_LEVEL_DEBUG \
	  -fno-exceptions -I$(ESPHOME_DIR)/tests/stubs -I$(ESPHOME_HOST_GEN)/src \
	  -I"$$($(ESPHOME_VENV)/bin/python -c 'import esphome, os; print(os.path.dirname(os.path.dirname(esphome.__file__)))')" \
	  -include esphome/components/mqtt/mqtt_backend.h $(ESPHOME_HOST_GEN)/src/esphome/components/automationone/automationone.cpp
	$(ESPHOME_VENV)/bin/python $(ESPHOME_DIR)/tools/host_ninja.py $(ESPHOME_HOST_GEN) $(ESPHOME_BUILD)/host $(ESPHOME_DIR)/tests
	ninja -C $(ESPHOME_BUILD)/host -j $(ESPHOME_JOBS) --quiet
	rm -rf $(ESPHOME_BUILD)/host/prefs
	ESPHOME_PREFDIR=$(abspath $(ESPHOME_BUILD)/host/prefs) $(ESPHOME_BUILD)/host/test_host $(ESPHOME_VECTORS) > $(ESPHOME_BUILD)/host/test.log 2>&1 \
	  || { cat $(ESPHOME_BUILD)/host/test.log; exit 1; }
	grep -v '^\[' $(ESPHOME_BUILD)/host/test.log | grep -E '^(FAIL|topic|payload|builder|safety|component|host)'
	ESPHOME_PREFDIR=$(abspath $(ESPHOME_BUILD)/host/prefs) $(ESPHOME_BUILD)/host/test_host $(ESPHOME_VECTORS) --after-reboot > $(ESPHOME_BUILD)/host/reboot.log 2>&1 \
	  || { cat $(ESPHOME_BUILD)/host/reboot.log; exit 1; }
	grep -E '^(FAIL|host)' $(ESPHOME_BUILD)/host/reboot.log

$(ESPHOME_HOST_GEN)/.stamp-generated: $(ESPHOME_STAMP) $(ESPHOME_COMPONENT) $(ESPHOME_TESTS)
	mkdir -p $(ESPHOME_BUILD)
	cd $(ESPHOME_DIR) && .venv/bin/esphome compile --only-generate tests/host_test.yaml > build/generate.log 2>&1 \
	  || { cat build/generate.log; exit 1; }
	touch $@
