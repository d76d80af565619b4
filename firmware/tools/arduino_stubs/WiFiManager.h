#pragma once
#include "WiFi.h"
class WiFiManagerParameter {
 public:
  WiFiManagerParameter(const char *id, const char *label, const char *defaultValue, int length);
  const char *getValue() const;
  void setValue(const char *defaultValue, int length);
};
class WiFiManager {
 public:
  bool addParameter(WiFiManagerParameter *p);
  void setSaveParamsCallback(std::function<void()> func);
  void setSaveConfigCallback(std::function<void()> func);
  void setConfigPortalTimeout(unsigned long seconds);
  bool autoConnect(const char *apName, const char *apPassword = nullptr);
  bool startConfigPortal(const char *apName, const char *apPassword = nullptr);
  bool stopConfigPortal();
  boolean process();
  void setConfigPortalBlocking(boolean shouldBlock);
  void setSaveConnect(bool connect = true);
  void setBreakAfterConfig(boolean shouldBreak);
  bool getWiFiIsSaved();
  bool getConfigPortalActive();
};
