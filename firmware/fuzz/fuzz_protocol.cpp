// libFuzzer target: every payload kind's validation and the device-side parsers, and topics.
// The first byte picks the kind; the rest is the payload (seeds: tests/vectors/protocol).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "a1/protocol.h"

static a1::JsonDoc g_doc;
static char g_topic[256];

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const auto kind = static_cast<a1::PayloadKind>(data[0] % static_cast<uint8_t>(a1::PayloadKind::kCount));
  const char *payload = reinterpret_cast<const char *>(data + 1);
  const size_t len = size - 1;
  a1::validate_payload(kind, payload, len, g_doc);
  switch (kind) {
    case a1::PayloadKind::kConfig: {
      static a1::DeviceConfig cfg;
      a1::parse_config(payload, len, g_doc, cfg);
      break;
    }
    case a1::PayloadKind::kActuatorCommand: {
      a1::ActuatorCommand cmd;
      a1::parse_actuator_command(payload, len, g_doc, cmd);
      break;
    }
    case a1::PayloadKind::kSystemCommand: {
      a1::SystemCommand cmd;
      a1::parse_system_command(payload, len, g_doc, cmd);
      break;
    }
    case a1::PayloadKind::kEmergency: {
      a1::Emergency e;
      a1::parse_emergency(payload, len, g_doc, e);
      break;
    }
    case a1::PayloadKind::kProcessed: {
      a1::Processed p;
      a1::parse_processed(payload, len, g_doc, p);
      break;
    }
    default: {
      bool online = false;
      a1::parse_status(payload, len, online);
      break;
    }
  }
  // The same bytes as a topic (NUL-terminated copy, as the transport hands it over).
  size_t n = len < sizeof(g_topic) - 1 ? len : sizeof(g_topic) - 1;
  memcpy(g_topic, payload, n);
  g_topic[n] = '\0';
  a1::Topic topic;
  a1::parse_topic(g_topic, strlen(g_topic), topic);
  return 0;
}
