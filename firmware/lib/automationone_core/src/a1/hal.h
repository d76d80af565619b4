// Hardware abstraction: everything the core needs from a board, as small interfaces.
// Implementations: firmware/src/arduino_hal.* (ESP32 Arduino) and firmware/posix/ (host).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

class FirmwareUpdater;  // a1/ota.h

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t millis() = 0;   // monotonic since boot
  virtual uint64_t unix_ms() = 0;  // wall clock, 0 while unknown (no SNTP yet)
};

enum class PinMode : uint8_t { kInput, kInputPullup, kOutput };

class Gpio {
 public:
  virtual ~Gpio() = default;
  virtual void mode(uint8_t pin, PinMode mode) = 0;
  virtual void write(uint8_t pin, bool level) = 0;
  virtual bool read(uint8_t pin) = 0;
};

class Adc {
 public:
  virtual ~Adc() = default;
  virtual int read(uint8_t pin) = 0;  // raw count (12 bit on ESP32), -1 on error
};

class Pwm {
 public:
  virtual ~Pwm() = default;
  virtual bool attach(uint8_t pin, uint8_t channel) = 0;
  virtual void write(uint8_t channel, uint8_t duty) = 0;  // 0-255
  virtual void detach(uint8_t pin) = 0;
};

// Byte-level 1-Wire master on one pin; the DS18B20 protocol lives in the core.
class OneWireBus {
 public:
  virtual ~OneWireBus() = default;
  virtual bool reset(uint8_t pin) = 0;  // true when a presence pulse answered
  virtual void write_byte(uint8_t pin, uint8_t value) = 0;
  virtual uint8_t read_byte(uint8_t pin) = 0;
};

class I2cBus {
 public:
  virtual ~I2cBus() = default;
  virtual bool begin(uint8_t sda, uint8_t scl) = 0;
  virtual bool write(uint8_t addr, const uint8_t *data, size_t len) = 0;  // false on NACK
  virtual bool read(uint8_t addr, uint8_t *data, size_t len) = 0;
};

// Non-volatile key/value blobs (NVS via Preferences on the ESP32).
class Storage {
 public:
  virtual ~Storage() = default;
  virtual bool load(const char *key, uint8_t *buf, size_t cap, size_t &len) = 0;
  virtual bool save(const char *key, const uint8_t *data, size_t len) = 0;
  virtual void erase_all() = 0;
};

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  virtual void on_message(const char *topic, const uint8_t *payload, size_t len) = 0;
};

struct Will {
  const char *topic;
  const char *payload;
  int qos;
  bool retain;
};

class MqttTransport {
 public:
  virtual ~MqttTransport() = default;
  void set_handler(MessageHandler *handler) { this->handler_ = handler; }
  // One connection attempt; TCP_NODELAY on the socket where possible. A transport whose connect
  // would block may run it in the background: return false and report connecting() until done.
  virtual bool connect(const char *client_id, const Will &will) = 0;
  virtual bool connecting() { return false; }
  virtual bool connected() = 0;
  virtual bool publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) = 0;
  virtual bool subscribe(const char *topic, int qos) = 0;
  virtual void loop() = 0;  // network work; delivers messages to the handler

  // Device logins (docs/protocol.md "Device login"). The login for the next connect():
  // username nullptr = the one the transport was set up with (portal, build, command line);
  // ca: PEM to verify the broker with TLS (nullptr or empty: as set up); port 0: as set up.
  // False: this transport cannot change its login (the device answers `unsupported`).
  virtual bool set_login(const char *username, const char *password, const char *ca, uint16_t port) {
    (void)username, (void)password, (void)ca, (void)port;
    return false;
  }
  virtual const char *username() { return nullptr; }  // of the login in use; nullptr: anonymous
  // Moving to another broker (docs/protocol.md): the broker for the next connect(). host
  // nullptr = the one set up; port 0 = the login's port if it has one, else the set-up port.
  // False: this transport cannot change its broker (the device answers `unsupported`).
  virtual bool set_broker(const char *host, uint16_t port) {
    (void)host, (void)port;
    return false;
  }
  virtual void drop() {}                                // close the connection (a new login follows)
  enum class Failure : uint8_t { kNone, kNetwork, kRefused, kTls };
  virtual Failure last_failure() { return Failure::kNetwork; }  // why the last connect() failed

 protected:
  MessageHandler *handler_ = nullptr;
};

class Wifi {
 public:
  virtual ~Wifi() = default;
  virtual bool connected() = 0;
  virtual int rssi() = 0;
  virtual void mac(uint8_t out[6]) = 0;
};

class System {
 public:
  virtual ~System() = default;
  virtual uint32_t heap_free() = 0;
  virtual uint32_t heap_min() = 0;
  virtual void restart() = 0;
  virtual void identify() = 0;
  virtual void log(const char *line) = 0;
};

struct Hal {
  Clock *clock;
  Gpio *gpio;
  Adc *adc;
  Pwm *pwm;
  OneWireBus *onewire;
  I2cBus *i2c;
  Storage *storage;
  MqttTransport *mqtt;
  Wifi *wifi;
  System *system;
  FirmwareUpdater *firmware = nullptr;  // none: `ota` is refused with `unsupported`
};

}  // namespace a1
