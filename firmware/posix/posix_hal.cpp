#include "posix_hal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "a1/login.h"
#include "a1/sensors.h"

namespace a1 {
namespace posix {

namespace {
uint64_t now_ns(bool monotonic) {
#if defined(__PICOLIBC__)
  // The core's test suite on the emulated Cortex-M4: semihosting has one (wall) clock.
  (void)monotonic;
  timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<uint64_t>(tv.tv_sec) * 1000000000ULL + static_cast<uint64_t>(tv.tv_usec) * 1000ULL;
#else
  timespec ts;
  clock_gettime(monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
#endif
}
constexpr double kTwoPi = 6.283185307179586;
}  // namespace

uint64_t monotonic_us() { return now_ns(true) / 1000ULL; }

PosixClock::PosixClock(bool manual) : manual_(manual), start_ns_(now_ns(true)) {}

uint64_t PosixClock::millis() {
  if (this->manual_) return this->manual_ms_;
  return (now_ns(true) - this->start_ns_) / 1000000ULL;
}

uint64_t PosixClock::unix_ms() {
  if (this->manual_) return this->unix_base_ == 0 ? 0 : this->unix_base_ + this->manual_ms_;
  return now_ns(false) / 1000000ULL;
}

void SimGpio::mode(uint8_t pin, PinMode mode) { this->modes_[pin & 63] = mode; }
void SimGpio::write(uint8_t pin, bool level) {
  this->levels_[pin & 63] = level;
  this->written_us_[pin & 63] = monotonic_us();
}
bool SimGpio::read(uint8_t pin) {
  pin &= 63;
  if (this->modes_[pin] == PinMode::kOutput) return this->levels_[pin];
  if (this->forced_[pin] >= 0) return this->forced_[pin] != 0;
  return ((this->clock_.millis() / 30000ULL) + pin) % 2 == 1;  // toggles every 30 s
}

#include "adc_model_table.inc"

int SimAdc::count_of(double mv) const {
  if (this->c3_) {
    double count = mv / 2500.0 * 4095.0 + 0.5;
    return count < 0 ? 0 : (count > 4095 ? 4095 : static_cast<int>(count));
  }
  // The nearest count of the ascending table (binary search for the first at or above).
  double target = mv * 10.0;
  int lo = 0, hi = 4095;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (kEsp32Adc11dbMv10[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && target - kEsp32Adc11dbMv10[lo - 1] < kEsp32Adc11dbMv10[lo] - target) lo--;
  return lo;
}

int SimAdc::read(uint8_t pin) {
  double t = static_cast<double>(this->clock_.millis()) / 1000.0;
  return this->count_of(1500.0 + 150.0 * sin(kTwoPi * t / 120.0 + pin));
}

bool SimPwm::attach(uint8_t pin, uint8_t channel) {
  if (channel >= 16) return false;
  this->channel_of_pin_[pin & 63] = static_cast<int8_t>(channel);
  this->duty_[channel] = 0;
  return true;
}
void SimPwm::write(uint8_t channel, uint8_t duty) {
  if (channel >= 16) return;
  this->duty_[channel] = duty;
  this->written_us_[channel] = monotonic_us();
}
uint64_t SimPwm::last_write_us(uint8_t pin) const {
  int8_t ch = this->channel_of_pin_[pin & 63];
  return ch < 0 ? 0 : this->written_us_[ch];
}
void SimPwm::detach(uint8_t pin) { this->channel_of_pin_[pin & 63] = -1; }
int SimPwm::duty_of_pin(uint8_t pin) const {
  int8_t ch = this->channel_of_pin_[pin & 63];
  return ch < 0 ? -1 : this->duty_[ch];
}

bool SimOneWire::reset(uint8_t pin) {
  this->state_ = State::kRom;
  return !this->absent_[pin & 63];
}

void SimOneWire::write_byte(uint8_t pin, uint8_t value) {
  (void)pin;
  switch (this->state_) {
    case State::kRom:
      if (value == 0xCC) {
        memset(this->rom_, 0, sizeof(this->rom_));
        this->state_ = State::kFunction;
      } else if (value == 0x55) {
        this->match_count_ = 0;
        this->state_ = State::kMatch;
      }
      return;
    case State::kMatch:
      this->rom_[this->match_count_++] = value;
      if (this->match_count_ == 8) this->state_ = State::kFunction;
      return;
    case State::kFunction:
      if (value == 0x44) {
        double t = static_cast<double>(this->clock_.millis()) / 1000.0;
        double offset = (this->rom_[7] % 8) * 0.25;
        double c = 21.5 + offset + 2.0 * sin(kTwoPi * t / 300.0);
        this->latched_ = static_cast<int16_t>(lround(c * 16.0));
        this->state_ = State::kIdle;
      } else if (value == 0xBE) {
        uint16_t raw = static_cast<uint16_t>(this->latched_);
        const uint8_t pad[8] = {static_cast<uint8_t>(raw & 0xFF), static_cast<uint8_t>(raw >> 8), 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10};
        memcpy(this->pad_, pad, 8);
        this->pad_[8] = dallas_crc8(this->pad_, 8);
        if (this->corrupt_) this->pad_[8] ^= 0x5A;
        this->read_index_ = 0;
        this->state_ = State::kRead;
      }
      return;
    default:
      return;
  }
}

uint8_t SimOneWire::read_byte(uint8_t pin) {
  (void)pin;
  if (this->state_ != State::kRead || this->read_index_ >= 9) return 0xFF;
  return this->pad_[this->read_index_++];
}

bool SimI2c::begin(uint8_t sda, uint8_t scl) { return sda != scl; }

bool SimI2c::write(uint8_t addr, const uint8_t *data, size_t len) {
  if (!this->present_ || (addr != 0x44 && addr != 0x45)) return false;
  if (len == 2 && data[0] == 0x24 && data[1] == 0x00) this->measured_ = true;
  return true;
}

bool SimI2c::read(uint8_t addr, uint8_t *data, size_t len) {
  if (!this->present_ || (addr != 0x44 && addr != 0x45) || len < 6 || !this->measured_) return false;
  this->measured_ = false;
  double t = static_cast<double>(this->clock_.millis()) / 1000.0;
  double celsius = 23.0 + 1.5 * sin(kTwoPi * t / 600.0);
  double rh = 55.0 + 5.0 * cos(kTwoPi * t / 600.0);
  uint16_t tw = static_cast<uint16_t>((celsius + 45.0) / 175.0 * 65535.0);
  uint16_t hw = static_cast<uint16_t>(rh / 100.0 * 65535.0);
  data[0] = static_cast<uint8_t>(tw >> 8);
  data[1] = static_cast<uint8_t>(tw & 0xFF);
  data[2] = sht31_crc8(data, 2);
  data[3] = static_cast<uint8_t>(hw >> 8);
  data[4] = static_cast<uint8_t>(hw & 0xFF);
  data[5] = sht31_crc8(data + 3, 2);
  return true;
}

PosixStorage::PosixStorage(const char *dir) {
  if (dir != nullptr) snprintf(this->dir_, sizeof(this->dir_), "%s", dir);
}

bool PosixStorage::load(const char *key, uint8_t *buf, size_t cap, size_t &len) {
  for (Slot &s : this->slots_) {
    if (s.key[0] != '\0' && strcmp(s.key, key) == 0) {
      if (s.len > cap) return false;
      memcpy(buf, s.data, s.len);
      len = s.len;
      return true;
    }
  }
  if (this->dir_[0] == '\0') return false;
  char path[300];
  snprintf(path, sizeof(path), "%s/%s.bin", this->dir_, key);
  FILE *f = fopen(path, "rb");
  if (f == nullptr) return false;
  len = fread(buf, 1, cap, f);
  fclose(f);
  return true;
}

bool PosixStorage::save(const char *key, const uint8_t *data, size_t len) {
  if (len > kSlotSize) return false;
  Slot *slot = nullptr;
  for (Slot &s : this->slots_) {
    if (s.key[0] != '\0' && strcmp(s.key, key) == 0) slot = &s;
  }
  for (Slot &s : this->slots_) {
    if (slot == nullptr && s.key[0] == '\0') slot = &s;
  }
  if (slot == nullptr) return false;
  snprintf(slot->key, sizeof(slot->key), "%s", key);
  memcpy(slot->data, data, len);
  slot->len = len;
  this->saves_++;
  if (this->dir_[0] != '\0') {
    char path[300];
    snprintf(path, sizeof(path), "%s/%s.bin", this->dir_, key);
    FILE *f = fopen(path, "wb");
    if (f == nullptr) return false;
    bool ok = fwrite(data, 1, len, f) == len;
    fclose(f);
    return ok;
  }
  return true;
}

void PosixStorage::erase_all() {
  for (Slot &s : this->slots_) {
    if (s.key[0] != '\0' && this->dir_[0] != '\0') {
      char path[300];
      snprintf(path, sizeof(path), "%s/%s.bin", this->dir_, s.key);
      remove(path);
    }
    s.key[0] = '\0';
    s.len = 0;
  }
  // Also what an earlier run stored and this one never touched (loaded from a file, no slot).
  static const char *const kKeys[] = {"config", kLoginKey, kFallbackLoginKey, kBrokerKey};
  for (const char *key : kKeys) {
    if (this->dir_[0] == '\0') break;
    char path[300];
    snprintf(path, sizeof(path), "%s/%s.bin", this->dir_, key);
    remove(path);
  }
}

SimWifi::SimWifi(const char *seed) {
  // Espressif OUI 24:0A:C4 and three bytes from a hash of the seed (stable per esp-id).
  uint32_t h = 2166136261u;
  for (const char *p = seed; p != nullptr && *p; p++) h = (h ^ static_cast<uint8_t>(*p)) * 16777619u;
  const uint8_t mac[6] = {0x24, 0x0A, 0xC4, static_cast<uint8_t>(h >> 16), static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)};
  memcpy(this->mac_, mac, 6);
}

void SimWifi::mac(uint8_t out[6]) { memcpy(out, this->mac_, 6); }

void SimNetwork::touched() {
  if (this->first_call_us_ == 0) this->first_call_us_ = monotonic_us();
}

bool SimNetwork::open_portal(const char *ssid, const char *password) {
  (void)ssid;
  this->touched();
  snprintf(this->password_, sizeof(this->password_), "%s", password);
  this->portal_open_ = true;
  this->saved_ = false;
  this->portal_opens_++;
  return true;
}

PortalEvent SimNetwork::portal_loop() {
  if (!this->portal_open_ || !this->saved_) return PortalEvent::kNone;
  this->saved_ = false;
  this->credentials_ = true;
  return PortalEvent::kSaved;
}

void SimNetwork::random(uint8_t *out, size_t len) {
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f == nullptr ? 0 : fread(out, 1, len, f);
  if (f != nullptr) fclose(f);
  for (size_t i = got; i < len; i++) out[i] = static_cast<uint8_t>(now_ns(true) >> (i % 8));
}

void PosixSystem::identify() { this->log("identify: blink"); }
void PosixSystem::log(const char *line) {
  snprintf(this->last_log_, sizeof(this->last_log_), "%s", line);
  if (!this->quiet_) fprintf(stderr, "[a1] %s\n", line);
}

bool FakeMqtt::connect(const char *client_id, const Will &will) {
  (void)client_id;
  this->calls_++;
  snprintf(this->will_topic, sizeof(this->will_topic), "%s", will.topic);
  if (this->pending_ == 0) this->pending_ = this->connect_calls_;
  if (--this->pending_ > 0) return false;  // still connecting in the background
  bool known = strcmp(this->allowed_[0], "*") == 0 || strcmp(this->allowed_[0], this->user_) == 0 ||
               strcmp(this->allowed_[1], this->user_) == 0;
  bool refusing = this->refusing_host[0] != '\0' && strcmp(this->refusing_host, this->host) == 0;
  known = known && !refusing;
  this->connected_ = this->accept_ && known;
  this->failure_ = this->connected_ ? Failure::kNone : (known ? Failure::kNetwork : Failure::kRefused);
  return this->connected_;
}

bool FakeMqtt::set_login(const char *username, const char *password, const char *ca, uint16_t port) {
  snprintf(this->user_, sizeof(this->user_), "%s", username != nullptr ? username : "");
  snprintf(this->password, sizeof(this->password), "%s", password != nullptr ? password : "");
  snprintf(this->ca, sizeof(this->ca), "%s", ca != nullptr ? ca : "");
  this->port = port;
  return true;
}

bool FakeMqtt::set_broker(const char *host, uint16_t port) {
  if (!this->broker_supported) return false;
  snprintf(this->host, sizeof(this->host), "%s", host != nullptr ? host : "");
  this->broker_port = port;
  return true;
}

bool FakeMqtt::publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) {
  if (!this->connected_ || this->fail_publishes_) return false;
  Msg &m = this->msgs_[this->count_ % kKeep];
  snprintf(m.topic, sizeof(m.topic), "%s", topic);
  if (len >= sizeof(m.payload)) len = sizeof(m.payload) - 1;
  memcpy(m.payload, payload, len);
  m.payload[len] = '\0';
  m.len = len;
  m.qos = qos;
  m.retain = retain;
  this->count_++;
  return true;
}

bool FakeMqtt::subscribe(const char *topic, int qos) {
  (void)topic;
  (void)qos;
  this->subs_++;
  return this->connected_;
}

void FakeMqtt::inject(const char *topic, const char *payload) {
  if (this->handler_ != nullptr) this->handler_->on_message(topic, reinterpret_cast<const uint8_t *>(payload), strlen(payload));
}

const FakeMqtt::Msg *FakeMqtt::last(const char *topic, int n) const {
  int first = this->count_ > kKeep ? this->count_ - kKeep : 0;
  for (int i = this->count_ - 1; i >= first; i--) {
    const Msg &m = this->msgs_[i % kKeep];
    if (strcmp(m.topic, topic) == 0 && n-- == 0) return &m;
  }
  return nullptr;
}

PosixBoard::PosixBoard(bool manual_clock, const char *seed, MqttTransport &mqtt_transport, const char *storage_dir)
    : clock(manual_clock),
      gpio(clock),
      adc(clock),
      onewire(clock),
      i2c(clock),
      storage(storage_dir),
      wifi(seed),
      firmware(storage_dir),
      mqtt(mqtt_transport) {}

Hal PosixBoard::hal() {
  return Hal{&this->clock, &this->gpio,    &this->adc,  &this->pwm,  &this->onewire,
             &this->i2c,   &this->storage, &this->mqtt, &this->wifi, &this->system, &this->firmware};
}

}  // namespace posix
}  // namespace a1
