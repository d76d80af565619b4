// POSIX implementation of the HAL: simulated signals, actuators as state, memory or file
// storage. Used by the host tests (with FakeMqtt) and by virtual-esp (with libmosquitto).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "a1/boot.h"
#include "a1/hal.h"
#include "ota_posix.h"

namespace a1 {
namespace posix {

// Steady clock in microseconds (timing figures of the host build).
uint64_t monotonic_us();

class PosixClock : public Clock {
 public:
  // manual: time moves only through advance() (tests); else the steady clock.
  explicit PosixClock(bool manual = false);
  uint64_t millis() override;
  uint64_t unix_ms() override;
  void advance(uint64_t ms) { this->manual_ms_ += ms; }
  void set_unix_base(uint64_t unix_ms_at_boot) { this->unix_base_ = unix_ms_at_boot; }

 private:
  bool manual_;
  uint64_t manual_ms_ = 0;
  uint64_t unix_base_ = 0;  // manual mode: wall clock at millis()==0 (0: no wall clock)
  uint64_t start_ns_ = 0;
};

class SimGpio : public Gpio {
 public:
  explicit SimGpio(Clock &clock) : clock_(clock) {}
  void mode(uint8_t pin, PinMode mode) override;
  void write(uint8_t pin, bool level) override;
  bool read(uint8_t pin) override;
  bool level(uint8_t pin) const { return this->levels_[pin & 63]; }
  bool is_output(uint8_t pin) const { return this->modes_[pin & 63] == PinMode::kOutput; }
  void force_input(uint8_t pin, int level) { this->forced_[pin & 63] = static_cast<int8_t>(level); }  // -1: simulated
  uint64_t last_write_us(uint8_t pin) const { return this->written_us_[pin & 63]; }  // 0: never

 private:
  Clock &clock_;
  bool levels_[64] = {false};
  uint64_t written_us_[64] = {0};
  PinMode modes_[64] = {};
  int8_t forced_[64] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
};

// A slow sine per pin of the pin voltage, 1500 +- 150 mV over 120 s (a pH amplifier around
// pH 7), read as the board's ADC reads it: the ESP32's 11 dB curve (the table generated from
// processors/adc.py, which HA inverts) or the ESP32-C3's 0-2500 mV line.
class SimAdc : public Adc {
 public:
  explicit SimAdc(Clock &clock) : clock_(clock) {}
  int read(uint8_t pin) override;
  void set_esp32c3(bool c3) { this->c3_ = c3; }
  // The count this board's ADC gives for `mv` at the pin.
  int count_of(double mv) const;

 private:
  Clock &clock_;
  bool c3_ = false;
};

class SimPwm : public Pwm {
 public:
  bool attach(uint8_t pin, uint8_t channel) override;
  void write(uint8_t channel, uint8_t duty) override;
  void detach(uint8_t pin) override;
  int duty_of_pin(uint8_t pin) const;  // -1 when not attached
  uint64_t last_write_us(uint8_t pin) const;  // 0: never

 private:
  uint64_t written_us_[16] = {0};
  int8_t channel_of_pin_[64] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  uint8_t duty_[16] = {0};
};

// DS18B20s on every pin (any ROM code answers), temperature 21.5 degC +- 2 (period 300 s).
class SimOneWire : public OneWireBus {
 public:
  explicit SimOneWire(Clock &clock) : clock_(clock) {}
  bool reset(uint8_t pin) override;
  void write_byte(uint8_t pin, uint8_t value) override;
  uint8_t read_byte(uint8_t pin) override;
  void set_absent(uint8_t pin, bool absent) { this->absent_[pin & 63] = absent; }
  void set_corrupt(bool corrupt) { this->corrupt_ = corrupt; }

 private:
  enum class State : uint8_t { kIdle, kRom, kMatch, kFunction, kRead };
  Clock &clock_;
  State state_ = State::kIdle;
  uint8_t match_count_ = 0;
  uint8_t rom_[8] = {0};
  uint8_t pad_[9] = {0};
  uint8_t read_index_ = 0;
  int16_t latched_ = 0;
  bool absent_[64] = {false};
  bool corrupt_ = false;
};

// SHT31 at 0x44 and 0x45: 23 degC / 55 %RH with a slow drift.
class SimI2c : public I2cBus {
 public:
  explicit SimI2c(Clock &clock) : clock_(clock) {}
  bool begin(uint8_t sda, uint8_t scl) override;
  bool write(uint8_t addr, const uint8_t *data, size_t len) override;
  bool read(uint8_t addr, uint8_t *data, size_t len) override;
  void set_present(bool present) { this->present_ = present; }

 private:
  Clock &clock_;
  bool measured_ = false;
  bool present_ = true;
};

// Fixed slots in memory; with a directory, also mirrored to <dir>/<key>.bin.
class PosixStorage : public Storage {
 public:
  static constexpr int kSlots = 6;  // config, login, login.old, broker, the portal password
  static constexpr size_t kSlotSize = 4097;
  explicit PosixStorage(const char *dir = nullptr);
  bool load(const char *key, uint8_t *buf, size_t cap, size_t &len) override;
  bool save(const char *key, const uint8_t *data, size_t len) override;
  void erase_all() override;
  int saves() const { return this->saves_; }

 private:
  struct Slot {
    char key[16];
    size_t len;
    uint8_t data[kSlotSize];
  };
  Slot slots_[kSlots] = {};
  char dir_[256] = {0};
  int saves_ = 0;
};

class SimWifi : public Wifi {
 public:
  explicit SimWifi(const char *seed);
  bool connected() override { return this->connected_; }
  int rssi() override { return -55; }
  void mac(uint8_t out[6]) override;
  void set_connected(bool c) { this->connected_ = c; }

 private:
  uint8_t mac_[6];
  bool connected_ = true;
};

// WiFi station and set-up portal: the station is the SimWifi above (a test drops and restores
// it); the portal is state a test can look at and "save" through.
class SimNetwork : public Network {
 public:
  bool has_credentials() override { return this->credentials_; }
  void start_station() override {
    this->touched();
    this->station_starts_++;
  }
  bool open_portal(const char *ssid, const char *password) override;
  PortalEvent portal_loop() override;
  void close_portal() override { this->portal_open_ = false; }
  void random(uint8_t *out, size_t len) override;  // /dev/urandom
  void set_credentials(bool stored) { this->credentials_ = stored; }
  void save() { this->saved_ = true; }  // the user submits the portal page
  bool portal_is_open() const { return this->portal_open_; }
  int portal_opens() const { return this->portal_opens_; }
  int station_starts() const { return this->station_starts_; }
  const char *portal_password() const { return this->password_; }
  uint64_t first_call_us() const { return this->first_call_us_; }  // first station or portal start, 0: none

 private:
  void touched();
  uint64_t first_call_us_ = 0;
  bool credentials_ = true;
  bool portal_open_ = false;
  bool saved_ = false;
  int portal_opens_ = 0;
  int station_starts_ = 0;
  char password_[64] = {0};
};

class PosixSystem : public System {
 public:
  uint32_t heap_free() override { return 180000; }
  uint32_t heap_min() override { return 150000; }
  void restart() override { this->restarts_++; }
  void identify() override;
  void log(const char *line) override;
  void set_quiet(bool quiet) { this->quiet_ = quiet; }
  int restarts() const { return this->restarts_; }
  const char *last_log() const { return this->last_log_; }

 private:
  char last_log_[160] = {0};
  int restarts_ = 0;
  bool quiet_ = false;
};

// In-process MQTT for tests: records publishes, lets a test inject messages, drop the link.
class FakeMqtt : public MqttTransport {
 public:
  static constexpr int kKeep = 64;
  struct Msg {
    char topic[128];
    char payload[4097];
    size_t len;
    int qos;
    bool retain;
  };
  bool connect(const char *client_id, const Will &will) override;
  bool connecting() override { return this->pending_ > 0; }
  bool connected() override { return this->connected_; }
  bool publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) override;
  bool subscribe(const char *topic, int qos) override;
  void loop() override {}
  // Like the board's background connect: each attempt takes `calls` connect() calls to finish.
  void set_connect_calls(int calls) { this->connect_calls_ = calls; }
  int connect_calls() const { return this->calls_; }
  void inject(const char *topic, const char *payload);
  void drop() override { this->connected_ = false; }
  // A link that died under the device: still "connected", but every publish fails.
  void fail_publishes(bool fail) { this->fail_publishes_ = fail; }
  void set_accept(bool accept) { this->accept_ = accept; }
  // Device logins: the broker accepts only these usernames ("" = the login set up); others
  // are refused (CONNACK 5). "*" accepts any.
  bool set_login(const char *username, const char *password, const char *ca, uint16_t port) override;
  const char *username() override { return this->user_[0] != '\0' ? this->user_ : nullptr; }
  Failure last_failure() override { return this->failure_; }
  void set_broker_logins(const char *a, const char *b = "-") {
    snprintf(this->allowed_[0], sizeof(this->allowed_[0]), "%s", a);
    snprintf(this->allowed_[1], sizeof(this->allowed_[1]), "%s", b);
  }
  // Moving to another broker: where the next connect() goes ("" = the set-up broker); a
  // broker at `refusing_host` refuses every client (CONNACK 5).
  bool set_broker(const char *host, uint16_t port) override;
  char host[65] = {0};
  uint16_t broker_port = 0;
  char refusing_host[65] = {0};
  bool broker_supported = true;
  char password[129] = {0};  // of the login in use (what the broker would check)
  char ca[2801] = {0};
  uint16_t port = 0;
  int published() const { return this->count_; }
  // The n-th most recent message on `topic` (0 = last), or nullptr.
  const Msg *last(const char *topic, int n = 0) const;
  const Msg &at(int i) const { return this->msgs_[i % kKeep]; }  // i-th ever published (if still kept)
  int subscriptions() const { return this->subs_; }
  char will_topic[128] = {0};

 private:
  Msg msgs_[kKeep];
  int count_ = 0;
  int subs_ = 0;
  bool connected_ = false;
  bool accept_ = true;
  char user_[65] = {0};
  char allowed_[2][65] = {"*", "-"};
  Failure failure_ = Failure::kNone;
  bool fail_publishes_ = false;
  int connect_calls_ = 1;
  int pending_ = 0;
  int calls_ = 0;
};

// Everything wired together: `hal()` for the core.
struct PosixBoard {
  explicit PosixBoard(bool manual_clock, const char *seed, MqttTransport &mqtt, const char *storage_dir = nullptr);
  Hal hal();
  PosixClock clock;
  SimGpio gpio;
  SimAdc adc;
  SimPwm pwm;
  SimOneWire onewire;
  SimI2c i2c;
  PosixStorage storage;
  SimWifi wifi;
  SimNetwork network;
  PosixSystem system;
  PosixFirmware firmware;
  MqttTransport &mqtt;
};

}  // namespace posix
}  // namespace a1
