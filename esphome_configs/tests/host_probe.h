#pragma once
// Shared between the host test YAML's output lambdas (compiled into the generated main.cpp via
// `esphome: includes:`) and the test driver: the levels ESPHome wrote to the template outputs.
#include <map>
#include <string>

inline std::map<std::string, float> &ao_probe() {
  static std::map<std::string, float> levels;
  return levels;
}
