#pragma once
#include "esp_random.h"  // IDF 4.4 declares esp_fill_random here
