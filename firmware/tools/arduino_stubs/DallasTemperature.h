#pragma once
#include "OneWire.h"
typedef uint8_t DeviceAddress[8];
class DallasTemperature {
 public:
  DallasTemperature(OneWire *wire);
  void begin();
  uint8_t getDeviceCount();
  bool getAddress(uint8_t *address, uint8_t index);
};
