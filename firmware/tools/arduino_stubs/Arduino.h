// API stubs of the Arduino-ESP32 core for a host syntax/type check of firmware/src (not a
// replacement for a real build: signatures follow arduino-esp32 2.0.x / 3.x as documented).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <functional>

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x01
#define OUTPUT 0x03
#define INPUT_PULLUP 0x05
typedef bool boolean;
typedef uint8_t byte;

unsigned long millis();
void delay(uint32_t ms);
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
uint16_t analogRead(uint8_t pin);
void analogReadResolution(uint8_t bits);
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char *server1, const char *server2 = nullptr,
                const char *server3 = nullptr);
size_t strlcpy(char *dst, const char *src, size_t size);

#include "esp_arduino_version.h"
#if ESP_ARDUINO_VERSION_MAJOR >= 3
bool ledcAttachChannel(uint8_t pin, uint32_t freq, uint8_t resolution, uint8_t channel);
bool ledcWrite(uint8_t pin, uint32_t duty);
bool ledcDetach(uint8_t pin);
#else
uint32_t ledcSetup(uint8_t channel, uint32_t freq, uint8_t resolution_bits);
void ledcAttachPin(uint8_t pin, uint8_t channel);
void ledcWrite(uint8_t channel, uint32_t duty);
void ledcDetachPin(uint8_t pin);
#endif

class String {
 public:
  String(const char *s = "");
  const char *c_str() const;
};

class Print {
 public:
  size_t print(const char *s);
  size_t println(const char *s = "");
  size_t printf(const char *format, ...) __attribute__((format(printf, 2, 3)));
};
class HardwareSerial : public Print {
 public:
  void begin(unsigned long baud);
  void flush();
};
extern HardwareSerial Serial;

class EspClass {
 public:
  uint32_t getFreeHeap();
  uint32_t getMinFreeHeap();
  void restart();
};
extern EspClass ESP;
