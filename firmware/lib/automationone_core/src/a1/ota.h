// Firmware update state machine (docs/protocol.md "Firmware updates"): checks the `ota`
// command, streams the image from the HAL's download into the HAL's update partition while the
// loop keeps running, verifies size and SHA-256, and only then marks the new image bootable.
// Any refusal leaves the running firmware as it is.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/protocol.h"
#include "a1/sha256.h"

namespace a1 {

enum class OtaState : uint8_t { kIdle, kDownloading, kInstalled, kFailed };

enum class OtaError : uint8_t {
  kNone,
  kBusy,
  kNoChecksum,
  kBoardMismatch,
  kBadImage,
  kTooLarge,
  kDownloadFailed,
  kSizeMismatch,
  kChecksumMismatch,
  kFlashError,
  kUnsupported,
};
const char *ota_error_name(OtaError e);
const char *ota_state_name(OtaState s);

// HAL: an HTTP(S) download and the board's inactive update partition.
class FirmwareUpdater {
 public:
  static constexpr size_t kDetailCap = 65;
  virtual ~FirmwareUpdater() = default;
  // Starts the download; `size` gets the Content-Length (0: unknown). kNone, or why not
  // (kDownloadFailed with the HTTP status or socket error in detail()).
  virtual OtaError open(const char *url, uint32_t &size) = 0;
  // Up to `cap` body bytes: > 0 read, 0 none yet (try again next loop), kEnd, kError.
  virtual int read(uint8_t *buf, size_t cap) = 0;
  // Is this image for this board? Called once with the first kHeadBytes (fewer if the image is
  // shorter). kNone, kBadImage (not an image of this device's kind) or kBoardMismatch.
  virtual OtaError check_header(const uint8_t *head, size_t len, const char *board) = 0;
  // Prepares the update partition for `size` bytes (kTooLarge if they do not fit).
  virtual OtaError begin(uint32_t size) = 0;
  virtual bool write(const uint8_t *data, size_t len) = 0;
  // Marks the written image bootable; it runs after the next restart.
  virtual bool finish() = 0;
  // Closes the download and discards a partial image; the running firmware stays bootable.
  virtual void abort() = 0;
  const char *detail() const { return this->detail_; }

  static constexpr int kEnd = -1;
  static constexpr int kError = -2;
  static constexpr size_t kHeadBytes = 96;

 protected:
  void set_detail(const char *a, long n = -1);
  char detail_[kDetailCap] = {0};
};

struct OtaReport {
  OtaState state;
  uint8_t progress;
  OtaError error;
  const char *detail;
  const char *version;
  const char *cmd_id;
};
// Payload of `ota/status`.
size_t build_ota_status(char *buf, size_t cap, const OtaReport &r);

class OtaUpdate {
 public:
  static constexpr size_t kChunk = 1024;
  static constexpr int kChunksPerPoll = 8;   // <= 8 KB per loop pass keeps the loop responsive
  static constexpr uint32_t kStallMs = 30000;  // no byte for this long: download_failed

  explicit OtaUpdate(FirmwareUpdater *hal) : hal_(hal) {}
  // Checks and starts an update; kNone when it started, else the refusal (nothing changed
  // except report(), which then describes it).
  OtaError start(const SystemCommand &cmd, const char *board, uint64_t now);
  // Download work for one loop pass; true when report() changed (progress step or result).
  bool poll(uint64_t now);
  bool downloading() const { return this->state_ == OtaState::kDownloading; }
  OtaState state() const { return this->state_; }
  OtaReport report() const;

 private:
  bool fail(OtaError e, const char *detail = nullptr);
  bool feed(const uint8_t *data, size_t len);
  bool complete();

  FirmwareUpdater *hal_;
  OtaState state_ = OtaState::kIdle;
  OtaError error_ = OtaError::kNone;
  char detail_[FirmwareUpdater::kDetailCap] = {0};
  char sha256_[65] = {0};
  char board_[33] = {0};
  char version_[33] = {0};
  char cmd_id_[37] = {0};
  uint32_t expected_ = 0;  // 0: unknown length
  uint32_t received_ = 0;
  uint8_t progress_ = 0;
  uint64_t last_byte_ms_ = 0;
  bool header_checked_ = false;
  size_t head_len_ = 0;
  Sha256 sha_;
  uint8_t buf_[kChunk];
};

}  // namespace a1
