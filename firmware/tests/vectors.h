// Test helpers: read the shared vector files with cJSON (tests may allocate; the core does not).
#pragma once

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>

inline std::string read_text(const std::string &path) {
  FILE *f = fopen(path.c_str(), "rb");
  if (f == nullptr) return std::string();
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

inline cJSON *load_vectors(const std::string &relative) {
  std::string text = read_text(std::string(A1_REPO_ROOT) + "/" + relative);
  if (text.empty()) return nullptr;
  return cJSON_Parse(text.c_str());
}

inline std::string json_str(const cJSON *obj, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(item) ? std::string(item->valuestring) : std::string();
}

// A vector's payload: `payload`, or the bytes of `payload_hex` (payloads that are not UTF-8).
inline std::string vector_payload(const cJSON *v) {
  std::string hex = json_str(v, "payload_hex");
  if (hex.empty()) return json_str(v, "payload");
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
