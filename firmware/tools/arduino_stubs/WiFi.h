#pragma once
#include "Arduino.h"
typedef enum { WL_IDLE_STATUS = 0, WL_CONNECTED = 3 } wl_status_t;
typedef enum { WIFI_OFF = 0, WIFI_STA = 1 } wifi_mode_t;
class WiFiClient {
 public:
  int setNoDelay(bool nodelay);
};
class WiFiClass {
 public:
  wl_status_t status();
  int8_t RSSI();
  uint8_t *macAddress(uint8_t *mac);
  bool mode(wifi_mode_t m);
  bool setAutoReconnect(bool autoReconnect);
  bool setSleep(bool enabled);
  bool disconnect(bool wifioff = false, bool eraseap = false);
  wl_status_t begin();  // the stored network
};
extern WiFiClass WiFi;
