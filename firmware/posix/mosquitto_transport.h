// MqttTransport over libmosquitto (synchronous loop, TCP_NODELAY, last will).
#pragma once

#include <mosquitto.h>

#include "a1/hal.h"

namespace a1 {
namespace posix {

class MosquittoTransport : public MqttTransport {
 public:
  MosquittoTransport(const char *host, int port, int keepalive_s = 15);
  void set_credentials(const char *user, const char *password);
  ~MosquittoTransport() override;
  bool connect(const char *client_id, const Will &will) override;
  bool connected() override { return this->connected_; }
  bool publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) override;
  bool subscribe(const char *topic, int qos) override;
  void loop() override;
  bool set_login(const char *username, const char *password, const char *ca, uint16_t port) override;
  const char *username() override;
  bool set_broker(const char *host, uint16_t port) override;
  void drop() override;
  Failure last_failure() override { return this->failure_; }
  // Waits up to timeout_ms for network traffic (the virtual device's idle sleep).
  void wait(int timeout_ms);
  // Clean shutdown: publish `offline` ourselves (a clean disconnect suppresses the will).
  void disconnect(const char *status_topic);

 private:
  static void on_connect(struct mosquitto *m, void *self, int rc);
  static void on_disconnect(struct mosquitto *m, void *self, int rc);
  static void on_message(struct mosquitto *m, void *self, const struct mosquitto_message *msg);

  char host_[128];
  char base_host_[128];  // as set up (command line)
  const char *user_ = nullptr;  // as set up (command line)
  const char *password_ = nullptr;
  int port_;
  int base_port_;
  uint16_t login_port_ = 0;   // a delivered login's port (0: none)
  uint16_t broker_port_ = 0;  // a move's port (0: none)
  void choose_port() {
    this->port_ = this->broker_port_ != 0 ? this->broker_port_ : (this->login_port_ != 0 ? this->login_port_ : this->base_port_);
  }
  // A delivered login (docs/protocol.md "Device login"); empty: the one set up.
  char login_user_[65] = {0};
  char login_password_[129] = {0};
  char ca_path_[64] = {0};  // the CA PEM in a private temp file: TLS, verified
  bool dirty_ = false;      // a new login: the next connect() starts a new session
  Failure failure_ = Failure::kNone;
  int keepalive_s_;
  struct mosquitto *mosq_ = nullptr;
  bool connected_ = false;
  int connack_ = -1;
};

}  // namespace posix
}  // namespace a1
