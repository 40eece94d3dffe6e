// Topic names, topic filters and matching [MQTT-4.7], shared subscriptions [MQTT-4.8.2].
#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/topic.hpp>
#include <coromqtt/protocol/utf8.hpp>

#include "wire.hpp"

namespace coromqtt::protocol {
namespace {

using detail::failed;
using detail::has_wildcard;
using detail::no_error;
using detail::utf8_error;

constexpr std::size_t max_topic_length = 65'535;  // [MQTT-4.7.3-3]
constexpr std::string_view shared_prefix = "$share/";

// Walks the levels of a topic or filter: "a//b" has the levels "a", "" and "b"; "a/" has "a" and "".
class level_cursor {
 public:
  explicit level_cursor(std::string_view text) noexcept : rest_{text} {}
  bool done() const noexcept { return done_; }
  std::string_view next() noexcept {
    const std::size_t slash = rest_.find('/');
    std::string_view level = rest_.substr(0, slash);
    if (slash == std::string_view::npos)
      done_ = true;
    else
      rest_.remove_prefix(slash + 1);
    return level;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

// The wildcard rules of a filter, shared-subscription prefix already removed.
bool valid_filter_levels(std::string_view filter) noexcept {
  if (filter.empty()) return false;
  level_cursor levels{filter};
  while (!levels.done()) {
    const std::string_view level = levels.next();
    if (level == "#") return levels.done();  // '#' only as the last level [MQTT-4.7.1-1]
    if (level != "+" && has_wildcard(level)) return false;  // a wildcard occupies a whole level [MQTT-4.7.1-2]
  }
  return true;
}

}  // namespace

error detail::topic_name_error(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > max_topic_length) return error::invalid_topic_name;  // [MQTT-4.7.3-1]
  if (const error e = utf8_error(topic); failed(e)) return e;
  if (has_wildcard(topic)) return error::invalid_topic_name;  // [MQTT-4.7.0-1], [MQTT-3.3.2-2]
  return no_error;
}

std::error_code validate_topic_name(std::string_view topic) noexcept {
  return detail::to_error_code(detail::topic_name_error(topic));
}

std::optional<shared_subscription> parse_shared_subscription(std::string_view filter) noexcept {
  if (!filter.starts_with(shared_prefix)) return std::nullopt;
  const std::string_view rest = filter.substr(shared_prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return shared_subscription{rest.substr(0, slash), rest.substr(slash + 1)};
}

error detail::topic_filter_error(std::string_view filter) noexcept {
  if (filter.empty() || filter.size() > max_topic_length) return error::invalid_topic_filter;
  if (const error e = utf8_error(filter); failed(e)) return e;
  if (filter.starts_with(shared_prefix)) {
    // "$share/{ShareName}/{filter}": a non-empty ShareName without '/', '+' or '#', then a filter
    // [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    const auto shared = parse_shared_subscription(filter);
    if (!shared || shared->share_name.empty() || has_wildcard(shared->share_name) ||
        !valid_filter_levels(shared->filter))
      return error::invalid_topic_filter;
    return no_error;
  }
  return valid_filter_levels(filter) ? no_error : error::invalid_topic_filter;
}

std::error_code validate_topic_filter(std::string_view filter) noexcept {
  return detail::to_error_code(detail::topic_filter_error(filter));
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
  if (const auto shared = parse_shared_subscription(filter)) filter = shared->filter;
  // Wildcards at the start of a filter do not reach the server's "$SYS/..." topics [MQTT-4.7.2-1].
  if (topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#'))) return false;
  level_cursor filter_levels{filter};
  level_cursor topic_levels{topic};
  while (!filter_levels.done()) {
    const std::string_view wanted = filter_levels.next();
    // '#' also matches the parent level: "sport/#" matches "sport" [MQTT-4.7.1.2].
    if (wanted == "#") return true;
    if (topic_levels.done()) return false;
    const std::string_view level = topic_levels.next();
    if (wanted != "+" && wanted != level) return false;
  }
  return topic_levels.done();
}

}  // namespace coromqtt::protocol
