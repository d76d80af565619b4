# Firmware checks, included by the top Makefile (run from the repository root).
# Also usable alone: make -f firmware/firmware.mk firmware-test
# Leave the includer's default goal alone (this file is included before `test:` is defined).
FW_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
FW_DIR := firmware
FW_BUILD := $(FW_DIR)/build
FW_CORE := $(FW_DIR)/lib/automationone_core/src
FW_JOBS ?= 2
# Cortex-M4 stands in for the ESP32's Xtensa cores (no Xtensa toolchain is installable here) and
# rv32imc is the ESP32-C3's own ISA. Both use Debian's cross compilers with picolibc.
FW_MCU_WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
FW_MCU_CXX := -Os -fno-exceptions -fno-rtti -std=c++17 --specs=picolibc.specs -ffunction-sections -fdata-sections
FW_ARM_FLAGS := -mcpu=cortex-m4 -mthumb $(FW_MCU_CXX) $(FW_MCU_WARN)
# rv32imc links against picolibc's rv32im multilib (the C extension only shortens our code).
FW_RV32_FLAGS := -march=rv32imc -mabi=ilp32 $(FW_MCU_CXX) $(FW_MCU_WARN)
FW_RV32_CXX := riscv64-unknown-elf-g++

# A 1 MB flash / 320 KB RAM memory map for picolibc's linker script, 8 KB of stack. The script
# reads __stack_size with DEFINED() at the point it is included, so the --defsym options must
# come before it: `-T picolibc.ld` is given explicitly after them (the specs would put it first
# and the stack would silently stay 2 KB).
FW_MCU_LINK := -Wl,--gc-sections -Wl,--defsym=__flash=0x08000000 -Wl,--defsym=__flash_size=0x100000 \
	-Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x50000 -Wl,--defsym=__stack_size=0x2000 -Tpicolibc.ld
FW_ARM_LINK := $(FW_MCU_LINK)

# Section sizes of the core's image, without the linker's .stack reservation (NOLOAD, which
# `size` would count as bss): text = code and constants in flash, data, bss.
FW_SIZE_AWK = awk -v label=$(1) 'NR > 2 && $$1 !~ /^\.(debug|comment|stack|ARM\.attributes|riscv\.attributes)/ && $$1 != "Total" && NF >= 2 \
	{ if ($$1 ~ /^\.t?bss/) b += $$2; else if ($$1 ~ /^\.t?data/) d += $$2; else t += $$2 } \
	END { printf "%s: text=%d data=%d bss=%d\n", label, t, d, b }'

# The emulated Cortex-M4 for the doctest suite: 4 MB of code at 0, 16 MB of RAM at 0x21000000
# with a 4 MB stack (the tests keep MQTT fakes of a few hundred KB on the stack), semihosting for
# stdout, files (the vector files) and exit.
FW_QEMU_BUILD := $(FW_BUILD)/qemu
FW_QEMU_DEFS := -DDOCTEST_CONFIG_NO_POSIX_SIGNALS -DDOCTEST_CONFIG_NO_MULTITHREADING -DDOCTEST_CONFIG_COLORS_NONE \
	-DA1_REPO_ROOT=\"$(CURDIR)\"
FW_QEMU_CXX := -mcpu=cortex-m4 -mthumb -Os -std=gnu++17 --specs=picolibcpp.specs -ffunction-sections -fdata-sections -Wno-psabi
FW_QEMU_INC := -I$(FW_DIR)/tools/qemu -I$(FW_QEMU_BUILD)/inc -I$(FW_CORE) -I$(FW_BUILD)/gen -I$(FW_DIR)/posix
FW_QEMU_LINK := -Wl,--gc-sections -Wl,--defsym=__flash=0x0 -Wl,--defsym=__flash_size=0x400000 \
	-Wl,--defsym=__ram=0x21000000 -Wl,--defsym=__ram_size=0x1000000 -Wl,--defsym=__stack_size=0x400000 \
	--oslib=semihost --crt0=semihost
FW_QEMU_RUN := qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
	-semihosting-config enable=on,target=native -kernel

DEBIAN_PACKAGES += cmake g++ make python3 libmosquitto-dev libcjson-dev doctest-dev mosquitto \
	gcc-arm-none-eabi binutils-arm-none-eabi libstdc++-arm-none-eabi-picolibc picolibc-arm-none-eabi \
	gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-arm nlohmann-json3-dev
EXTRA_TESTS += firmware-test

.PHONY: firmware-build firmware-test firmware-size firmware-size-rv32 firmware-qemu firmware-stack \
	firmware-boot firmware-arduino-stubs firmware-virtual-esp

$(FW_BUILD)/Makefile: $(FW_DIR)/CMakeLists.txt
	cmake -S $(FW_DIR) -B $(FW_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

firmware-build: $(FW_BUILD)/Makefile
	cmake --build $(FW_BUILD) -j$(FW_JOBS)

# Only the virtual device (what tests/core/test_virtual_esp.py needs).
firmware-virtual-esp: $(FW_BUILD)/Makefile
	cmake --build $(FW_BUILD) -j$(FW_JOBS) --target virtual-esp

# Host unit tests (protocol + safety vectors, device, boot), the allocation test, the boot
# timing, the sizes for both ISAs, the doctest suite and the stack figures on the emulated
# Cortex-M4.
firmware-test: firmware-build firmware-size firmware-size-rv32 firmware-arduino-stubs firmware-qemu firmware-stack
	cd $(FW_BUILD) && ctest --output-on-failure
	@$(FW_BUILD)/alloc_test | grep '^steady-state-allocs:'
	@$(FW_BUILD)/boot_timing
	@cat $(FW_BUILD)/arm/size.txt $(FW_BUILD)/rv32/size.txt
	@cat $(FW_QEMU_BUILD)/result.txt $(FW_QEMU_BUILD)/stack.txt

firmware-boot: firmware-build
	@$(FW_BUILD)/boot_timing

FW_CORE_SRCS := $(wildcard $(FW_CORE)/a1/*.cpp)
FW_CORE_HDRS := $(wildcard $(FW_CORE)/a1/*.h)
FW_TOOL_HDRS := $(FW_DIR)/tools/stub_hal.h $(FW_DIR)/tools/full_config.h
FW_GEN := $(FW_BUILD)/gen/a1/generated/schema_tables.inc

# The portable core (not the Arduino HAL) for a 32-bit MCU: objects, a linked image that keeps
# what a device main() reaches (tools/mcu_main.cpp: boot, config intake, loop), its size.
# Linked with the C driver: the core needs no C++ runtime library (Debian's rv32 has none).
FW_CORE_NAMES := $(notdir $(FW_CORE_SRCS:.cpp=.o))
FW_ARM_OBJS := $(addprefix $(FW_BUILD)/arm/,$(FW_CORE_NAMES))
FW_RV32_OBJS := $(addprefix $(FW_BUILD)/rv32/,$(FW_CORE_NAMES))

$(FW_BUILD)/arm/%.o: $(FW_CORE)/a1/%.cpp $(FW_CORE_HDRS) $(FW_GEN)
	@mkdir -p $(dir $@)
	@arm-none-eabi-g++ $(FW_ARM_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $< -o $@
$(FW_BUILD)/arm/%.o: $(FW_DIR)/tools/%.cpp $(FW_CORE_HDRS) $(FW_TOOL_HDRS) $(FW_GEN)
	@mkdir -p $(dir $@)
	@arm-none-eabi-g++ $(FW_ARM_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $< -o $@
$(FW_BUILD)/rv32/%.o: $(FW_CORE)/a1/%.cpp $(FW_CORE_HDRS) $(FW_GEN)
	@mkdir -p $(dir $@)
	@$(FW_RV32_CXX) $(FW_RV32_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $< -o $@
$(FW_BUILD)/rv32/%.o: $(FW_DIR)/tools/%.cpp $(FW_CORE_HDRS) $(FW_TOOL_HDRS) $(FW_GEN)
	@mkdir -p $(dir $@)
	@$(FW_RV32_CXX) $(FW_RV32_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $< -o $@

$(FW_BUILD)/arm/core.elf: $(FW_BUILD)/arm/mcu_main.o $(FW_ARM_OBJS)
	@rm -f $(@D)/libcore.a && arm-none-eabi-ar rcs $(@D)/libcore.a $(FW_ARM_OBJS)
	@arm-none-eabi-gcc $(FW_ARM_FLAGS) $(FW_MCU_LINK) $< $(@D)/libcore.a -lm -o $@
$(FW_BUILD)/rv32/core.elf: $(FW_BUILD)/rv32/mcu_main.o $(FW_RV32_OBJS)
	@rm -f $(@D)/libcore.a && riscv64-unknown-elf-ar rcs $(@D)/libcore.a $(FW_RV32_OBJS)
	@riscv64-unknown-elf-gcc $(FW_RV32_FLAGS) $(FW_MCU_LINK) $< $(@D)/libcore.a -lm -o $@

firmware-size: firmware-build
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -j$(FW_JOBS) $(FW_BUILD)/arm/core.elf
	@arm-none-eabi-size -A $(FW_BUILD)/arm/core.elf | $(call FW_SIZE_AWK,firmware-size) > $(FW_BUILD)/arm/size.txt

firmware-size-rv32: firmware-build
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -j$(FW_JOBS) $(FW_BUILD)/rv32/core.elf
	@riscv64-unknown-elf-size -A $(FW_BUILD)/rv32/core.elf | $(call FW_SIZE_AWK,firmware-size-rv32imc) > $(FW_BUILD)/rv32/size.txt

# The core's doctest suite (every tests/test_*.cpp but the host-only allocation test) on qemu's
# mps2-an386 (Cortex-M4). The core is compiled as on the device (no exceptions, no RTTI); the
# tests may throw. cJSON comes from a small stand-in (tools/qemu/cjson) on nlohmann-json.
FW_QEMU_TESTS := $(filter-out %/test_alloc.cpp,$(wildcard $(FW_DIR)/tests/test_*.cpp)) $(FW_DIR)/posix/posix_hal.cpp \
	$(FW_DIR)/posix/ota_posix.cpp
FW_QEMU_CORE_OBJS := $(patsubst $(FW_CORE)/a1/%.cpp,$(FW_QEMU_BUILD)/core/%.o,$(FW_CORE_SRCS))
FW_QEMU_TEST_OBJS := $(patsubst %.cpp,$(FW_QEMU_BUILD)/tests/%.o,$(notdir $(FW_QEMU_TESTS)))
FW_QEMU_TEST_HDRS := $(wildcard $(FW_DIR)/tests/*.h $(FW_DIR)/posix/*.h) $(FW_DIR)/tools/qemu/cjson/cJSON.h

$(FW_QEMU_BUILD)/inc/.stamp:
	@mkdir -p $(FW_QEMU_BUILD)/inc
	@ln -sfn /usr/include/nlohmann $(FW_QEMU_BUILD)/inc/nlohmann
	@ln -sfn /usr/include/doctest $(FW_QEMU_BUILD)/inc/doctest
	@touch $@

$(FW_QEMU_BUILD)/core/%.o: $(FW_CORE)/a1/%.cpp $(FW_CORE_HDRS) $(FW_GEN)
	@mkdir -p $(dir $@)
	@echo "arm-none-eabi-g++ (qemu) $<"
	@arm-none-eabi-g++ $(FW_QEMU_CXX) -fno-exceptions -fno-rtti $(FW_MCU_WARN) $(FW_QEMU_INC) -c $< -o $@

$(FW_QEMU_BUILD)/tests/%.o: $(FW_DIR)/tests/%.cpp $(FW_CORE_HDRS) $(FW_QEMU_TEST_HDRS) $(FW_GEN) $(FW_QEMU_BUILD)/inc/.stamp
	@mkdir -p $(dir $@)
	@echo "arm-none-eabi-g++ (qemu) $<"
	@arm-none-eabi-g++ $(FW_QEMU_CXX) $(FW_QEMU_DEFS) $(FW_QEMU_INC) -c $< -o $@

$(FW_QEMU_BUILD)/tests/%.o: $(FW_DIR)/posix/%.cpp $(FW_CORE_HDRS) $(FW_QEMU_TEST_HDRS) $(FW_GEN) $(FW_QEMU_BUILD)/inc/.stamp
	@mkdir -p $(dir $@)
	@echo "arm-none-eabi-g++ (qemu) $<"
	@arm-none-eabi-g++ $(FW_QEMU_CXX) $(FW_QEMU_DEFS) $(FW_QEMU_INC) -c $< -o $@

$(FW_QEMU_BUILD)/core_tests.elf: $(FW_QEMU_CORE_OBJS) $(FW_QEMU_TEST_OBJS)
	@arm-none-eabi-g++ $(FW_QEMU_CXX) $(FW_QEMU_LINK) -Tpicolibcpp.ld $^ -lm -o $@

# Prints doctest's summary and `firmware-qemu: passed=N failed=M` (assertions); fails on any failure.
firmware-qemu: firmware-build
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -j$(FW_JOBS) $(FW_QEMU_BUILD)/core_tests.elf
	@set -e; out=$(FW_QEMU_BUILD)/core_tests.log; rc=0; \
	timeout 600 $(FW_QEMU_RUN) $(FW_QEMU_BUILD)/core_tests.elf > $$out 2>&1 || rc=$$?; \
	line=$$(grep '^\[doctest\] assertions:' $$out | tail -1); \
	passed=$$(echo "$$line" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p'); \
	failed=$$(echo "$$line" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p'); \
	echo "firmware-qemu: passed=$${passed:-0} failed=$${failed:-?}" > $(FW_QEMU_BUILD)/result.txt; \
	if [ $$rc -ne 0 ] || [ "$${failed:-1}" != 0 ] || [ "$${passed:-0}" = 0 ]; then \
	  cat $$out; cat $(FW_QEMU_BUILD)/result.txt; exit 1; fi

# The core's stack high-water on the emulated Cortex-M4 (tools/stack_usage.cpp), built like the
# size image (no exceptions, 8 KB stack) with semihosting for the output.
$(FW_QEMU_BUILD)/stack_usage.elf: $(FW_QEMU_CORE_OBJS) $(FW_DIR)/tools/stack_usage.cpp $(FW_CORE_HDRS) $(FW_TOOL_HDRS)
	@arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb $(FW_MCU_CXX) $(FW_MCU_WARN) -I$(FW_CORE) -I$(FW_BUILD)/gen -I$(FW_DIR)/tools \
	  -Wl,--gc-sections -Wl,--defsym=__flash=0x0 -Wl,--defsym=__flash_size=0x400000 -Wl,--defsym=__ram=0x20000000 \
	  -Wl,--defsym=__ram_size=0x400000 -Wl,--defsym=__stack_size=0x2000 --oslib=semihost --crt0=semihost -Tpicolibc.ld \
	  $(FW_DIR)/tools/stack_usage.cpp $(FW_QEMU_CORE_OBJS) -lm -o $@

firmware-stack: firmware-build
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -j$(FW_JOBS) $(FW_QEMU_BUILD)/stack_usage.elf
	@timeout 120 $(FW_QEMU_RUN) $(FW_QEMU_BUILD)/stack_usage.elf > $(FW_QEMU_BUILD)/stack.txt 2>&1 || { cat $(FW_QEMU_BUILD)/stack.txt; exit 1; }
	@grep -q '^firmware-stack: ' $(FW_QEMU_BUILD)/stack.txt || { cat $(FW_QEMU_BUILD)/stack.txt; exit 1; }

# The Arduino part (src/) cannot be built here (no ESP32 toolchain). This type-checks it against
# API stubs of arduino-esp32 2.x and 3.x and its libraries (tools/arduino_stubs/): it catches
# mistakes in our code, not differences between the stubs and the real libraries.
firmware-arduino-stubs: firmware-build
	@for v in 2 3; do \
	  for src in $(FW_DIR)/src/*.cpp; do \
	    g++ -std=gnu++17 -fsyntax-only -Wall -Wextra -Werror -DESP_ARDUINO_VERSION_MAJOR=$$v -DA1_LED=2 \
	      -DA1_CONFIG_BUTTON=0 -I$(FW_DIR)/tools/arduino_stubs -I$(FW_DIR)/src -I$(FW_CORE) -I$(FW_BUILD)/gen $$src; \
	  done; \
	done; echo "arduino HAL type-checks against API stubs (arduino-esp32 2.x, 3.x)"

.DEFAULT_GOAL := $(FW_SAVED_DEFAULT_GOAL)
