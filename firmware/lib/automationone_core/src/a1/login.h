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

// Where a `move` sent the device (docs/protocol.md "Moving to another broker"): its kaiser id
// and broker; an empty host is the broker the transport was set up with.
struct StoredBroker {
  char kaiser_id[33] = {0};
  char host[65] = {0};
  uint16_t port = 0;  // 0: the login's or the set-up port
  bool set() const { return this->kaiser_id[0] != '\0'; }
};
// "kaiser_id\0host\0port\0"
size_t encode_broker(const StoredBroker &broker, uint8_t *buf, size_t cap);
bool decode_broker(const uint8_t *buf, size_t len, StoredBroker &out);
constexpr size_t kBrokerBlobCap = 33 + 65 + 6;
constexpr const char *kBrokerKey = "broker";
constexpr uint32_t kMoveTimeoutMs = 30000;
constexpr const char *kLoginKey = "login";
constexpr const char *kFallbackLoginKey = "login.old";
constexpr uint32_t kLoginSwitchTimeoutMs = 30000;
constexpr int kRefusalsBeforeFallback = 3;

}  // namespace a1
