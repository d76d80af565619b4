#include "ota_arduino.h"

#include <Update.h>
#include <string.h>

namespace a1 {
namespace arduino {

namespace {
// esp_image_header_t (ESP-IDF bootloader_support): magic at 0, chip_id (LE) at 12.
constexpr uint8_t kImageMagic = 0xE9;
constexpr size_t kChipIdOffset = 12;
#ifdef CONFIG_IDF_FIRMWARE_CHIP_ID
constexpr uint16_t kRunningChip = CONFIG_IDF_FIRMWARE_CHIP_ID;
#else
constexpr uint16_t kRunningChip = 0x0000;  // ESP32 (IDF < 4.4 has no other chip in our boards)
#endif
}  // namespace

OtaError ArduinoFirmware::open(const char *url, uint32_t &size) {
  size = 0;
  bool tls = strncmp(url, "https://", 8) == 0;
  if (tls) {
#ifdef A1_OTA_CA_CERT
    this->secure_.setCACert(A1_OTA_CA_CERT);
#else
    this->secure_.setInsecure();  // the SHA-256 from HA still guards the image itself
#endif
  }
  this->http_.setTimeout(10000);
  if (!this->http_.begin(tls ? static_cast<WiFiClient &>(this->secure_) : this->plain_, url)) {
    this->set_detail("bad url");
    return OtaError::kDownloadFailed;
  }
  int status = this->http_.GET();
  if (status != 200) {
    this->set_detail(status < 0 ? "connection error " : "http status ", status < 0 ? -status : status);
    this->http_.end();
    return OtaError::kDownloadFailed;
  }
  int length = this->http_.getSize();
  this->remaining_ = length > 0 ? length : -1;
  size = length > 0 ? static_cast<uint32_t>(length) : 0;
  this->stream_ = this->http_.getStreamPtr();
  return OtaError::kNone;
}

int ArduinoFirmware::read(uint8_t *buf, size_t cap) {
  if (this->stream_ == nullptr) return kError;
  if (this->remaining_ == 0) return kEnd;
  int avail = this->stream_->available();
  if (avail <= 0) {
    if (this->http_.connected()) return 0;  // nothing yet: the loop goes on
    if (this->remaining_ < 0) return kEnd;   // no Content-Length: the body ends at close
    this->set_detail("connection closed early");
    return kError;
  }
  size_t want = static_cast<size_t>(avail) < cap ? static_cast<size_t>(avail) : cap;
  if (this->remaining_ > 0 && static_cast<int64_t>(want) > this->remaining_) want = static_cast<size_t>(this->remaining_);
  int n = static_cast<int>(this->stream_->readBytes(buf, want));  // <= available(): no wait
  if (this->remaining_ > 0) this->remaining_ -= n;
  return n;
}

OtaError ArduinoFirmware::check_header(const uint8_t *head, size_t len, const char *board) {
  (void)board;  // the command's board was checked by the core; here the chip is checked
  if (len < kChipIdOffset + 2 || head[0] != kImageMagic) {
    this->set_detail("no ESP image header");
    return OtaError::kBadImage;
  }
  uint16_t chip = static_cast<uint16_t>(head[kChipIdOffset] | head[kChipIdOffset + 1] << 8);
  if (chip != kRunningChip) {
    this->set_detail("image for chip id ", chip);
    return OtaError::kBoardMismatch;
  }
  return OtaError::kNone;
}

OtaError ArduinoFirmware::begin(uint32_t size) {
  if (!Update.begin(size > 0 ? size : UPDATE_SIZE_UNKNOWN)) {
    this->set_detail(Update.errorString());
    return Update.getError() == UPDATE_ERROR_SIZE ? OtaError::kTooLarge : OtaError::kFlashError;
  }
  this->updating_ = true;
  return OtaError::kNone;
}

bool ArduinoFirmware::write(const uint8_t *data, size_t len) {
  if (Update.write(const_cast<uint8_t *>(data), len) == len) return true;
  this->set_detail(Update.errorString());
  return false;
}

bool ArduinoFirmware::finish() {
  this->http_.end();
  this->stream_ = nullptr;
  // end(true): the core has checked the length; this validates the image and sets it to boot.
  bool ok = Update.end(true);
  this->updating_ = false;
  if (!ok) this->set_detail(Update.errorString());
  return ok;
}

void ArduinoFirmware::abort() {
  if (this->updating_) Update.abort();  // the boot partition is left as it was
  this->updating_ = false;
  this->http_.end();
  this->stream_ = nullptr;
}

}  // namespace arduino
}  // namespace a1
