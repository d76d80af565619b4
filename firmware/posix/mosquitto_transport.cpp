#include "mosquitto_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace a1 {
namespace posix {

namespace {
uint64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000ULL + static_cast<uint64_t>(ts.tv_nsec) / 1000000ULL;
}
}  // namespace

MosquittoTransport::MosquittoTransport(const char *host, int port, int keepalive_s)
    : port_(port), base_port_(port), keepalive_s_(keepalive_s) {
  snprintf(this->host_, sizeof(this->host_), "%s", host);
  snprintf(this->base_host_, sizeof(this->base_host_), "%s", host);
  mosquitto_lib_init();
}

void MosquittoTransport::set_credentials(const char *user, const char *password) {
  this->user_ = user;
  this->password_ = password;
}

bool MosquittoTransport::set_login(const char *username, const char *password, const char *ca, uint16_t port) {
  if (this->ca_path_[0] != '\0') unlink(this->ca_path_);
  this->ca_path_[0] = '\0';
  memset(this->login_password_, 0, sizeof(this->login_password_));
  this->login_user_[0] = '\0';
  this->login_port_ = username != nullptr ? port : 0;
  this->choose_port();
  this->dirty_ = true;
  if (username == nullptr) return true;  // back to the login set up
  snprintf(this->login_user_, sizeof(this->login_user_), "%s", username);
  snprintf(this->login_password_, sizeof(this->login_password_), "%s", password != nullptr ? password : "");
  if (ca != nullptr && ca[0] != '\0') {
    snprintf(this->ca_path_, sizeof(this->ca_path_), "/tmp/a1-ca-XXXXXX");
    int fd = mkstemp(this->ca_path_);
    if (fd < 0) {
      this->ca_path_[0] = '\0';
      return false;
    }
    size_t len = strlen(ca);
    bool ok = write(fd, ca, len) == static_cast<ssize_t>(len);
    close(fd);
    if (!ok) return false;
  }
  return true;
}

bool MosquittoTransport::set_broker(const char *host, uint16_t port) {
  snprintf(this->host_, sizeof(this->host_), "%s", host != nullptr ? host : this->base_host_);
  this->broker_port_ = port;
  this->choose_port();
  this->dirty_ = true;  // a new session there, with its will below the new root
  return true;
}

const char *MosquittoTransport::username() {
  if (this->login_user_[0] != '\0') return this->login_user_;
  return this->user_;
}

void MosquittoTransport::drop() {
  // Called from a message callback (the login command): libmosquitto's loop must not be
  // entered again here, so the session is closed by the next connect().
  this->connected_ = false;
  this->dirty_ = true;
}

MosquittoTransport::~MosquittoTransport() {
  if (this->ca_path_[0] != '\0') unlink(this->ca_path_);
  if (this->mosq_ != nullptr) mosquitto_destroy(this->mosq_);
  mosquitto_lib_cleanup();
}

void MosquittoTransport::on_connect(struct mosquitto *, void *self, int rc) {
  auto *t = static_cast<MosquittoTransport *>(self);
  t->connack_ = rc;
  t->connected_ = rc == 0;
}

void MosquittoTransport::on_disconnect(struct mosquitto *, void *self, int) {
  static_cast<MosquittoTransport *>(self)->connected_ = false;
}

void MosquittoTransport::on_message(struct mosquitto *, void *self, const struct mosquitto_message *msg) {
  auto *t = static_cast<MosquittoTransport *>(self);
  if (t->handler_ != nullptr) {
    t->handler_->on_message(msg->topic, static_cast<const uint8_t *>(msg->payload), static_cast<size_t>(msg->payloadlen));
  }
}

bool MosquittoTransport::connect(const char *client_id, const Will &will) {
  if (this->dirty_ && this->mosq_ != nullptr) {
    mosquitto_disconnect(this->mosq_);  // clean: no last will for a change of login
    mosquitto_loop(this->mosq_, 20, 1);
    mosquitto_destroy(this->mosq_);  // a new login: a new session with it
    this->mosq_ = nullptr;
  }
  this->dirty_ = false;
  this->failure_ = Failure::kNone;
  int rc = MOSQ_ERR_SUCCESS;
  if (this->mosq_ == nullptr) {
    this->mosq_ = mosquitto_new(client_id, true, this);
    if (this->mosq_ == nullptr) return false;
    mosquitto_int_option(this->mosq_, MOSQ_OPT_TCP_NODELAY, 1);  // no Nagle delay (DESIGN.md)
    mosquitto_connect_callback_set(this->mosq_, &MosquittoTransport::on_connect);
    mosquitto_disconnect_callback_set(this->mosq_, &MosquittoTransport::on_disconnect);
    mosquitto_message_callback_set(this->mosq_, &MosquittoTransport::on_message);
    if (this->login_user_[0] != '\0') {
      mosquitto_username_pw_set(this->mosq_, this->login_user_, this->login_password_);
    } else if (this->user_ != nullptr) {
      mosquitto_username_pw_set(this->mosq_, this->user_, this->password_);
    }
    if (this->ca_path_[0] != '\0') {
      // Verified TLS: the broker's certificate must chain to the CA and name the host.
      if (mosquitto_tls_set(this->mosq_, this->ca_path_, nullptr, nullptr, nullptr, nullptr) != MOSQ_ERR_SUCCESS) {
        this->failure_ = Failure::kTls;
        return false;
      }
      mosquitto_tls_insecure_set(this->mosq_, false);
    }
    mosquitto_will_set(this->mosq_, will.topic, static_cast<int>(strlen(will.payload)), will.payload, will.qos, will.retain);
    this->connack_ = -1;
    rc = mosquitto_connect(this->mosq_, this->host_, this->port_, this->keepalive_s_);
  } else {
    this->connack_ = -1;
    rc = mosquitto_reconnect(this->mosq_);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    // With a CA, anything but a failed TCP connect (errno) is the handshake or the certificate
    // (libmosquitto versions name it MOSQ_ERR_TLS or a newer handshake code).
    bool tls = this->ca_path_[0] != '\0' && rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_NO_CONN;
    this->failure_ = rc == MOSQ_ERR_TLS || tls ? Failure::kTls : Failure::kNetwork;
    return false;
  }
  // Wait for CONNACK like PubSubClient::connect() does, so the caller can publish at once.
  uint64_t deadline = mono_ms() + 3000;
  while (this->connack_ < 0 && mono_ms() < deadline) {
    rc = mosquitto_loop(this->mosq_, 50, 1);
    if (rc != MOSQ_ERR_SUCCESS) break;
  }
  if (!this->connected_) {
    if (this->connack_ > 0) {
      this->failure_ = Failure::kRefused;  // bad user name or password, not authorised
    } else {
      // TCP was up: with a CA, a session that closes before CONNACK failed its handshake.
      bool tls = this->ca_path_[0] != '\0' && rc != MOSQ_ERR_SUCCESS;
      this->failure_ = rc == MOSQ_ERR_TLS || tls ? Failure::kTls : Failure::kNetwork;
    }
  }
  return this->connected_;
}

bool MosquittoTransport::publish(const char *topic, const uint8_t *payload, size_t len, int qos, bool retain) {
  if (this->mosq_ == nullptr || !this->connected_) return false;
  return mosquitto_publish(this->mosq_, nullptr, topic, static_cast<int>(len), payload, qos, retain) == MOSQ_ERR_SUCCESS;
}

bool MosquittoTransport::subscribe(const char *topic, int qos) {
  if (this->mosq_ == nullptr || !this->connected_) return false;
  return mosquitto_subscribe(this->mosq_, nullptr, topic, qos) == MOSQ_ERR_SUCCESS;
}

void MosquittoTransport::loop() { this->wait(0); }

void MosquittoTransport::wait(int timeout_ms) {
  if (this->mosq_ == nullptr || !this->connected_) return;
  int rc = mosquitto_loop(this->mosq_, timeout_ms, 1);
  if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_REFUSED || rc == MOSQ_ERR_ERRNO) {
    this->connected_ = false;
  }
}

void MosquittoTransport::disconnect(const char *status_topic) {
  if (this->mosq_ == nullptr || !this->connected_) return;
  mosquitto_publish(this->mosq_, nullptr, status_topic, 7, "offline", 1, true);
  for (int i = 0; i < 5; i++) mosquitto_loop(this->mosq_, 20, 1);
  mosquitto_disconnect(this->mosq_);
  mosquitto_loop(this->mosq_, 20, 1);
  this->connected_ = false;
}

}  // namespace posix
}  // namespace a1
