#pragma once
// API stub of arduino-esp32's Update library (UpdateClass, 2.x and 3.x).
#include "Arduino.h"
#define UPDATE_SIZE_UNKNOWN 0xFFFFFFFF
#define UPDATE_ERROR_SIZE (4)
class UpdateClass {
 public:
  bool begin(size_t size = UPDATE_SIZE_UNKNOWN, int command = 0, int ledPin = -1, uint8_t ledOn = 0,
             const char *label = nullptr);
  size_t write(uint8_t *data, size_t len);
  bool end(bool evenIfRemaining = false);
  void abort();
  uint8_t getError();
  const char *errorString();
};
extern UpdateClass Update;
