#include "a1/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace a1 {

namespace {
bool put(uint8_t *buf, size_t cap, size_t &n, const char *s) {
  size_t len = strlen(s);
  if (n + len + 1 > cap) return false;
  memcpy(buf + n, s, len + 1);
  n += len + 1;
  return true;
}

// The next NUL-terminated field of at most cap-1 characters.
bool take(const uint8_t *buf, size_t len, size_t &at, char *out, size_t cap) {
  const void *end = at < len ? memchr(buf + at, 0, len - at) : nullptr;
  if (end == nullptr) return false;
  size_t n = static_cast<size_t>(static_cast<const uint8_t *>(end) - (buf + at));
  if (n >= cap) return false;
  memcpy(out, buf + at, n + 1);
  at += n + 1;
  return true;
}
}  // namespace

size_t encode_login(const StoredLogin &login, uint8_t *buf, size_t cap) {
  if (!login.set()) return 0;
  char port[6];
  snprintf(port, sizeof(port), "%u", static_cast<unsigned>(login.port));
  size_t n = 0;
  if (!put(buf, cap, n, login.username) || !put(buf, cap, n, login.password) || !put(buf, cap, n, port) ||
      !put(buf, cap, n, login.ca)) {
    return 0;
  }
  return n;
}

bool decode_login(const uint8_t *buf, size_t len, StoredLogin &out) {
  wipe_login(out);  // field by field: no 3 KB temporary on the stack
  char port[6];
  size_t at = 0;
  if (!take(buf, len, at, out.username, sizeof(out.username)) ||
      !take(buf, len, at, out.password, sizeof(out.password)) || !take(buf, len, at, port, sizeof(port)) ||
      !take(buf, len, at, out.ca, sizeof(out.ca)) || !out.set()) {
    wipe_login(out);
    return false;
  }
  long p = strtol(port, nullptr, 10);
  out.port = p > 0 && p <= 65535 ? static_cast<uint16_t>(p) : 0;
  return true;
}

size_t encode_broker(const StoredBroker &broker, uint8_t *buf, size_t cap) {
  if (!broker.set()) return 0;
  char port[6];
  snprintf(port, sizeof(port), "%u", static_cast<unsigned>(broker.port));
  size_t n = 0;
  if (!put(buf, cap, n, broker.kaiser_id) || !put(buf, cap, n, broker.host) || !put(buf, cap, n, port)) return 0;
  return n;
}

bool decode_broker(const uint8_t *buf, size_t len, StoredBroker &out) {
  out = StoredBroker();
  char port[6];
  size_t at = 0;
  if (!take(buf, len, at, out.kaiser_id, sizeof(out.kaiser_id)) || !take(buf, len, at, out.host, sizeof(out.host)) ||
      !take(buf, len, at, port, sizeof(port)) || !out.set()) {
    out = StoredBroker();
    return false;
  }
  long p = strtol(port, nullptr, 10);
  out.port = p > 0 && p <= 65535 ? static_cast<uint16_t>(p) : 0;
  return true;
}

void wipe_login(StoredLogin &login) {
  volatile char *p = login.password;
  for (size_t i = 0; i < sizeof(login.password); i++) p[i] = 0;
  memset(login.username, 0, sizeof(login.username));
  memset(login.ca, 0, sizeof(login.ca));
  login.port = 0;
}

void copy_login(StoredLogin &to, const StoredLogin &from) {
  memcpy(to.username, from.username, sizeof(to.username));
  memcpy(to.password, from.password, sizeof(to.password));
  memcpy(to.ca, from.ca, sizeof(to.ca));
  to.port = from.port;
}

}  // namespace a1
