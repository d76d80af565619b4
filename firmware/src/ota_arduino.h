// Firmware updates on the ESP32 (arduino-esp32 2.x/3.x): HTTPClient streams the image into the
// inactive OTA partition through Update; the core (a1/ota.h) checks size and SHA-256 and calls
// finish() only for a verified image, so a refused update leaves the running firmware bootable.
#pragma once

#include <HTTPClient.h>
#include <WiFiClientSecure.h>

#include "a1/ota.h"

namespace a1 {
namespace arduino {

class ArduinoFirmware : public FirmwareUpdater {
 public:
  OtaError open(const char *url, uint32_t &size) override;
  int read(uint8_t *buf, size_t cap) override;
  OtaError check_header(const uint8_t *head, size_t len, const char *board) override;
  OtaError begin(uint32_t size) override;
  bool write(const uint8_t *data, size_t len) override;
  bool finish() override;
  void abort() override;

 private:
  HTTPClient http_;
  WiFiClient plain_;
  WiFiClientSecure secure_;
  Stream *stream_ = nullptr;
  int64_t remaining_ = -1;  // body bytes still expected; -1: unknown (read until close)
  bool updating_ = false;
};

}  // namespace arduino
}  // namespace a1
