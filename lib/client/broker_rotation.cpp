#include "client/broker_rotation.hpp"

namespace coromqtt::detail {

broker_rotation::broker_rotation(std::vector<endpoint> brokers) : brokers_(std::move(brokers)) {}

const endpoint& broker_rotation::next() const noexcept {
  if (redirect_) return *redirect_;
  return brokers_[index_ % brokers_.size()];
}

void broker_rotation::failed(const endpoint& where, reason_code reason, std::string_view server_reference,
                             bool follow) {
  redirect_.reset();
  const bool names_a_server = reason == reason_code::use_another_server || reason == reason_code::server_moved;
  if (follow && names_a_server && !server_reference.empty()) {
    const auto first = server_reference.substr(0, server_reference.find(' '));
    boost::system::error_code parse_error;
    if (auto target = endpoint::parse(first, parse_error)) {
      if (first.find("://") == std::string_view::npos) {
        target->kind = where.kind;
        target->path = where.path;
      }
      redirect_ = std::move(*target);
      return;
    }
  }
  ++index_;  // round robin over the configured brokers
}

}  // namespace coromqtt::detail
