// The device: ties the protocol, config intake, sensors, actuators, link and heartbeat together.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/actuator.h"
#include "a1/boards.h"
#include "a1/component.h"
#include "a1/hal.h"
#include "a1/json.h"
#include "a1/login.h"
#include "a1/messages.h"
#include "a1/ota.h"
#include "a1/protocol.h"
#include "a1/readings.h"
#include "a1/sensors.h"

namespace a1 {

constexpr const char *kFirmwareFamily = "automationone";
constexpr const char *kFirmwareVersion = "0.1.0";

struct DeviceOptions {
  const char *kaiser_id = "god";
  const char *esp_id = "";  // empty: "esp-" + last 3 MAC bytes
  const char *board = "esp32dev";
  const char *name = "";
  const char *fw_version = kFirmwareVersion;
  bool wifi_on = true;           // ADC2 pins are refused while WiFi is on
  uint32_t heartbeat_s = 60;     // until a config sets heartbeat_s
};

struct DeviceStats {
  uint32_t rejected = 0;         // messages rejected by the parser
  uint32_t readings = 0;         // readings sampled
  uint32_t published = 0;        // messages published
  uint32_t replayed = 0;         // readings replayed from the offline buffer
  uint32_t resent = 0;           // readings sent again after a link loss (see kResendWindowMs)
  uint32_t connects = 0;
  ErrorCode last_error = ErrorCode::kOk;
  char last_error_path[64] = {0};
};

class Device : public MessageHandler, public ReadingSink {
 public:
  static constexpr size_t kBufferCapacity = 128;
  static constexpr int kReplayPerLoop = 8;
  // Sensor data is QoS 0: what the client sent just before the link died may never have
  // reached the broker, and nothing tells. Readings sent within this time before the device
  // finds the link down are sent again on reconnect, under their own seq with `resend`.
  static constexpr uint64_t kResendWindowMs = 2000;
  static constexpr int kResendCapacity = 2 * kMaxSensors;  // one full batch
  static constexpr uint32_t kDefaultHeartbeatS = 60;

  Device(const Hal &hal, const DeviceOptions &options);
  // Loads the board profile and the persisted config; actuators start in safe state (boot).
  bool setup();
  void loop();
  // When loop() next has timed work: now while something waits to be sent or the link is
  // down, else the earliest heartbeat, sample, actuator timer or restart. A host may sleep
  // until then or until a message arrives, instead of polling.
  uint64_t next_due_ms() const;

  void on_message(const char *topic, const uint8_t *payload, size_t len) override;
  void on_reading(const Reading &r) override;

  const char *esp_id() const { return this->esp_id_; }
  const char *kaiser_id() const { return this->kaiser_id_; }
  const BoardInfo *board() const { return this->board_; }
  uint32_t config_version() const { return this->config_version_; }
  bool link_up() const { return this->link_up_; }
  size_t buffered() const { return this->buffer_.size(); }
  const DeviceStats &stats() const { return this->stats_; }
  int actuator_count() const { return this->n_act_; }
  const ActuatorSafety *actuator(uint8_t gpio) const;
  const SensorBank &sensors() const { return this->sensors_; }
  bool restart_requested() const { return this->restart_requested_; }
  const OtaUpdate &ota() const { return this->ota_; }
  // Device login (docs/protocol.md "Device login"): a delivered login is being tried.
  bool login_switching() const { return this->login_switching_; }
  const char *login_error() const { return this->login_error_; }
  // Moving to another broker (docs/protocol.md): a delivered move is being tried.
  bool moving() const { return this->moving_; }
  const char *move_error() const { return this->move_error_; }
  // After an installed update: the restart waits this long so `installed` reaches the broker.
  static constexpr uint32_t kOtaRestartDelayMs = 500;

 private:
  struct ActSlot {
    ActuatorSafety safety;
    int8_t pwm_channel;
    bool last_on;
    uint8_t last_value;
  };

  void apply_config(const DeviceConfig &cfg, Reason reason, bool publish_ack);
  void drive(ActSlot &slot);
  void tick_actuators();
  void link_loop();
  void on_connected();
  void publish_status_for(ActSlot &slot, Refusal refused, double until_s, const char *cmd_id);
  void publish_unknown_gpio(uint8_t gpio, Refusal refused, const char *cmd_id);
  // False if the transport refused it (a link that died under us): the reading is kept.
  bool publish_reading_now(const Reading &r, bool replay);
  void flush_pending();
  void keep_sent(const Reading *r, int n, uint32_t seq, uint64_t ts);
  void forget_sent_outside_window(uint64_t now);  // sent more than kResendWindowMs ago
  void drop_sent(int count);
  void resend_loop();
  void heartbeat_loop();
  void ota_command(uint64_t now);
  void ota_loop(uint64_t now);
  void publish_ota(const OtaReport &report);
  void publish_announce();
  void login_command(uint64_t now);
  void login_connected();
  void login_failed(uint64_t now);
  void use_login(const StoredLogin &login);
  void move_command(uint64_t now);
  void move_connected();
  bool move_failed(uint64_t now, bool refused);  // false: no move was being tried
  bool use_broker(const StoredBroker &broker);
  bool publish(const char *topic, const char *payload, size_t len, int qos, bool retain);
  void reject(const Error &err);
  void log(const char *a, const char *b = "", const char *c = "");
  uint64_t unix_at(uint64_t sample_ms, uint64_t ts) const;
  ActSlot *find_actuator(uint8_t gpio);

  const Hal &hal_;
  DeviceOptions options_;
  const BoardInfo *board_ = nullptr;
  char kaiser_id_[kMaxIdLen + 1] = {0};
  char esp_id_[kMaxIdLen + 1] = {0};
  char mac_[18] = {0};

  SensorBank sensors_;
  ActSlot acts_[kMaxActuators];
  int n_act_ = 0;
  ActivationLog activations_;
  // In emergency while either the kaiser's broadcast or the device's own topic says stop;
  // each is cleared only by a `clear` on the same topic.
  bool emergency_ = false;
  bool broadcast_stop_ = false;
  bool device_stop_ = false;
  uint32_t config_version_ = 0;
  uint32_t heartbeat_s_;

  bool link_up_ = false;
  bool ever_connected_ = false;
  uint64_t next_connect_ms_ = 0;
  uint32_t backoff_ms_ = 1000;
  uint64_t next_heartbeat_ms_ = 0;
  uint32_t seq_ = 0;
  bool restart_requested_ = false;
  OtaUpdate ota_;
  uint64_t ota_restart_ms_ = 0;  // 0: none due

  RingBuffer<kBufferCapacity> buffer_;
  Reading pending_[2 * kMaxSensors];  // an SHT31 sends two readings (temperature, humidity)
  int n_pending_ = 0;
  // Readings handed to the client in the last kResendWindowMs, oldest first, with their
  // message's seq (`ts` set to the time sent); due again once the link is back.
  Reading sent_[kResendCapacity];
  uint32_t sent_seq_[kResendCapacity] = {0};
  uint64_t sent_ms_[kResendCapacity] = {0};
  int n_sent_ = 0;
  bool resend_due_ = false;

  DeviceStats stats_;
  JsonDoc doc_;
  DeviceConfig cfg_scratch_;
  ActuatorCommand cmd_scratch_;
  SystemCommand sys_scratch_;
  char topic_[kTopicCap] = {0};
  char out_[JsonDoc::kMaxPayload + 1] = {0};

  // The login in use (unset: the transport's own) and the one being tried.
  StoredLogin login_;
  StoredLogin pending_login_;
  bool login_switching_ = false;
  uint64_t login_deadline_ms_ = 0;
  int login_refusals_ = 0;
  char login_error_[12] = {0};

  // The broker a move gave (unset: the transport's own, with the options' kaiser id) and the
  // one being tried; kaiser_id_ is the tried one's while moving_.
  StoredBroker broker_;
  StoredBroker pending_broker_;
  bool moving_ = false;
  uint64_t move_deadline_ms_ = 0;
  char move_error_[12] = {0};
};

}  // namespace a1
