#include "a1/sensors.h"

#include <string.h>

namespace a1 {

namespace {
struct TypeMethod {
  const char *type;
  ReadMethod method;
};
const TypeMethod kTypes[] = {
    {"analog", ReadMethod::kAdc},       {"ph", ReadMethod::kAdc},        {"ec", ReadMethod::kAdc},
    {"tds", ReadMethod::kAdc},          {"soil", ReadMethod::kAdc},      {"moisture", ReadMethod::kAdc},
    {"light", ReadMethod::kAdc},        {"voltage", ReadMethod::kAdc},   {"pressure", ReadMethod::kAdc},
    {"water_level", ReadMethod::kAdc},  {"digital", ReadMethod::kDigital}, {"binary", ReadMethod::kDigital},
    {"motion", ReadMethod::kDigital},   {"contact", ReadMethod::kDigital}, {"ds18b20", ReadMethod::kOneWire},
    {"sht31", ReadMethod::kSht31},
};

int hexval(char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; }

// A text that must fit whole (a cut unit could end inside a UTF-8 sequence): else left empty.
void copy_whole(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = 0;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

const char kCelsius[] = "\xC2\xB0" "C";
}  // namespace

ReadMethod read_method_for(const char *type) {
  for (const TypeMethod &t : kTypes) {
    if (strcmp(t.type, type) == 0) return t.method;
  }
  return ReadMethod::kNone;
}

uint8_t dallas_crc8(const uint8_t *data, int len) {
  uint8_t crc = 0;
  for (int i = 0; i < len; i++) {
    uint8_t in = data[i];
    for (int b = 0; b < 8; b++) {
      uint8_t mix = (crc ^ in) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8C;
      in >>= 1;
    }
  }
  return crc;
}

uint8_t sht31_crc8(const uint8_t *data, int len) {
  uint8_t crc = 0xFF;  // polynomial 0x31, init 0xFF (Sensirion SHT3x datasheet, section 4.12)
  for (int i = 0; i < len; i++) {
    crc ^= data[i];
    for (int b = 0; b < 8; b++) crc = static_cast<uint8_t>((crc & 0x80) ? (crc << 1) ^ 0x31 : crc << 1);
  }
  return crc;
}

bool SensorBank::add(const SensorConfig &cfg, ReadMethod method, uint64_t now_ms) {
  if (this->count_ >= kMaxSensors) return false;
  Slot &s = this->slots_[this->count_++];
  s = Slot();
  s.cfg = cfg;
  s.method = method;
  // Stagger the first samples a little so equal intervals do not all fire in one loop.
  s.next_due_ms = now_ms + 100ULL * static_cast<uint64_t>(this->count_);
  if (method == ReadMethod::kOneWire && strlen(cfg.addr) == 16) {
    for (int i = 0; i < 8; i++) s.rom[i] = static_cast<uint8_t>(hexval(cfg.addr[2 * i]) << 4 | hexval(cfg.addr[2 * i + 1]));
    s.has_rom = true;
  }
  if (method == ReadMethod::kSht31) {
    s.i2c_addr = 0x44;
    if (strlen(cfg.addr) == 4) s.i2c_addr = static_cast<uint8_t>(hexval(cfg.addr[2]) << 4 | hexval(cfg.addr[3]));
  }
  switch (method) {
    case ReadMethod::kAdc:
      this->hal_.gpio->mode(cfg.gpio, PinMode::kInput);
      break;
    case ReadMethod::kDigital:
      this->hal_.gpio->mode(cfg.gpio, PinMode::kInput);
      break;
    case ReadMethod::kSht31:
      this->hal_.i2c->begin(cfg.gpio, static_cast<uint8_t>(cfg.scl));
      break;
    default:
      break;
  }
  return true;
}

void SensorBank::set_processed(uint8_t gpio, double value) {
  for (int i = 0; i < this->count_; i++) {
    if (this->slots_[i].cfg.gpio == gpio) {
      this->slots_[i].has_processed = true;
      this->slots_[i].processed = value;
    }
  }
}

bool SensorBank::processed(uint8_t gpio, double &value) const {
  for (int i = 0; i < this->count_; i++) {
    if (this->slots_[i].cfg.gpio == gpio && this->slots_[i].has_processed) {
      value = this->slots_[i].processed;
      return true;
    }
  }
  return false;
}

void SensorBank::set_temperature(uint8_t gpio, double celsius) {
  if (gpio > kMaxGpio) return;
  this->temp_c_[gpio] = celsius;
  this->has_temp_[gpio] = true;
}

bool SensorBank::temperature(uint8_t gpio, double &celsius) const {
  if (gpio > kMaxGpio || !this->has_temp_[gpio]) return false;
  celsius = this->temp_c_[gpio];
  return true;
}

// Processed on the device (docs/protocol.md "On-device processing"): value, unit and quality from
// the pushed `proc`; a reading without a usable value goes out raw with the quality (bad).
void SensorBank::emit_processed(Reading &r, const Slot &s, double raw, uint64_t now_ms) {
  const Processing &p = s.cfg.proc;
  double temp = 0;
  bool has_temp = p.temp_gpio >= 0 && this->temperature(static_cast<uint8_t>(p.temp_gpio), temp);
  ProcResult res = process_reading(p, raw, has_temp, temp);
  r.raw = raw;
  if (res.has_value && res.value >= -1e9 && res.value <= 1e9) {
    r.has_value = true;
    r.value = res.value;
    copy_whole(r.unit, sizeof(r.unit), p.unit);
    if (p.kind == ProcKind::kNtc && res.quality != Quality::kBad) this->set_temperature(s.cfg.gpio, res.value);
  }
  copy_whole(r.quality, sizeof(r.quality), quality_name(res.quality));
  this->emit(r, s, now_ms);
}

void SensorBank::loop() {
  uint64_t now = this->hal_.clock->millis();
  for (int i = 0; i < this->count_; i++) {
    Slot &s = this->slots_[i];
    if (s.phase_due_ms != 0 && now >= s.phase_due_ms) {
      s.phase_due_ms = 0;
      this->finish(s, now);
    }
    if (now >= s.next_due_ms) {
      // Fixed-rate schedule without drift; after a long stall, skip to the next slot.
      s.next_due_ms += s.cfg.interval_ms;
      if (s.next_due_ms <= now) s.next_due_ms = now + s.cfg.interval_ms;
      this->sample(s, now);
    }
  }
}

uint64_t SensorBank::next_due_ms() const {
  uint64_t due = UINT64_MAX;
  for (int i = 0; i < this->count_; i++) {
    const Slot &s = this->slots_[i];
    if (s.next_due_ms < due) due = s.next_due_ms;
    if (s.phase_due_ms != 0 && s.phase_due_ms < due) due = s.phase_due_ms;
  }
  return due;
}

void SensorBank::onewire_select(const Slot &s) {
  OneWireBus &ow = *this->hal_.onewire;
  if (s.has_rom) {
    ow.write_byte(s.cfg.gpio, 0x55);  // MATCH ROM
    for (uint8_t b : s.rom) ow.write_byte(s.cfg.gpio, b);
  } else {
    ow.write_byte(s.cfg.gpio, 0xCC);  // SKIP ROM: the only device on the pin
  }
}

void SensorBank::emit(Reading &r, const Slot &s, uint64_t now_ms) {
  r.gpio = s.cfg.gpio;
  r.sample_ms = now_ms;
  r.ts = this->hal_.clock->unix_ms();
  memcpy(r.addr, s.cfg.addr, sizeof(r.addr));
  r.addr[sizeof(r.addr) - 1] = '\0';
  this->sink_.on_reading(r);
}

void SensorBank::sample(Slot &s, uint64_t now_ms) {
  Reading r;
  switch (s.method) {
    case ReadMethod::kAdc: {
      int raw = this->hal_.adc->read(s.cfg.gpio);
      if (raw >= 0 && s.cfg.processed && s.cfg.proc.kind != ProcKind::kNone) {
        this->emit_processed(r, s, raw, now_ms);
        return;
      }
      if (raw < 0) {
        r.raw = 0;
        strcpy(r.quality, "bad");
      } else {
        r.raw = raw;
      }
      this->emit(r, s, now_ms);
      return;
    }
    case ReadMethod::kDigital:
      r.raw = this->hal_.gpio->read(s.cfg.gpio) ? 1 : 0;
      this->emit(r, s, now_ms);
      return;
    case ReadMethod::kOneWire: {
      OneWireBus &ow = *this->hal_.onewire;
      if (!ow.reset(s.cfg.gpio)) {
        r.raw = 0;
        strcpy(r.quality, "bad");
        this->emit(r, s, now_ms);
        return;
      }
      this->onewire_select(s);
      ow.write_byte(s.cfg.gpio, 0x44);  // CONVERT T; read the scratchpad when it is done
      s.phase_due_ms = now_ms + kDs18b20ConversionMs;
      return;
    }
    case ReadMethod::kSht31: {
      const uint8_t cmd[2] = {0x24, 0x00};  // single shot, high repeatability, no clock stretching
      if (!this->hal_.i2c->write(s.i2c_addr, cmd, 2)) {
        r.raw = 0;
        strcpy(r.quality, "bad");
        this->emit(r, s, now_ms);
        return;
      }
      s.phase_due_ms = now_ms + kSht31MeasureMs;
      return;
    }
    case ReadMethod::kNone:
      return;
  }
}

void SensorBank::finish(Slot &s, uint64_t now_ms) {
  Reading r;
  if (s.method == ReadMethod::kOneWire) {
    OneWireBus &ow = *this->hal_.onewire;
    uint8_t pad[9] = {0};
    bool present = ow.reset(s.cfg.gpio);
    if (present) {
      this->onewire_select(s);
      ow.write_byte(s.cfg.gpio, 0xBE);  // READ SCRATCHPAD
      for (uint8_t &b : pad) b = ow.read_byte(s.cfg.gpio);
    }
    bool crc_ok = present && dallas_crc8(pad, 8) == pad[8];
    double celsius = static_cast<int16_t>(pad[0] | pad[1] << 8) / 16.0;
    if (crc_ok) this->set_temperature(s.cfg.gpio, celsius);
    if (s.cfg.processed && crc_ok) {
      r.has_value = true;
      r.value = celsius;
      strcpy(r.unit, kCelsius);
    } else {
      // Raw words: the scratchpad little-endian in pairs; word 0 is the temperature (1/16 degC).
      r.nwords = 5;
      for (int i = 0; i < 4; i++) r.words[i] = static_cast<uint16_t>(pad[2 * i] | pad[2 * i + 1] << 8);
      r.words[4] = pad[8];
    }
    if (!crc_ok) strcpy(r.quality, "bad");
    this->emit(r, s, now_ms);
    return;
  }
  if (s.method == ReadMethod::kSht31) {
    uint8_t d[6] = {0};
    bool ok = this->hal_.i2c->read(s.i2c_addr, d, 6);
    bool crc_ok = ok && sht31_crc8(d, 2) == d[2] && sht31_crc8(d + 3, 2) == d[5];
    double celsius = -45.0 + 175.0 * static_cast<double>(d[0] << 8 | d[1]) / 65535.0;
    if (crc_ok) this->set_temperature(s.cfg.gpio, celsius);
    if (s.cfg.processed && crc_ok) {
      // One reading per quantity (Sensirion SHT3x datasheet 4.13): temperature first, then
      // humidity with `quantity`, both from one measurement.
      r.has_value = true;
      r.value = celsius;
      strcpy(r.unit, kCelsius);
      this->emit(r, s, now_ms);
      Reading rh;
      rh.has_value = true;
      rh.value = 100.0 * static_cast<double>(d[3] << 8 | d[4]) / 65535.0;
      strcpy(rh.unit, "%");
      strcpy(rh.quantity, "humidity");
      this->emit(rh, s, now_ms);
      return;
    } else {
      // Raw words: temperature, humidity, and both CRC bytes (T << 8 | RH).
      r.nwords = 3;
      r.words[0] = static_cast<uint16_t>(d[0] << 8 | d[1]);
      r.words[1] = static_cast<uint16_t>(d[3] << 8 | d[4]);
      r.words[2] = static_cast<uint16_t>(d[2] << 8 | d[5]);
    }
    if (!crc_ok) strcpy(r.quality, "bad");
    this->emit(r, s, now_ms);
  }
}

}  // namespace a1
