// A device's broker login as stored (docs/protocol.md "Device login"): never logged.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

struct StoredLogin {
  char username[65] = {0};  // empty: the transport's own login (portal, build)
  char password[129] = {0};
  char ca[2801] = {0};  // empty: no TLS change
  uint16_t port = 0;    // 0: the configured port
  bool set() const { return this->username[0] != '\0'; }
};

// Cleared field by field (wipe_login), copied in place: never a 3 KB temporary on the stack.
// "username\0password\0port\0ca\0" (a zero-length blob: no login stored).
size_t encode_login(const StoredLogin &login, uint8_t *buf, size_t cap);
bool decode_login(const uint8_t *buf, size_t len, StoredLogin &out);
// Overwrites the password in memory and clears the rest.
void wipe_login(StoredLogin &login);
void copy_login(StoredLogin &to, const StoredLogin &from);

constexpr size_t kLoginBlobCap = 65 + 129 + 6 + 2801 + 4;
constexpr const char *kLoginKey = "login";
constexpr const char *kFallbackLoginKey = "login.old";
constexpr uint32_t kLoginSwitchTimeoutMs = 30000;
constexpr int kRefusalsBeforeFallback = 3;

}  // namespace a1
