// Board pin tables, generated from custom_components/automationone/gpio/boards.json.
#pragma once

#include <stdint.h>

namespace a1 {

enum PinFlags : uint16_t {
  kPinInput = 1,
  kPinOutput = 2,
  kPinInputOnly = 4,
  kPinStrapping = 8,
  kPinPwm = 16,
  kPinOneWire = 32,
  kPinI2c = 64,
};
enum PinReserved : uint8_t { kResNone, kResFlash, kResPsram, kResUsb, kResUart0 };

struct PinInfo {
  uint8_t gpio;
  uint16_t flags;
  int8_t adc1;  // channel or -1
  int8_t adc2;
  int8_t touch;
  PinReserved reserved;
  // Strapping pins: the level (0/1) that, held at reset, stops the board from booting; -1 none.
  // Outputs are refused on such pins, and pulled-up buses (OneWire, I2C) where it is 1.
  int8_t boot_fail_level;
};

struct BoardInfo {
  const char *name;
  const char *chip;
  const PinInfo *pins;
  uint8_t pin_count;
  uint8_t pwm_channels;
  bool adc2_with_wifi;
};

const BoardInfo *find_board(const char *name);
const PinInfo *find_pin(const BoardInfo &board, int gpio);
int board_count();
const BoardInfo &board_at(int i);

}  // namespace a1
