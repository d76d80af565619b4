#pragma once
#include <string>

namespace ao_test {
/// Protocol topic and payload vectors, builder round trips and safety timelines, against the
/// component's plain C++ (no ESPHome). Returns the number of failures.
void run_topic_vectors(const std::string &dir);
void run_payload_vectors(const std::string &dir);
void run_builder_vectors(const std::string &dir);
void run_timeline_vectors(const std::string &dir);
bool read_file(const std::string &path, std::string &out);
}  // namespace ao_test
