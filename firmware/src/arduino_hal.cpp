#include "arduino_hal.h"

#include <esp_arduino_version.h>
#include <sys/time.h>

namespace a1 {
namespace arduino {

namespace {
Preferences &prefs() {
  static Preferences p;
  static bool open = false;
  if (!open) open = p.begin("a1", false);
  return p;
}
}  // namespace

uint64_t ArduinoClock::millis() {
  uint32_t now = static_cast<uint32_t>(::millis());
  if (now < this->last_) this->high_ += 1ULL << 32;
  this->last_ = now;
  return this->high_ | now;
}

uint64_t ArduinoClock::unix_ms() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  if (tv.tv_sec < 1600000000) return 0;  // not synced yet
  return static_cast<uint64_t>(tv.tv_sec) * 1000ULL + static_cast<uint64_t>(tv.tv_usec / 1000);
}

void ArduinoGpio::mode(uint8_t pin, PinMode mode) {
  switch (mode) {
    case PinMode::kInput:
      pinMode(pin, INPUT);
      break;
    case PinMode::kInputPullup:
      pinMode(pin, INPUT_PULLUP);
      break;
    case PinMode::kOutput:
      pinMode(pin, OUTPUT);
      break;
  }
}

int ArduinoAdc::read(uint8_t pin) {
  static bool configured = false;
  if (!configured) {
    analogReadResolution(12);
    configured = true;
  }
  return analogRead(pin);
}

bool LedcPwm::attach(uint8_t pin, uint8_t channel) {
  if (channel >= 16) return false;
  this->pin_of_channel_[channel] = static_cast<int8_t>(pin);
#if ESP_ARDUINO_VERSION_MAJOR >= 3
  return ledcAttachChannel(pin, kFrequency, kResolution, channel);
#else
  ledcSetup(channel, kFrequency, kResolution);
  ledcAttachPin(pin, channel);
  return true;
#endif
}

void LedcPwm::write(uint8_t channel, uint8_t duty) {
  if (channel >= 16 || this->pin_of_channel_[channel] < 0) return;
#if ESP_ARDUINO_VERSION_MAJOR >= 3
  ledcWrite(static_cast<uint8_t>(this->pin_of_channel_[channel]), duty);  // 3.x addresses the pin
#else
  ledcWrite(channel, duty);
#endif
}

void LedcPwm::detach(uint8_t pin) {
#if ESP_ARDUINO_VERSION_MAJOR >= 3
  ledcDetach(pin);
#else
  ledcDetachPin(pin);
#endif
  for (int8_t &p : this->pin_of_channel_) {
    if (p == pin) p = -1;
  }
}

OneWire *ArduinoOneWire::bus(uint8_t pin) {
  for (int i = 0; i < kBuses; i++) {
    if (this->pins_[i] == pin) return &this->buses_[i];
  }
  for (int i = 0; i < kBuses; i++) {
    if (this->pins_[i] < 0) {
      this->pins_[i] = static_cast<int8_t>(pin);
      this->buses_[i].begin(pin);
      return &this->buses_[i];
    }
  }
  return nullptr;
}

bool ArduinoOneWire::reset(uint8_t pin) {
  OneWire *ow = this->bus(pin);
  return ow != nullptr && ow->reset() == 1;
}

void ArduinoOneWire::write_byte(uint8_t pin, uint8_t value) {
  OneWire *ow = this->bus(pin);
  if (ow != nullptr) ow->write(value);
}

uint8_t ArduinoOneWire::read_byte(uint8_t pin) {
  OneWire *ow = this->bus(pin);
  return ow == nullptr ? 0xFF : ow->read();
}

bool ArduinoI2c::begin(uint8_t sda, uint8_t scl) {
  if (this->sda_ == sda && this->scl_ == scl) return true;
  if (this->sda_ >= 0) Wire.end();
  this->sda_ = sda;
  this->scl_ = scl;
  return Wire.begin(static_cast<int>(sda), static_cast<int>(scl), 100000U);
}

bool ArduinoI2c::write(uint8_t addr, const uint8_t *data, size_t len) {
  Wire.beginTransmission(addr);
  if (len > 0) Wire.write(data, len);
  return Wire.endTransmission() == 0;  // 0: ACK
}

bool ArduinoI2c::read(uint8_t addr, uint8_t *data, size_t len) {
  if (Wire.requestFrom(static_cast<uint16_t>(addr), static_cast<uint8_t>(len)) != len) return false;
  for (size_t i = 0; i < len; i++) data[i] = static_cast<uint8_t>(Wire.read());
  return true;
}

bool NvsStorage::load(const char *key, uint8_t *buf, size_t cap, size_t &len) {
  size_t n = prefs().getBytesLength(key);
  if (n == 0 || n > cap) return false;
  len = prefs().getBytes(key, buf, cap);
  return len == n;
}

bool NvsStorage::save(const char *key, const uint8_t *data, size_t len) {
  return prefs().putBytes(key, data, len) == len;
}

void NvsStorage::erase_all() {
  prefs().clear();  // config, MQTT settings and ids (namespace "a1")
  WiFi.disconnect(true, true);  // and the WiFi credentials WiFiManager stored
}

PubSubTransport *PubSubTransport::instance_ = nullptr;

void PubSubTransport::begin(const char *host, uint16_t port, const char *user, const char *password, bool tls) {
  instance_ = this;
  this->user_ = user != nullptr && user[0] != '\0' ? user : nullptr;
  this->password_ = password != nullptr && password[0] != '\0' ? password : nullptr;
  this->tls_ = tls;
  if (tls) {
#ifdef A1_MQTT_CA_CERT
    this->wifi_tls_.setCACert(A1_MQTT_CA_CERT);
#else
    this->wifi_tls_.setInsecure();  // encrypted but not authenticated: build with -DA1_MQTT_CA_CERT
#endif
    this->client_.setClient(this->wifi_tls_);
  }
  this->client_.setServer(host, port);
  this->client_.setBufferSize(kBufferSize);
  this->client_.setKeepAlive(15);
  this->client_.setSocketTimeout(5);
  this->client_.setCallback(&PubSubTransport::on_message);
}

void PubSubTransport::on_message(char *topic, uint8_t *payload, unsigned int len) {
  if (instance_ != nullptr && instance_->handler_ != nullptr) instance_->handler_->on_message(topic, payload, len);
}

bool PubSubTransport::connect(const char *client_id, const Will &will) {
  bool ok = this->client_.connect(client_id, this->user_, this->password_, will.topic, static_cast<uint8_t>(will.qos),
                                  will.retain, will.payload, true);
  if (ok) {
    // TCP_NODELAY: no Nagle delay per message.
    if (this->tls_) {
      this->wifi_tls_.setNoDelay(true);
    } else {
      this->wifi_.setNoDelay(true);
    }
  }
  return ok;
}

bool PubSubTransport::publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) {
  (void)qos;  // PubSubClient publishes at QoS 0 (it subscribes at QoS 1)
  return this->client_.publish(topic, payload, static_cast<unsigned int>(len), retain);
}

bool PubSubTransport::subscribe(const char *topic, int qos) {
  return this->client_.subscribe(topic, static_cast<uint8_t>(qos > 1 ? 1 : qos));
}

void ArduinoSystem::restart() {
  Serial.flush();
  ESP.restart();
}

void ArduinoSystem::identify() {
#ifdef A1_LED
  pinMode(A1_LED, OUTPUT);
  for (int i = 0; i < 10; i++) {
    digitalWrite(A1_LED, i % 2 == 0 ? HIGH : LOW);
    delay(100);
  }
#endif
  Serial.println("[a1] identify");
}

void ArduinoSystem::log(const char *line) {
  Serial.print("[a1] ");
  Serial.println(line);
}

}  // namespace arduino
}  // namespace a1
