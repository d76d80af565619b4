#include "a1/boot.h"

#include <string.h>

namespace a1 {

namespace {
// No 0/O, 1/l/i: the password is read off a serial console and typed on a phone.
const char kPasswordAlphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
constexpr size_t kAlphabetSize = sizeof(kPasswordAlphabet) - 1;  // 31
const char kHex[] = "0123456789abcdef";

void append(char *dst, size_t cap, size_t &n, const char *s) {
  for (; s != nullptr && *s != '\0' && n + 1 < cap; s++) dst[n++] = *s;
  dst[n] = '\0';
}

void format_uint(char *out, size_t cap, uint64_t v) {
  char tmp[21];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof(tmp));
  size_t i = 0;
  for (; i < n && i + 1 < cap; i++) out[i] = tmp[n - 1 - i];
  out[i] = '\0';
}

bool valid_password(const char *pw, size_t len) {
  if (len != Boot::kPasswordLen) return false;
  for (size_t i = 0; i < len; i++) {
    if (memchr(kPasswordAlphabet, pw[i], kAlphabetSize) == nullptr) return false;
  }
  return true;
}
}  // namespace

Boot::Boot(const Hal &hal, Device &device, Network &network, const BootOptions &options)
    : hal_(hal), device_(device), network_(network), options_(options) {}

bool Boot::setup() {
  this->setup_start_ms_ = this->hal_.clock->millis();
  // 1. Safe pins and the stored config, before anything touches the radio.
  bool ok = this->device_.setup();
  this->config_applied_ms_ = this->hal_.clock->millis();
  char ms[21];
  format_uint(ms, sizeof(ms), this->config_applied_ms_ - this->setup_start_ms_);
  this->log("boot: actuators safe, stored config applied after ", ms, " ms");
  if (!ok) return false;

  uint8_t mac[6] = {0};
  this->hal_.wifi->mac(mac);
  size_t n = 0;
  append(this->ssid_, sizeof(this->ssid_), n, "AutomationOne-");
  const char suffix[7] = {kHex[mac[3] >> 4], kHex[mac[3] & 15], kHex[mac[4] >> 4],
                          kHex[mac[4] & 15], kHex[mac[5] >> 4], kHex[mac[5] & 15], '\0'};
  append(this->ssid_, sizeof(this->ssid_), n, suffix);
  this->load_password();
  if (this->options_.button_gpio >= 0) this->hal_.gpio->mode(static_cast<uint8_t>(this->options_.button_gpio), PinMode::kInputPullup);

  // 2. The network, without waiting for it.
  if (this->network_.has_credentials()) {
    this->network_.start_station();
    this->station_started_ = true;
    this->log("set-up portal ", this->ssid_, ": hold the set-up button to open it, password: ", this->password_);
  } else {
    this->open_portal("no WiFi stored");
  }
  return true;
}

void Boot::load_password() {
  size_t len = 0;
  uint8_t *buf = reinterpret_cast<uint8_t *>(this->password_);
  if (this->hal_.storage->load(kPasswordKey, buf, kPasswordLen, len) && valid_password(this->password_, len)) {
    this->password_[kPasswordLen] = '\0';
    return;
  }
  // First boot (or after a factory reset): a new random password, kept from now on.
  size_t i = 0;
  while (i < kPasswordLen) {
    uint8_t r[16];
    this->network_.random(r, sizeof(r));
    for (size_t k = 0; k < sizeof(r) && i < kPasswordLen; k++) {
      if (r[k] < 248) this->password_[i++] = kPasswordAlphabet[r[k] % kAlphabetSize];  // 248 = 8 * 31: no bias
    }
  }
  this->password_[kPasswordLen] = '\0';
  if (!this->hal_.storage->save(kPasswordKey, buf, kPasswordLen)) this->log("portal password not persisted");
}

void Boot::open_portal(const char *why) {
  if (this->portal_open_) return;
  if (!this->network_.open_portal(this->ssid_, this->password_)) {
    this->log("set-up portal could not start");
    return;
  }
  this->portal_open_ = true;
  this->portal_deadline_ms_ = this->hal_.clock->millis() + this->options_.portal_timeout_s * 1000ULL;
  this->log("set-up portal open (", why, "): ", this->ssid_);
  this->log("set-up portal password: ", this->password_);
}

void Boot::close_portal() {
  this->network_.close_portal();
  this->portal_open_ = false;
  if (this->network_.has_credentials()) {
    this->network_.start_station();
    this->station_started_ = true;
  }
}

void Boot::button_loop(uint64_t now) {
  if (this->options_.button_gpio < 0) return;
  bool down = !this->hal_.gpio->read(static_cast<uint8_t>(this->options_.button_gpio));
  if (!down) {
    this->button_armed_ = true;
    this->button_down_ = false;
    this->button_fired_ = false;
    return;
  }
  if (!this->button_armed_ || this->button_fired_) return;
  if (!this->button_down_) {
    this->button_down_ = true;
    this->button_since_ms_ = now;
  }
  if (now - this->button_since_ms_ >= this->options_.long_press_ms) {
    this->button_fired_ = true;
    this->open_portal("set-up button held");
  }
}

void Boot::loop() {
  this->device_.loop();  // first: actuator timers, sensors, the link (non-blocking)
  uint64_t now = this->hal_.clock->millis();
  this->button_loop(now);
  if (!this->portal_open_) return;
  if (this->network_.portal_loop() == PortalEvent::kSaved) {
    this->log("set-up portal: settings saved, restarting");
    this->network_.close_portal();
    this->portal_open_ = false;
    this->hal_.system->restart();
    return;
  }
  if (now >= this->portal_deadline_ms_) {
    this->log("set-up portal closed: timeout");
    this->close_portal();
  }
}

uint64_t Boot::next_due_ms() const {
  uint64_t now = this->hal_.clock->millis();
  if (this->portal_open_) return now;  // served a little at a time
  uint64_t due = this->device_.next_due_ms();
  if (this->button_down_ && !this->button_fired_) {
    uint64_t fires = this->button_since_ms_ + this->options_.long_press_ms;
    if (fires < due) due = fires < now ? now : fires;
  }
  return due;
}

void Boot::log(const char *a, const char *b, const char *c, const char *d) {
  char line[160];
  size_t n = 0;
  line[0] = '\0';
  append(line, sizeof(line), n, a);
  append(line, sizeof(line), n, b);
  append(line, sizeof(line), n, c);
  append(line, sizeof(line), n, d);
  this->hal_.system->log(line);
}

}  // namespace a1
