// On-device processing: tests/vectors/processors/on_device.json through the config parser (the
// pushed `proc` object) and the core's evaluator, against the integration's processors.
#include <doctest/doctest.h>
#include <math.h>

#include <string>

#include "a1/processing.h"
#include "a1/protocol.h"
#include "vectors.h"

using namespace a1;

namespace {
JsonDoc g_doc;
DeviceConfig g_cfg;
}  // namespace

TEST_CASE("on-device processing vectors: same value and quality as the integration") {
  cJSON *root = load_vectors("tests/vectors/processors/on_device.json");
  REQUIRE(root != nullptr);
  int cases = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
    std::string name = json_str(v, "name");
    CAPTURE(name);
    char *proc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "proc"));
    std::string config = std::string("{\"v\":1,\"version\":1,\"actuators\":[],\"sensors\":[{\"gpio\":34,\"type\":\"ph\",") +
                         "\"interval_ms\":5000,\"mode\":\"processed\",\"proc\":" + proc + "}]}";
    free(proc);
    Error err = parse_config(config.data(), config.size(), g_doc, g_cfg);
    REQUIRE_MESSAGE(err.ok(), error_name(err.code), " at ", err.path);
    const Processing &p = g_cfg.sensors[0].proc;
    REQUIRE(p.kind != ProcKind::kNone);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases")) {
      double raw = cJSON_GetObjectItemCaseSensitive(c, "raw")->valuedouble;
      const cJSON *temp = cJSON_GetObjectItemCaseSensitive(c, "temperature_c");
      const cJSON *value = cJSON_GetObjectItemCaseSensitive(c, "value");
      CAPTURE(raw);
      CAPTURE(cJSON_IsNumber(temp) ? temp->valuedouble : NAN);
      ProcResult r = process_reading(p, raw, cJSON_IsNumber(temp), cJSON_IsNumber(temp) ? temp->valuedouble : 0.0);
      CHECK(std::string(quality_name(r.quality)) == json_str(c, "quality"));
      CHECK(r.has_value == cJSON_IsNumber(value));
      if (r.has_value && cJSON_IsNumber(value)) {
        double want = value->valuedouble;
        CHECK(fabs(r.value - want) <= 1e-9 * (fabs(want) > 1.0 ? fabs(want) : 1.0));
      }
      cases++;
    }
  }
  MESSAGE("on-device processing cases checked: " << cases);
  CHECK(cases > 500);
  cJSON_Delete(root);
}

TEST_CASE("ADC model: ESP32 11 dB blends into the lookup table from count 2880") {
  CHECK(adc_mv(0, AdcModel::kEsp32_11db) == doctest::Approx(142.0));
  CHECK(adc_mv(4095, AdcModel::kLinear3v3) == doctest::Approx(3300.0));
  CHECK(adc_mv(2047.5, AdcModel::kEsp32c3_11db) == doctest::Approx(1250.0));
  // Above 2944 the table alone: the mean of the low/high tables at 3008 is (2352+2745)/2.
  CHECK(adc_mv(3008, AdcModel::kEsp32_11db) == doctest::Approx((2352.0 + 2745.0) / 2.0));
}
