# libFuzzer targets of the firmware core (JSON, protocol messages, config intake on the whole
# device), built with Debian's clang 14 and ASan + UBSan. Included by the top Makefile after
# firmware.mk. `make fuzz`: at least FUZZ_EXECS executions in total; `make test` runs
# fuzz-short (FUZZ_SHORT_S seconds in total). Seeds come from tests/vectors/ (seed_corpus.py);
# inputs the fuzzer finds go to $(FUZZ_BUILD)/corpus, crashes to $(FUZZ_BUILD)/artifacts.
FUZZ_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
FUZZ_DIR := $(FW_DIR)/fuzz
FUZZ_BUILD := $(FW_BUILD)/fuzz
FUZZ_CXX := clang++-14
FUZZ_FLAGS := -std=c++17 -g -O1 -fno-exceptions -fno-rtti -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := json protocol device
# Share of FUZZ_EXECS per target (json and protocol are cheap, the whole device is not).
FUZZ_EXECS ?= 10000000
FUZZ_SHORT_S ?= 60
FUZZ_SRCS := $(wildcard $(FW_CORE)/a1/*.cpp) $(FW_DIR)/posix/posix_hal.cpp $(FW_DIR)/posix/ota_posix.cpp

DEBIAN_PACKAGES += clang-14 libfuzzer-14-dev
EXTRA_TESTS += fuzz-short

.PHONY: fuzz fuzz-build fuzz-short

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_DIR)/fuzz_%.cpp $(FUZZ_SRCS) $(FW_BUILD)/Makefile
	cmake --build $(FW_BUILD) --target a1_generated >/dev/null
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -I$(FW_DIR)/posix $< $(FUZZ_SRCS) -o $@

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))
	@rm -rf $(FUZZ_BUILD)/seeds && python3 $(FUZZ_DIR)/seed_corpus.py . $(FUZZ_BUILD)/seeds

fuzz: fuzz-build
	@$(FUZZ_DIR)/run.sh $(FUZZ_BUILD) runs $(FUZZ_EXECS) $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	@$(FUZZ_DIR)/run.sh $(FUZZ_BUILD) seconds $(FUZZ_SHORT_S) $(FUZZ_TARGETS)

.DEFAULT_GOAL := $(FUZZ_SAVED_DEFAULT_GOAL)
