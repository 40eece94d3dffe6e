#include <coromqtt/events.hpp>

namespace coromqtt {

std::string_view to_string(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::connecting: return "connecting";
    case event_kind::connected: return "connected";
    case event_kind::connect_failed: return "connect failed";
    case event_kind::disconnected: return "disconnected";
    case event_kind::reconnect_scheduled: return "reconnect scheduled";
    case event_kind::stopped: return "stopped";
    case event_kind::reauthenticated: return "reauthenticated";
    case event_kind::messages_expired: return "messages expired";
  }
  return "unknown event";
}

}  // namespace coromqtt
