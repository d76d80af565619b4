// libFuzzer target: the core's JSON reader on arbitrary bytes, then a walk of every token.
#include <stddef.h>
#include <stdint.h>

#include "a1/json.h"

static a1::JsonDoc g_doc;  // ~10 KB: static, as on the device

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (g_doc.parse(reinterpret_cast<const char *>(data), size) != a1::JsonStatus::kOk) return 0;
  // Touch every token the way the schema checks do: strings, lookups, array items.
  size_t total = 0;
  for (int i = 0; i < g_doc.size(); i++) {
    const a1::JTok &t = g_doc.tok(i);
    if (t.type == a1::JType::kString) total += a1::utf8_length(g_doc.str(i), t.len);
    if (t.type == a1::JType::kObject) total += static_cast<size_t>(g_doc.find(i, "v") + 1);
    if (t.type == a1::JType::kArray && t.count() > 0) total += static_cast<size_t>(g_doc.item(i, t.count() - 1));
  }
  return total == static_cast<size_t>(-1) ? 1 : 0;
}
