// ESPHome-style lifecycle: a component is set up once and then looped; no hidden globals,
// everything a component uses is handed to it.
#pragma once

namespace a1 {

class Component {
 public:
  virtual ~Component() = default;
  virtual void setup() {}
  virtual void loop() {}
};

}  // namespace a1
