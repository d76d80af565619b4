// The power-up sequence of every board: the ESP32 (Arduino HAL), the host tests and virtual-esp
// (POSIX HAL) all run this one. Order: actuator pins to their safe state and the stored config
// applied (Device::setup) before any network work; then the WiFi station is started without
// waiting for it. The loop never blocks on the network, so sensing, the offline buffer and every
// on-device limit run whether or not WiFi or the broker is there.
//
// The set-up portal (an access point with a page for WiFi and broker settings) opens only when
// no WiFi is stored or on a long press of the set-up button after boot, never because the stored
// WiFi is unreachable. It has a password of its own per device (random, made at first boot,
// kept in storage, shown on the serial log), closes after a timeout and changes nothing unless
// the user saves new settings (then the board restarts into them).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/device.h"
#include "a1/hal.h"

namespace a1 {

enum class PortalEvent : uint8_t { kNone, kSaved };

// The board's WiFi station and set-up portal. None of these may block for long: the portal page
// is served a little at a time by portal_loop().
class Network {
 public:
  virtual ~Network() = default;
  virtual bool has_credentials() = 0;  // a WiFi network is stored
  virtual void start_station() = 0;    // start joining the stored WiFi; the radio retries by itself
  virtual bool open_portal(const char *ssid, const char *password) = 0;
  virtual PortalEvent portal_loop() = 0;  // kSaved once new settings are stored
  virtual void close_portal() = 0;
  virtual void random(uint8_t *out, size_t len) = 0;  // hardware random numbers
};

struct BootOptions {
  int button_gpio = -1;  // set-up button: active low, internal pull-up; -1: none
  uint32_t long_press_ms = 5000;
  uint32_t portal_timeout_s = 300;
};

class Boot {
 public:
  static constexpr size_t kPasswordLen = 12;  // WPA2 needs 8-63 characters
  static constexpr const char *kPasswordKey = "portal_pw";

  Boot(const Hal &hal, Device &device, Network &network, const BootOptions &options = BootOptions());
  bool setup();
  void loop();
  // Device::next_due_ms(), sooner while the portal is open or the button is held.
  uint64_t next_due_ms() const;

  bool portal_open() const { return this->portal_open_; }
  const char *portal_ssid() const { return this->ssid_; }
  const char *portal_password() const { return this->password_; }
  bool network_started() const { return this->station_started_ || this->portal_open_; }
  // Device clock (ms) when setup() began and when the stored config had been applied.
  uint64_t setup_start_ms() const { return this->setup_start_ms_; }
  uint64_t config_applied_ms() const { return this->config_applied_ms_; }

 private:
  void load_password();
  void open_portal(const char *why);
  void close_portal();
  void button_loop(uint64_t now);
  void log(const char *a, const char *b = "", const char *c = "", const char *d = "");

  const Hal &hal_;
  Device &device_;
  Network &network_;
  BootOptions options_;
  char ssid_[24] = {0};
  char password_[kPasswordLen + 1] = {0};
  bool station_started_ = false;
  bool portal_open_ = false;
  uint64_t portal_deadline_ms_ = 0;
  bool button_armed_ = false;  // seen released since boot: a stuck or held button opens nothing
  bool button_down_ = false;
  bool button_fired_ = false;
  uint64_t button_since_ms_ = 0;
  uint64_t setup_start_ms_ = 0;
  uint64_t config_applied_ms_ = 0;
};

}  // namespace a1
