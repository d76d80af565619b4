// Simulated firmware update for the host (virtual-esp): downloads the image over plain HTTP,
// checks it like a board would (header, size, SHA-256 in the core) and "flashes" it to
// <storage>/firmware.img, whose header names the version the device runs after the "reboot".
//
// Image format (docs/protocol.md "Firmware updates"): the line
// `A1-SIM-IMAGE board=<board> version=<fw_version>\n`, then any bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/ota.h"

namespace a1 {
namespace posix {

// Reads board and version from the start of a simulated image; false if it is not one.
bool parse_sim_header(const uint8_t *head, size_t len, char *board, size_t board_cap, char *version,
                      size_t version_cap);

class PosixFirmware : public FirmwareUpdater {
 public:
  // The simulated update partition, as the ESP32's default 1.9 MB app slot.
  static constexpr uint32_t kPartitionSize = 1966080;

  explicit PosixFirmware(const char *storage_dir = nullptr);
  ~PosixFirmware() override;
  OtaError open(const char *url, uint32_t &size) override;
  int read(uint8_t *buf, size_t cap) override;
  OtaError check_header(const uint8_t *head, size_t len, const char *board) override;
  OtaError begin(uint32_t size) override;
  bool write(const uint8_t *data, size_t len) override;
  bool finish() override;
  void abort() override;

  // Version of the image installed by the last finish() (empty: none).
  const char *installed_version() const { return this->installed_; }
  // Version in <storage>/firmware.img, the image a restart boots; false without one.
  bool boot_version(char *out, size_t cap) const;
  uint32_t written() const { return this->written_; }

 private:
  void close_socket();
  char dir_[256] = {0};
  int fd_ = -1;
  void *file_ = nullptr;  // FILE* of the partial image
  char pending_[1024] = {0};  // the response head, then the body bytes read with it
  size_t pending_len_ = 0;
  size_t pending_off_ = 0;
  char version_[33] = {0};    // from the header of the image being written
  char installed_[33] = {0};
  uint32_t written_ = 0;
};

}  // namespace posix
}  // namespace a1
