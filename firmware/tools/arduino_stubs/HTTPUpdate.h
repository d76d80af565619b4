#pragma once
#include "WiFi.h"
enum HTTPUpdateResult { HTTP_UPDATE_FAILED, HTTP_UPDATE_NO_UPDATES, HTTP_UPDATE_OK };
class HTTPUpdate {
 public:
  HTTPUpdateResult update(WiFiClient &client, const String &url, const String &currentVersion = "");
  String getLastErrorString();
};
extern HTTPUpdate httpUpdate;
