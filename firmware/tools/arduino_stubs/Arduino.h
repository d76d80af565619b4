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
// Macros the real Arduino.h defines, so clashes with our identifiers show up here too.
#define PI 3.1415926535897932384626433832795
#define DEC 10
#define HEX 16
#define BIN 2
#define bit(b) (1UL << (b))
#define lowByte(w) ((uint8_t)((w) & 0xff))
#define highByte(w) ((uint8_t)((w) >> 8))
#define word(...) makeWord(__VA_ARGS__)
#define constrain(amt, low, high) ((amt) < (low) ? (low) : ((amt) > (high) ? (high) : (amt)))
#define radians(deg) ((deg) * DEG_TO_RAD)
#define degrees(rad) ((rad) * RAD_TO_DEG)
#define sq(x) ((x) * (x))
#define _min(a, b) ((a) < (b) ? (a) : (b))
#define _max(a, b) ((a) > (b) ? (a) : (b))
#define B1 1
#define B10 2
#define B11 3
uint16_t makeWord(uint16_t w);
uint16_t makeWord(uint8_t h, uint8_t l);
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
  uint64_t getEfuseMac();
  void restart();
};
extern EspClass ESP;
