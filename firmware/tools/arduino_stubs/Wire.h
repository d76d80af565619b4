#pragma once
#include "Arduino.h"
class TwoWire {
 public:
  bool begin(int sda, int scl, uint32_t frequency = 0);
  bool end();
  void beginTransmission(uint16_t address);
  size_t write(const uint8_t *data, size_t quantity);
  uint8_t endTransmission();
  uint8_t requestFrom(uint16_t address, uint8_t size);
  int read();
};
extern TwoWire Wire;
