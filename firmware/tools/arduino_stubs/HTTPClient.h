#pragma once
// API stub of arduino-esp32's HTTPClient (2.x and 3.x have the same calls used here).
#include "WiFi.h"
// Arduino's Stream (Stream.h in the core); the real getStreamPtr() returns WiFiClient* (2.x)
// or NetworkClient* (3.x), both Streams.
class Stream {
 public:
  int available();
  size_t readBytes(uint8_t *buffer, size_t length);
};
class HTTPClient {
 public:
  bool begin(WiFiClient &client, const String &url);
  int GET();
  int getSize();
  bool connected();
  Stream *getStreamPtr();
  void setTimeout(uint16_t timeout);
  void end();
};
