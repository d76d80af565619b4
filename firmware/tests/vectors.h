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
