# Firmware checks, included by the top Makefile (run from the repository root).
# Also usable alone: make -f firmware/firmware.mk firmware-test
# Leave the includer's default goal alone (this file is included before `test:` is defined).
FW_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
FW_DIR := firmware
FW_BUILD := $(FW_DIR)/build
FW_CORE := $(FW_DIR)/lib/automationone_core/src
FW_JOBS ?= 2
# Cortex-M4 stands in for the ESP32's 32-bit cores: Debian's arm-none-eabi-g++ has the C++
# headers (picolibc); xtensa/riscv toolchains with C++ are not installable here.
FW_ARM_FLAGS := -mcpu=cortex-m4 -mthumb -Os -fno-exceptions -fno-rtti -std=c++17 --specs=picolibc.specs \
	-ffunction-sections -fdata-sections -Wall -Wextra -Werror -Wno-missing-field-initializers

# A 1 MB flash / 320 KB RAM memory map for picolibc's linker script.
FW_ARM_LINK := -Wl,--gc-sections -Wl,--defsym=__flash=0x08000000 -Wl,--defsym=__flash_size=0x100000 \
	-Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x50000 -Wl,--defsym=__stack_size=0x2000

DEBIAN_PACKAGES += cmake g++ make python3 libmosquitto-dev libcjson-dev doctest-dev mosquitto \
	gcc-arm-none-eabi binutils-arm-none-eabi libstdc++-arm-none-eabi-picolibc picolibc-arm-none-eabi
EXTRA_TESTS += firmware-test

.PHONY: firmware-build firmware-test firmware-size firmware-arduino-stubs firmware-virtual-esp

$(FW_BUILD)/Makefile: $(FW_DIR)/CMakeLists.txt
	cmake -S $(FW_DIR) -B $(FW_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

firmware-build: $(FW_BUILD)/Makefile
	cmake --build $(FW_BUILD) -j$(FW_JOBS)

# Only the virtual device (what tests/core/test_virtual_esp.py needs).
firmware-virtual-esp: $(FW_BUILD)/Makefile
	cmake --build $(FW_BUILD) -j$(FW_JOBS) --target virtual-esp

# Host unit tests (protocol + safety vectors, device), the allocation test, the embedded size.
firmware-test: firmware-build firmware-size firmware-arduino-stubs
	cd $(FW_BUILD) && ctest --output-on-failure
	@$(FW_BUILD)/alloc_test | grep '^steady-state-allocs:'
	@cat $(FW_BUILD)/arm/size.txt

# The portable core (not the Arduino HAL) for a 32-bit MCU: objects, a linked image that keeps
# what a device main() reaches (arm_main.cpp: setup, config intake, loop), and its size.
FW_CORE_SRCS := $(wildcard $(FW_CORE)/a1/*.cpp)
firmware-size: firmware-build
	@mkdir -p $(FW_BUILD)/arm
	@set -e; objs=""; for src in $(FW_CORE_SRCS); do \
	  obj=$(FW_BUILD)/arm/$$(basename $$src .cpp).o; \
	  arm-none-eabi-g++ $(FW_ARM_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $$src -o $$obj; \
	  objs="$$objs $$obj"; \
	done; \
	rm -f $(FW_BUILD)/arm/libcore.a; arm-none-eabi-ar rcs $(FW_BUILD)/arm/libcore.a $$objs; \
	arm-none-eabi-g++ $(FW_ARM_FLAGS) -I$(FW_CORE) -I$(FW_BUILD)/gen -c $(FW_DIR)/tools/arm_main.cpp -o $(FW_BUILD)/arm/arm_main.o; \
	arm-none-eabi-g++ $(FW_ARM_FLAGS) $(FW_ARM_LINK) $(FW_BUILD)/arm/arm_main.o \
	  $(FW_BUILD)/arm/libcore.a -lm -o $(FW_BUILD)/arm/core.elf; \
	arm-none-eabi-size $(FW_BUILD)/arm/core.elf | awk 'NR==2 {printf "firmware-size: text=%d data=%d bss=%d\n", $$1, $$2, $$3}' > $(FW_BUILD)/arm/size.txt

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
