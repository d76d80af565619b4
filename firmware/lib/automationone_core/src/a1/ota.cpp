#include "a1/ota.h"

#include <string.h>

#include "a1/json.h"

namespace a1 {

namespace {
void copy_bounded(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (; src != nullptr && src[n] != '\0' && n + 1 < cap; n++) dst[n] = src[n];
  dst[n] = '\0';
}

void append_uint(char *dst, size_t cap, uint64_t v) {
  char tmp[21];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  size_t len = strlen(dst);
  while (n > 0 && len + 1 < cap) dst[len++] = tmp[--n];
  dst[len] = '\0';
}
}  // namespace

const char *ota_error_name(OtaError e) {
  static const char *const kNames[] = {"",          "busy",          "no_checksum",   "board_mismatch",
                                       "bad_image", "too_large",     "download_failed", "size_mismatch",
                                       "checksum_mismatch", "flash_error", "unsupported"};
  return kNames[static_cast<int>(e)];
}

const char *ota_state_name(OtaState s) {
  static const char *const kNames[] = {"idle", "downloading", "installed", "failed"};
  return kNames[static_cast<int>(s)];
}

void FirmwareUpdater::set_detail(const char *a, long n) {
  copy_bounded(this->detail_, sizeof(this->detail_), a);
  if (n >= 0) append_uint(this->detail_, sizeof(this->detail_), static_cast<uint64_t>(n));
}

size_t build_ota_status(char *buf, size_t cap, const OtaReport &r) {
  JsonWriter w(buf, cap);
  w.begin_object().kv_int("v", 1).kv("state", ota_state_name(r.state)).kv_int("progress", r.progress);
  if (r.error != OtaError::kNone) w.kv("error", ota_error_name(r.error));
  if (r.detail != nullptr && r.detail[0] != '\0') w.kv("detail", r.detail);
  if (r.version != nullptr && r.version[0] != '\0') w.kv("version", r.version);
  if (r.cmd_id != nullptr && r.cmd_id[0] != '\0') w.kv("cmd_id", r.cmd_id);
  w.end_object();
  return w.ok() ? w.len() : 0;
}

OtaReport OtaUpdate::report() const {
  return OtaReport{this->state_, this->progress_, this->error_, this->detail_, this->version_, this->cmd_id_};
}

bool OtaUpdate::fail(OtaError e, const char *detail) {
  this->state_ = OtaState::kFailed;
  this->error_ = e;
  copy_bounded(this->detail_, sizeof(this->detail_), detail);
  return true;
}

OtaError OtaUpdate::start(const SystemCommand &cmd, const char *board, uint64_t now) {
  if (this->state_ == OtaState::kDownloading || this->state_ == OtaState::kInstalled) {
    // Running, or installed and about to restart (a new write would spoil the verified image).
    return OtaError::kBusy;
  }
  copy_bounded(this->cmd_id_, sizeof(this->cmd_id_), cmd.cmd_id);
  copy_bounded(this->version_, sizeof(this->version_), cmd.version);
  copy_bounded(this->sha256_, sizeof(this->sha256_), cmd.sha256);
  copy_bounded(this->board_, sizeof(this->board_), board);
  this->progress_ = 0;
  this->error_ = OtaError::kNone;
  this->detail_[0] = '\0';
  this->received_ = 0;
  this->head_len_ = 0;
  this->header_checked_ = false;
  this->sha_.reset();
  if (this->hal_ == nullptr) {
    this->fail(OtaError::kUnsupported, "no update partition");
    return this->error_;
  }
  if (strlen(this->sha256_) != 64) {
    this->fail(OtaError::kNoChecksum);
    return this->error_;
  }
  if (cmd.board[0] != '\0' && strcmp(cmd.board, board) != 0) {
    this->fail(OtaError::kBoardMismatch, cmd.board);
    return this->error_;
  }
  uint32_t length = 0;
  OtaError err = this->hal_->open(cmd.url, length);
  if (err != OtaError::kNone) {
    this->fail(err, this->hal_->detail());
    this->hal_->abort();
    return err;
  }
  if (cmd.size > 0 && length > 0 && cmd.size != length) {
    this->fail(OtaError::kSizeMismatch, "content-length differs from size");
    this->hal_->abort();
    return this->error_;
  }
  this->expected_ = cmd.size > 0 ? cmd.size : length;
  err = this->hal_->begin(this->expected_);
  if (err != OtaError::kNone) {
    this->fail(err, this->hal_->detail());
    this->hal_->abort();
    return err;
  }
  this->state_ = OtaState::kDownloading;
  this->last_byte_ms_ = now;
  return OtaError::kNone;
}

bool OtaUpdate::feed(const uint8_t *data, size_t len) {
  this->sha_.update(data, len);
  if (!this->hal_->write(data, len)) return this->fail(OtaError::kFlashError, this->hal_->detail());
  return false;
}

bool OtaUpdate::complete() {
  if (this->expected_ > 0 && this->received_ != this->expected_) {
    char detail[FirmwareUpdater::kDetailCap] = "got ";
    append_uint(detail, sizeof(detail), this->received_);
    return this->fail(OtaError::kSizeMismatch, detail);
  }
  char hex[65];
  this->sha_.finish_hex(hex);
  if (strcmp(hex, this->sha256_) != 0) {
    char detail[FirmwareUpdater::kDetailCap] = "got ";
    copy_bounded(detail + 4, sizeof(detail) - 4, hex);
    return this->fail(OtaError::kChecksumMismatch, detail);
  }
  if (!this->hal_->finish()) return this->fail(OtaError::kFlashError, this->hal_->detail());
  this->state_ = OtaState::kInstalled;
  this->progress_ = 100;
  return true;
}

bool OtaUpdate::poll(uint64_t now) {
  if (this->state_ != OtaState::kDownloading) return false;
  uint8_t before = this->progress_;
  bool changed = false;
  for (int i = 0; i < kChunksPerPoll && !changed; i++) {
    // Until the header is judged, collect its bytes at the front of the buffer.
    uint8_t *dst = this->header_checked_ ? this->buf_ : this->buf_ + this->head_len_;
    size_t cap = this->header_checked_ ? kChunk : FirmwareUpdater::kHeadBytes - this->head_len_;
    int n = this->hal_->read(dst, cap);
    if (n == 0) {
      if (now - this->last_byte_ms_ >= kStallMs) changed = this->fail(OtaError::kDownloadFailed, "timeout");
      break;
    }
    if (n == FirmwareUpdater::kError) {
      changed = this->fail(OtaError::kDownloadFailed, this->hal_->detail());
      break;
    }
    bool end = n == FirmwareUpdater::kEnd;
    if (!end) {
      this->last_byte_ms_ = now;
      this->received_ += static_cast<uint32_t>(n);
      if (this->expected_ > 0 && this->received_ > this->expected_) {
        changed = this->fail(OtaError::kSizeMismatch, "longer than announced");
        break;
      }
      if (!this->header_checked_) this->head_len_ += static_cast<size_t>(n);
    }
    if (!this->header_checked_ && (end || this->head_len_ >= FirmwareUpdater::kHeadBytes)) {
      OtaError err = this->hal_->check_header(this->buf_, this->head_len_, this->board_);
      if (err != OtaError::kNone) {
        changed = this->fail(err, this->hal_->detail());
        break;
      }
      this->header_checked_ = true;
      changed = this->feed(this->buf_, this->head_len_);
    } else if (this->header_checked_ && !end) {
      changed = this->feed(this->buf_, static_cast<size_t>(n));
    }
    if (!changed && end) changed = this->complete();
  }
  if (this->state_ == OtaState::kFailed) {
    this->hal_->abort();
    return true;
  }
  if (this->state_ == OtaState::kDownloading && this->expected_ > 0) {
    this->progress_ = static_cast<uint8_t>(static_cast<uint64_t>(this->received_) * 100 / this->expected_);
    if (this->progress_ > 99) this->progress_ = 99;  // 100 only once verified
  }
  return changed || this->progress_ / 10 != before / 10;
}

}  // namespace a1
