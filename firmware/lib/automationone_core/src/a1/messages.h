// Builders for what a device sends (protocol v1), into caller-provided fixed buffers.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/actuator.h"
#include "a1/json.h"
#include "a1/readings.h"

namespace a1 {

struct AnnounceInfo {
  const char *esp_id;
  const char *kaiser_id;
  const char *name;  // may be empty
  const char *board;
  const char *fw;
  const char *fw_version;
  const char *mac;
  int sensors;
  int actuators;
  bool batch;
  int buffer;
  bool on_device;
  const char *login = nullptr;        // broker username of this connection; nullptr/empty: none
  const char *login_error = nullptr;  // why the last delivered login was not taken
  bool move = false;                  // takes system/command move
  const char *move_error = nullptr;   // why the last move was not made
};

struct HeartbeatInfo {
  uint32_t uptime_s;
  uint32_t heap_free;
  uint32_t heap_min;
  int rssi;
  uint32_t config_version;
  uint32_t buffered;
  uint64_t ts;
};

struct PinResult {
  bool sensor;
  uint8_t gpio;
  bool ok;
  const char *error;  // nullptr when ok
  const char *addr;   // nullptr or empty: none
};

struct ActuatorStatusInfo {
  bool state;
  uint8_t value;
  Reason reason;
  Refusal refused;
  double until_s;
  const char *cmd_id;  // may be empty
  double runtime_s;
  uint32_t activations;
  uint64_t ts;
};

size_t build_announce(char *buf, size_t cap, const AnnounceInfo &a);
size_t build_heartbeat(char *buf, size_t cap, const HeartbeatInfo &h);
size_t build_config_ack(char *buf, size_t cap, uint32_t version, const PinResult *results, int n);
// One reading for sensor/{gpio}/data (the gpio is in the topic).
// `resend`: a message sent again under its own seq (docs/protocol.md "Duplicates, replays, floods").
size_t build_sensor_data(char *buf, size_t cap, uint32_t seq, uint64_t ts, bool replay, const Reading &r,
                         bool resend = false);
size_t build_sensor_batch(char *buf, size_t cap, uint32_t seq, uint64_t ts, bool replay, const Reading *r, int n,
                          bool resend = false);
size_t build_actuator_status(char *buf, size_t cap, const ActuatorStatusInfo &s);

}  // namespace a1
