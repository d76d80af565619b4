#include "ota_posix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The qemu build of the tests (picolibc, no sockets) links the partition part only; there the
// download fails with a clear detail (the tests serve images from memory).
#if __has_include(<sys/socket.h>) && __has_include(<netdb.h>)
#define A1_POSIX_SOCKETS 1
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#else
#define A1_POSIX_SOCKETS 0
#endif

namespace a1 {
namespace posix {

namespace {
const char kMagic[] = "A1-SIM-IMAGE board=";

bool token_char(char c, bool version) {
  bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  if (version) ok = ok || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '-';
  return ok;
}

// Copies a run of allowed characters starting at p; returns its end or nullptr.
const uint8_t *take(const uint8_t *p, const uint8_t *end, bool version, char *out, size_t cap) {
  size_t n = 0;
  while (p < end && token_char(static_cast<char>(*p), version)) {
    if (n + 1 >= cap || n >= 32) return nullptr;
    out[n++] = static_cast<char>(*p++);
  }
  out[n] = '\0';
  return n == 0 ? nullptr : p;
}
}  // namespace

bool parse_sim_header(const uint8_t *head, size_t len, char *board, size_t board_cap, char *version,
                      size_t version_cap) {
  const uint8_t *end = head + len;
  size_t magic = sizeof(kMagic) - 1;
  if (len < magic || memcmp(head, kMagic, magic) != 0) return false;
  const uint8_t *p = take(head + magic, end, false, board, board_cap);
  static const char kVersion[] = " version=";
  size_t vlen = sizeof(kVersion) - 1;
  if (p == nullptr || static_cast<size_t>(end - p) < vlen || memcmp(p, kVersion, vlen) != 0) return false;
  p = take(p + vlen, end, true, version, version_cap);
  return p != nullptr && p < end && *p == '\n';
}

PosixFirmware::PosixFirmware(const char *storage_dir) {
  if (storage_dir != nullptr) snprintf(this->dir_, sizeof(this->dir_), "%s", storage_dir);
}

PosixFirmware::~PosixFirmware() { this->abort(); }

void PosixFirmware::close_socket() {
#if A1_POSIX_SOCKETS
  if (this->fd_ >= 0) ::close(this->fd_);
#endif
  this->fd_ = -1;
}

#if !A1_POSIX_SOCKETS
OtaError PosixFirmware::open(const char *url, uint32_t &size) {
  (void)url;
  size = 0;
  this->set_detail("no sockets in this build");
  return OtaError::kDownloadFailed;
}

int PosixFirmware::read(uint8_t *buf, size_t cap) {
  (void)buf;
  (void)cap;
  return kError;
}
#else
OtaError PosixFirmware::open(const char *url, uint32_t &size) {
  size = 0;
  this->pending_len_ = this->pending_off_ = 0;
  if (strncmp(url, "http://", 7) != 0) {
    this->set_detail("only http:// on the host");
    return OtaError::kDownloadFailed;
  }
  char host[128];
  char port[8] = "80";
  const char *h = url + 7;
  const char *path = strchr(h, '/');
  size_t hlen = path != nullptr ? static_cast<size_t>(path - h) : strlen(h);
  if (path == nullptr) path = "/";
  if (hlen == 0 || hlen >= sizeof(host)) {
    this->set_detail("bad host in url");
    return OtaError::kDownloadFailed;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  char *colon = strchr(host, ':');
  if (colon != nullptr) {
    snprintf(port, sizeof(port), "%s", colon + 1);
    *colon = '\0';
  }
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo *res = nullptr;
  if (getaddrinfo(host, port, &hints, &res) != 0 || res == nullptr) {
    this->set_detail("cannot resolve host");
    return OtaError::kDownloadFailed;
  }
  this->fd_ = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  struct timeval tv = {5, 0};
  bool connected = this->fd_ >= 0 &&
                   setsockopt(this->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
                   connect(this->fd_, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!connected) {
    this->set_detail("connect failed, errno ", errno);
    this->close_socket();
    return OtaError::kDownloadFailed;
  }
  char request[512];
  int n = snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: virtual-esp\r\n\r\n", path,
                   host);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(request) || send(this->fd_, request, static_cast<size_t>(n), 0) != n) {
    this->set_detail("request failed");
    this->close_socket();
    return OtaError::kDownloadFailed;
  }
  // Response head (blocking, 5 s timeout); body bytes read with it stay in pending_.
  size_t got = 0;
  const char *body = nullptr;
  while (body == nullptr) {
    if (got + 1 >= sizeof(this->pending_)) {
      this->set_detail("response head too long");
      this->close_socket();
      return OtaError::kDownloadFailed;
    }
    ssize_t r = recv(this->fd_, this->pending_ + got, sizeof(this->pending_) - 1 - got, 0);
    if (r <= 0) {
      this->set_detail("no response");
      this->close_socket();
      return OtaError::kDownloadFailed;
    }
    got += static_cast<size_t>(r);
    this->pending_[got] = '\0';
    const char *sep = strstr(this->pending_, "\r\n\r\n");
    if (sep != nullptr) body = sep + 4;
  }
  int status = 0;
  if (sscanf(this->pending_, "HTTP/%*d.%*d %d", &status) != 1 || status != 200) {
    this->set_detail("http status ", status);
    this->close_socket();
    return OtaError::kDownloadFailed;
  }
  for (const char *line = strstr(this->pending_, "\r\n"); line != nullptr && line < body; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "Content-Length:", 15) == 0) size = static_cast<uint32_t>(strtoul(line + 17, nullptr, 10));
  }
  this->pending_off_ = static_cast<size_t>(body - this->pending_);
  this->pending_len_ = got;
  // The body is read a chunk per loop pass: never wait for the network in read().
  fcntl(this->fd_, F_SETFL, fcntl(this->fd_, F_GETFL) | O_NONBLOCK);
  return OtaError::kNone;
}

int PosixFirmware::read(uint8_t *buf, size_t cap) {
  if (this->pending_off_ < this->pending_len_) {
    size_t n = this->pending_len_ - this->pending_off_;
    if (n > cap) n = cap;
    memcpy(buf, this->pending_ + this->pending_off_, n);
    this->pending_off_ += n;
    return static_cast<int>(n);
  }
  if (this->fd_ < 0) return kError;
  ssize_t r = recv(this->fd_, buf, cap, 0);
  if (r > 0) return static_cast<int>(r);
  if (r == 0) return kEnd;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  this->set_detail("recv failed, errno ", errno);
  return kError;
}
#endif  // A1_POSIX_SOCKETS

OtaError PosixFirmware::check_header(const uint8_t *head, size_t len, const char *board) {
  char image_board[33];
  if (!parse_sim_header(head, len, image_board, sizeof(image_board), this->version_, sizeof(this->version_))) {
    this->set_detail("no A1-SIM-IMAGE header");
    return OtaError::kBadImage;
  }
  if (strcmp(image_board, board) != 0) {
    this->set_detail("image for ");
    strncat(this->detail_, image_board, sizeof(this->detail_) - strlen(this->detail_) - 1);
    return OtaError::kBoardMismatch;
  }
  return OtaError::kNone;
}

OtaError PosixFirmware::begin(uint32_t size) {
  this->written_ = 0;
  if (size > kPartitionSize) {
    this->set_detail("partition holds ", kPartitionSize);
    return OtaError::kTooLarge;
  }
  if (this->dir_[0] != '\0') {
    char path[300];
    snprintf(path, sizeof(path), "%s/firmware.img.part", this->dir_);
    this->file_ = fopen(path, "wb");
    if (this->file_ == nullptr) {
      this->set_detail("cannot open partition file");
      return OtaError::kFlashError;
    }
  }
  return OtaError::kNone;
}

bool PosixFirmware::write(const uint8_t *data, size_t len) {
  if (this->written_ + len > kPartitionSize) {
    this->set_detail("partition full");
    return false;
  }
  this->written_ += static_cast<uint32_t>(len);
  FILE *f = static_cast<FILE *>(this->file_);
  return f == nullptr || fwrite(data, 1, len, f) == len;
}

bool PosixFirmware::finish() {
  this->close_socket();
  if (this->file_ != nullptr) {
    bool ok = fclose(static_cast<FILE *>(this->file_)) == 0;
    this->file_ = nullptr;
    char part[300], image[300];
    snprintf(part, sizeof(part), "%s/firmware.img.part", this->dir_);
    snprintf(image, sizeof(image), "%s/firmware.img", this->dir_);
#if A1_POSIX_SOCKETS
    ok = ok && rename(part, image) == 0;
#else
    ok = false;  // picolibc has no rename(); the qemu tests use no storage directory
#endif
    if (!ok) {
      this->set_detail("cannot activate the image");
      return false;
    }
  }
  snprintf(this->installed_, sizeof(this->installed_), "%s", this->version_);
  return true;
}

void PosixFirmware::abort() {
  this->close_socket();
  if (this->file_ != nullptr) {
    fclose(static_cast<FILE *>(this->file_));
    this->file_ = nullptr;
    char part[300];
    snprintf(part, sizeof(part), "%s/firmware.img.part", this->dir_);
    remove(part);
  }
}

bool PosixFirmware::boot_version(char *out, size_t cap) const {
  if (this->dir_[0] == '\0') return false;
  char path[300];
  snprintf(path, sizeof(path), "%s/firmware.img", this->dir_);
  FILE *f = fopen(path, "rb");
  if (f == nullptr) return false;
  uint8_t head[FirmwareUpdater::kHeadBytes];
  size_t n = fread(head, 1, sizeof(head), f);
  fclose(f);
  char board[33];
  return parse_sim_header(head, n, board, sizeof(board), out, cap);
}

}  // namespace posix
}  // namespace a1
