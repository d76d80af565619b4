#include "mosquitto_transport.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

namespace a1 {
namespace posix {

namespace {
uint64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000ULL + static_cast<uint64_t>(ts.tv_nsec) / 1000000ULL;
}
}  // namespace

MosquittoTransport::MosquittoTransport(const char *host, int port, int keepalive_s) : port_(port), keepalive_s_(keepalive_s) {
  snprintf(this->host_, sizeof(this->host_), "%s", host);
  mosquitto_lib_init();
}

void MosquittoTransport::set_credentials(const char *user, const char *password) {
  this->user_ = user;
  this->password_ = password;
}

MosquittoTransport::~MosquittoTransport() {
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
  if (this->mosq_ == nullptr) {
    this->mosq_ = mosquitto_new(client_id, true, this);
    if (this->mosq_ == nullptr) return false;
    mosquitto_int_option(this->mosq_, MOSQ_OPT_TCP_NODELAY, 1);  // no Nagle delay (DESIGN.md)
    mosquitto_connect_callback_set(this->mosq_, &MosquittoTransport::on_connect);
    mosquitto_disconnect_callback_set(this->mosq_, &MosquittoTransport::on_disconnect);
    mosquitto_message_callback_set(this->mosq_, &MosquittoTransport::on_message);
    if (this->user_ != nullptr) mosquitto_username_pw_set(this->mosq_, this->user_, this->password_);
    mosquitto_will_set(this->mosq_, will.topic, static_cast<int>(strlen(will.payload)), will.payload, will.qos, will.retain);
    this->connack_ = -1;
    if (mosquitto_connect(this->mosq_, this->host_, this->port_, this->keepalive_s_) != MOSQ_ERR_SUCCESS) return false;
  } else {
    this->connack_ = -1;
    if (mosquitto_reconnect(this->mosq_) != MOSQ_ERR_SUCCESS) return false;
  }
  // Wait for CONNACK like PubSubClient::connect() does, so the caller can publish at once.
  uint64_t deadline = mono_ms() + 3000;
  while (this->connack_ < 0 && mono_ms() < deadline) {
    if (mosquitto_loop(this->mosq_, 50, 1) != MOSQ_ERR_SUCCESS) break;
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
