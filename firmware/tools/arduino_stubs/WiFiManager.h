#pragma once
#include "WiFi.h"
class WiFiManagerParameter {
 public:
  WiFiManagerParameter(const char *id, const char *label, const char *defaultValue, int length);
  const char *getValue() const;
};
class WiFiManager {
 public:
  bool addParameter(WiFiManagerParameter *p);
  void setSaveParamsCallback(std::function<void()> func);
  void setSaveConfigCallback(std::function<void()> func);
  void setConfigPortalTimeout(unsigned long seconds);
  bool autoConnect(const char *apName, const char *apPassword = nullptr);
  bool startConfigPortal(const char *apName, const char *apPassword = nullptr);
};
