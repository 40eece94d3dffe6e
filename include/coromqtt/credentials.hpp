// PLACEHOLDER until the credentials work lands: user name, password and MQTT 5 authentication data, produced
// per connection attempt.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace coromqtt {

struct credentials {
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> authentication_method;
  std::optional<std::string> authentication_data;
};

struct credential_request {
  unsigned attempt = 1;
  std::string broker;
};

using credential_provider = std::function<credentials(const credential_request&)>;

}  // namespace coromqtt
