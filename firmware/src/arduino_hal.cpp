#include "arduino_hal.h"

#include <esp_arduino_version.h>
#include <sys/time.h>
#if ESP_ARDUINO_VERSION_MAJOR >= 3
#include <esp_random.h>
#else
#include <esp_system.h>
#endif

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
  this->user_ = this->base_user_ = user != nullptr && user[0] != '\0' ? user : nullptr;
  this->password_ = this->base_password_ = password != nullptr && password[0] != '\0' ? password : nullptr;
  this->tls_ = this->base_tls_ = tls;
  this->host_ = this->base_host_ = host;
  this->port_ = this->base_port_ = port;
  this->apply_transport();
  this->client_.setBufferSize(kBufferSize);
  this->client_.setKeepAlive(15);
  this->client_.setSocketTimeout(5);
  this->client_.setCallback(&PubSubTransport::on_message);
}

void PubSubTransport::apply_transport() {
  if (this->tls_) {
    if (this->ca_[0] != '\0') {
      this->wifi_tls_.setCACert(this->ca_);  // verified against the delivered CA
    } else {
#ifdef A1_MQTT_CA_CERT
      this->wifi_tls_.setCACert(A1_MQTT_CA_CERT);
#else
      this->wifi_tls_.setInsecure();  // encrypted but not authenticated: build with -DA1_MQTT_CA_CERT
#endif
    }
    this->client_.setClient(this->wifi_tls_);
  } else {
    this->client_.setClient(this->wifi_);
  }
  this->client_.setServer(this->host_, this->port_);
}

bool PubSubTransport::set_login(const char *username, const char *password, const char *ca, uint16_t port) {
  if (this->state_.load() == kConnecting) return false;
  memset(this->login_password_, 0, sizeof(this->login_password_));
  if (username == nullptr) {
    this->user_ = this->base_user_;
    this->password_ = this->base_password_;
    this->tls_ = this->base_tls_;
    this->ca_[0] = '\0';
    this->login_port_ = 0;
  } else {
    strlcpy(this->login_user_, username, sizeof(this->login_user_));
    strlcpy(this->login_password_, password != nullptr ? password : "", sizeof(this->login_password_));
    strlcpy(this->ca_, ca != nullptr ? ca : "", sizeof(this->ca_));
    this->user_ = this->login_user_;
    this->password_ = this->login_password_;
    this->tls_ = this->ca_[0] != '\0' || this->base_tls_;
    this->login_port_ = port;
  }
  this->choose_port();
  if (this->state_.load() == kIdle && this->client_.connected()) this->client_.disconnect();
  this->apply_transport();
  return true;
}

bool PubSubTransport::set_broker(const char *host, uint16_t port) {
  if (this->state_.load() == kConnecting) return false;
  if (host != nullptr) {
    strlcpy(this->moved_host_, host, sizeof(this->moved_host_));
    this->host_ = this->moved_host_;
  } else {
    this->host_ = this->base_host_;
  }
  this->broker_port_ = port;
  this->choose_port();
  if (this->state_.load() == kIdle && this->client_.connected()) this->client_.disconnect();
  this->apply_transport();
  return true;
}

void PubSubTransport::on_message(char *topic, uint8_t *payload, unsigned int len) {
  if (instance_ != nullptr && instance_->handler_ != nullptr) instance_->handler_->on_message(topic, payload, len);
}

bool PubSubTransport::connect(const char *client_id, const Will &will) {
  uint8_t state = this->state_.load();
  if (state == kConnecting) return false;
  if (state == kDone) {
    this->state_.store(kIdle);
    int st = this->client_.state();
    // A failed TLS handshake looks like a failed TCP connect here: the 30 s switch timeout
    // covers it (docs/protocol.md "Device login").
    this->failure_ = this->result_ ? Failure::kNone
                     : (st == MQTT_CONNECT_BAD_CREDENTIALS || st == MQTT_CONNECT_UNAUTHORIZED) ? Failure::kRefused
                                                                                                : Failure::kNetwork;
    if (this->result_) {
      // TCP_NODELAY: no Nagle delay per message.
      if (this->tls_) {
        this->wifi_tls_.setNoDelay(true);
      } else {
        this->wifi_.setNoDelay(true);
      }
      return true;
    }
    return false;  // failed: the core backs off before the next attempt
  }
  if (this->task_ == nullptr &&
      xTaskCreate(&PubSubTransport::connect_task, "a1-mqtt-connect", 8192, this, 1, &this->task_) != pdPASS) {
    this->task_ = nullptr;
    return false;
  }
  strlcpy(this->client_id_, client_id, sizeof(this->client_id_));
  strlcpy(this->will_topic_, will.topic, sizeof(this->will_topic_));
  this->will_ = Will{this->will_topic_, will.payload, will.qos, will.retain};  // payload: a literal
  this->state_.store(kConnecting);
  xTaskNotifyGive(this->task_);
  return false;
}

void PubSubTransport::connect_task(void *arg) {
  PubSubTransport *self = static_cast<PubSubTransport *>(arg);
  for (;;) {
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
    const Will &w = self->will_;
    self->result_ = self->client_.connect(self->client_id_, self->user_, self->password_, w.topic,
                                          static_cast<uint8_t>(w.qos), w.retain, w.payload, true);
    self->state_.store(kDone);
  }
}

bool PubSubTransport::publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) {
  (void)qos;  // PubSubClient publishes at QoS 0 (it subscribes at QoS 1)
  if (this->state_.load() != kIdle) return false;
  return this->client_.publish(topic, payload, static_cast<unsigned int>(len), retain);
}

bool PubSubTransport::subscribe(const char *topic, int qos) {
  if (this->state_.load() != kIdle) return false;
  return this->client_.subscribe(topic, static_cast<uint8_t>(qos > 1 ? 1 : qos));
}

void ArduinoWifi::mac(uint8_t out[6]) {
  uint64_t efuse = ESP.getEfuseMac();  // base MAC = the station's, byte 0 in the low bits
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(efuse >> (8 * i));
}

void load_settings(Settings &s) {
  Preferences &p = prefs();
  p.getString("mqtt_host", s.mqtt_host, sizeof(s.mqtt_host));
  p.getString("mqtt_port", s.mqtt_port, sizeof(s.mqtt_port));
  p.getString("mqtt_user", s.mqtt_user, sizeof(s.mqtt_user));
  p.getString("mqtt_pass", s.mqtt_pass, sizeof(s.mqtt_pass));
  p.getString("kaiser_id", s.kaiser_id, sizeof(s.kaiser_id));
  p.getString("name", s.name, sizeof(s.name));
}

void store_settings(const Settings &s) {
  Preferences &p = prefs();
  p.putString("mqtt_host", s.mqtt_host);
  p.putString("mqtt_port", s.mqtt_port);
  p.putString("mqtt_user", s.mqtt_user);
  p.putString("mqtt_pass", s.mqtt_pass);
  p.putString("kaiser_id", s.kaiser_id);
  p.putString("name", s.name);
}

volatile bool PortalNetwork::saved_ = false;

bool PortalNetwork::has_credentials() {
  // The stored station config is read through the WiFi driver, which must be up for that (an
  // uninitialised driver answers with garbage); starting it does not connect.
  WiFi.mode(WIFI_STA);
  return this->wm_.getWiFiIsSaved();
}

void PortalNetwork::start_station() {
  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);  // the radio rejoins by itself; nothing here waits for it
  WiFi.setSleep(false);         // lower latency for commands
  WiFi.begin();                 // the stored network
  configTime(0, 0, "pool.ntp.org", "time.google.com");  // device timestamps in UTC ms (SNTP in the background)
}

bool PortalNetwork::open_portal(const char *ssid, const char *password) {
  if (!this->params_added_) {
    WiFiManagerParameter *params[] = {&this->host_, &this->port_, &this->user_, &this->pass_, &this->kaiser_, &this->name_};
    for (WiFiManagerParameter *p : params) this->wm_.addParameter(p);
    this->wm_.setSaveParamsCallback(&PortalNetwork::on_save);
    this->wm_.setSaveConfigCallback(&PortalNetwork::on_save);
    this->params_added_ = true;
  }
  this->host_.setValue(this->settings_.mqtt_host, sizeof(this->settings_.mqtt_host) - 1);
  this->port_.setValue(this->settings_.mqtt_port, sizeof(this->settings_.mqtt_port) - 1);
  this->user_.setValue(this->settings_.mqtt_user, sizeof(this->settings_.mqtt_user) - 1);
  this->pass_.setValue(this->settings_.mqtt_pass, sizeof(this->settings_.mqtt_pass) - 1);
  this->kaiser_.setValue(this->settings_.kaiser_id, sizeof(this->settings_.kaiser_id) - 1);
  this->name_.setValue(this->settings_.name, sizeof(this->settings_.name) - 1);
  this->wm_.setConfigPortalBlocking(false);  // served from portal_loop(); the core closes it on timeout
  this->wm_.setSaveConnect(false);           // store the WiFi; the restart after saving joins it
  this->wm_.setBreakAfterConfig(true);
  saved_ = false;
  this->wm_.startConfigPortal(ssid, password);  // non-blocking: returns at once
  return this->wm_.getConfigPortalActive();
}

PortalEvent PortalNetwork::portal_loop() {
  this->wm_.process();
  if (!saved_) return PortalEvent::kNone;
  saved_ = false;
  Settings &s = this->settings_;
  strlcpy(s.mqtt_host, this->host_.getValue(), sizeof(s.mqtt_host));
  strlcpy(s.mqtt_port, this->port_.getValue(), sizeof(s.mqtt_port));
  strlcpy(s.mqtt_user, this->user_.getValue(), sizeof(s.mqtt_user));
  strlcpy(s.mqtt_pass, this->pass_.getValue(), sizeof(s.mqtt_pass));
  strlcpy(s.kaiser_id, this->kaiser_.getValue(), sizeof(s.kaiser_id));
  strlcpy(s.name, this->name_.getValue(), sizeof(s.name));
  if (!valid_id(s.kaiser_id)) strlcpy(s.kaiser_id, "god", sizeof(s.kaiser_id));
  store_settings(s);
  return PortalEvent::kSaved;
}

void PortalNetwork::random(uint8_t *out, size_t len) { esp_fill_random(out, len); }

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
