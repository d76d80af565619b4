// Arduino/ESP32 implementation of the core's HAL (arduino-esp32 2.x and 3.x).
#pragma once

#include <Arduino.h>
#include <OneWire.h>
#include <Preferences.h>
#include <PubSubClient.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <WiFiManager.h>
#include <Wire.h>
#include <freertos/FreeRTOS.h>
#include <freertos/task.h>

#include <atomic>

#include "a1/boot.h"
#include "a1/hal.h"

namespace a1 {
namespace arduino {

class ArduinoClock : public Clock {
 public:
  uint64_t millis() override;
  uint64_t unix_ms() override;  // SNTP time once synced (configTime in main.cpp), else 0

 private:
  uint32_t last_ = 0;
  uint64_t high_ = 0;  // 32-bit millis() wraps after 49 days; extend it to 64 bits
};

class ArduinoGpio : public Gpio {
 public:
  void mode(uint8_t pin, PinMode mode) override;
  void write(uint8_t pin, bool level) override { digitalWrite(pin, level ? HIGH : LOW); }
  bool read(uint8_t pin) override { return digitalRead(pin) == HIGH; }
};

class ArduinoAdc : public Adc {
 public:
  int read(uint8_t pin) override;  // 12-bit counts (analogReadResolution(12))
};

// LEDC: 5 kHz, 8-bit duty.
class LedcPwm : public Pwm {
 public:
  static constexpr uint32_t kFrequency = 5000;
  static constexpr uint8_t kResolution = 8;
  bool attach(uint8_t pin, uint8_t channel) override;
  void write(uint8_t channel, uint8_t duty) override;
  void detach(uint8_t pin) override;

 private:
  int8_t pin_of_channel_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
};

// One OneWire master per pin (up to 4 pins), created on first use without heap allocation.
class ArduinoOneWire : public OneWireBus {
 public:
  static constexpr int kBuses = 4;
  bool reset(uint8_t pin) override;
  void write_byte(uint8_t pin, uint8_t value) override;
  uint8_t read_byte(uint8_t pin) override;

 private:
  OneWire *bus(uint8_t pin);
  OneWire buses_[kBuses];
  int8_t pins_[kBuses] = {-1, -1, -1, -1};
};

class ArduinoI2c : public I2cBus {
 public:
  bool begin(uint8_t sda, uint8_t scl) override;
  bool write(uint8_t addr, const uint8_t *data, size_t len) override;
  bool read(uint8_t addr, uint8_t *data, size_t len) override;

 private:
  int sda_ = -1;
  int scl_ = -1;
};

class NvsStorage : public Storage {
 public:
  bool load(const char *key, uint8_t *buf, size_t cap, size_t &len) override;
  bool save(const char *key, const uint8_t *data, size_t len) override;
  void erase_all() override;
};

// PubSubClient's connect() blocks for the DNS lookup, the TCP connect and the CONNACK (seconds
// when the broker host is down), so it runs on a helper task: connect() starts an attempt and
// returns false with connecting() true until it ends; the next call reports the result. While
// an attempt runs, the loop task does not touch the client.
class PubSubTransport : public MqttTransport {
 public:
  static constexpr uint16_t kBufferSize = 4608;  // config (4096) + topic + header
  // user/password may be empty (anonymous). tls: MQTT over TLS (usually port 8883), verified
  // against -DA1_MQTT_CA_CERT=... when the build gives one. No network work happens here.
  void begin(const char *host, uint16_t port, const char *user, const char *password, bool tls);
  bool connect(const char *client_id, const Will &will) override;
  bool connecting() override { return this->state_.load() == kConnecting; }
  bool connected() override { return this->state_.load() == kIdle && this->client_.connected(); }
  bool publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) override;
  bool subscribe(const char *topic, int qos) override;
  void loop() override {
    if (this->state_.load() == kIdle) this->client_.loop();
  }
  // A delivered login (docs/protocol.md "Device login"): used from the next connect() on; a CA
  // switches to verified TLS at run time (the build's -DA1_MQTT_CA_CERT stays the default).
  bool set_login(const char *username, const char *password, const char *ca, uint16_t port) override;
  const char *username() override { return this->user_; }
  // Moving to another broker (docs/protocol.md): used from the next connect() on.
  bool set_broker(const char *host, uint16_t port) override;
  void drop() override {
    if (this->state_.load() == kIdle) this->client_.disconnect();
  }
  Failure last_failure() override { return this->failure_; }

 private:
  enum State : uint8_t { kIdle, kConnecting, kDone };
  void apply_transport();
  static void on_message(char *topic, uint8_t *payload, unsigned int len);
  static void connect_task(void *self);
  static PubSubTransport *instance_;
  std::atomic<uint8_t> state_{kIdle};
  bool result_ = false;
  TaskHandle_t task_ = nullptr;
  char client_id_[33] = {0};
  char will_topic_[128] = {0};
  Will will_{will_topic_, "offline", 1, true};
  WiFiClient wifi_;
  WiFiClientSecure wifi_tls_;
  bool tls_ = false;
  const char *user_ = nullptr;
  const char *password_ = nullptr;
  // As set up by begin(), to return to when a delivered login is dropped.
  const char *base_user_ = nullptr;
  const char *base_password_ = nullptr;
  bool base_tls_ = false;
  const char *host_ = nullptr;
  const char *base_host_ = nullptr;  // as set up (portal, build)
  char moved_host_[65] = {0};
  uint16_t port_ = 1883;
  uint16_t base_port_ = 1883;
  uint16_t login_port_ = 0;   // a delivered login's port (0: none)
  uint16_t broker_port_ = 0;  // a move's port (0: none)
  void choose_port() {
    this->port_ = this->broker_port_ != 0 ? this->broker_port_ : (this->login_port_ != 0 ? this->login_port_ : this->base_port_);
  }
  char login_user_[65] = {0};
  char login_password_[129] = {0};
  char ca_[2801] = {0};
  Failure failure_ = Failure::kNone;
  PubSubClient client_{wifi_};
};

class ArduinoWifi : public Wifi {
 public:
  bool connected() override { return WiFi.status() == WL_CONNECTED; }
  int rssi() override { return WiFi.RSSI(); }
  void mac(uint8_t out[6]) override;  // from eFuse: readable before the radio is started
};

// Set-up values the portal asks for, kept in NVS (namespace "a1").
struct Settings {
  char mqtt_host[64] = "homeassistant.local";
  char mqtt_port[6] = "1883";  // 8883: MQTT over TLS
  char mqtt_user[65] = "";
  char mqtt_pass[65] = "";
  char kaiser_id[33] = "god";
  char name[65] = "";
};
void load_settings(Settings &s);
void store_settings(const Settings &s);

// WiFi station and the set-up portal (WiFiManager, non-blocking: served from portal_loop()).
class PortalNetwork : public Network {
 public:
  explicit PortalNetwork(Settings &settings) : settings_(settings) {}
  bool has_credentials() override;
  void start_station() override;
  bool open_portal(const char *ssid, const char *password) override;
  PortalEvent portal_loop() override;
  void close_portal() override { this->wm_.stopConfigPortal(); }
  void random(uint8_t *out, size_t len) override;

 private:
  static void on_save() { saved_ = true; }
  static volatile bool saved_;
  Settings &settings_;
  WiFiManager wm_;
  bool params_added_ = false;
  WiFiManagerParameter host_{"mqtt_host", "MQTT broker (Home Assistant)", "", sizeof(Settings::mqtt_host) - 1};
  WiFiManagerParameter port_{"mqtt_port", "MQTT port", "", sizeof(Settings::mqtt_port) - 1};
  WiFiManagerParameter user_{"mqtt_user", "MQTT user (empty: anonymous)", "", sizeof(Settings::mqtt_user) - 1};
  WiFiManagerParameter pass_{"mqtt_pass", "MQTT password", "", sizeof(Settings::mqtt_pass) - 1};
  WiFiManagerParameter kaiser_{"kaiser_id", "Kaiser id (god, or a relay's id)", "", sizeof(Settings::kaiser_id) - 1};
  WiFiManagerParameter name_{"name", "Device name (optional)", "", sizeof(Settings::name) - 1};
};

class ArduinoSystem : public System {
 public:
  uint32_t heap_free() override { return ESP.getFreeHeap(); }
  uint32_t heap_min() override { return ESP.getMinFreeHeap(); }
  void restart() override;
  void identify() override;
  void log(const char *line) override;
};

}  // namespace arduino
}  // namespace a1
