// The session's lifecycle: construction, the connection's beginning (CONNECT) and end, CONNACK and what it
// resumes, the broker's DISCONNECT, and time (keep alive, the rate limit's refill).
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <algorithm>
#include <utility>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

session::session(const client_options& options, statistics_counters& stats)
    : options_{options},
      stats_{stats},
      version_{options.version},
      client_id_{options.client_id},
      clean_start_next_{options.clean_start} {
  if (options.rate_limit) {
    const auto& r = *options.rate_limit;
    if (r.messages_per_second > 0)
      message_rate_ = token_bucket{r.messages_per_second,
                                   r.burst_messages > 0 ? r.burst_messages : r.messages_per_second};
    if (r.bytes_per_second > 0)
      byte_rate_ = token_bucket{r.bytes_per_second, r.burst_bytes > 0 ? r.burst_bytes : r.bytes_per_second};
  }
}

session::~session() = default;

// ---------------------------------------------------------------------------------------------------------------
// Connection lifecycle

void session::begin_connection(const credentials& creds, clock::time_point now) {
  drop_pending();
  writing_.clear();
  read_buffer_.clear();
  input_wait_ = input_wait::none;
  last_error_ = {};
  property_scratch_.clear();

  proto::connect c;
  c.version = version_;
  c.clean_start = clean_start_next_;
  c.keep_alive = static_cast<std::uint16_t>(std::min<std::int64_t>(options_.keep_alive.count(), 65535));
  c.client_id = client_id_;
  sent_empty_client_id_ = client_id_.empty();
  if (options_.will) {
    const auto& w = *options_.will;
    proto::will will;
    will.topic = w.topic;
    will.payload = as_bytes(w.payload);
    will.qos = w.qos;
    will.retain = w.retain;
    if (version_ == protocol_version::v5) {
      view_message_properties(w.properties, will.properties, property_scratch_);
      if (w.delay_interval) will.properties.will_delay_interval = w.delay_interval;
    }
    c.will = will;
  }
  if (creds.username) c.username = *creds.username;
  if (creds.password) c.password = as_bytes(*creds.password);
  if (version_ == protocol_version::v5) {
    auto& p = c.properties;
    if (options_.session_expiry_interval) p.session_expiry_interval = options_.session_expiry_interval;
    if (options_.receive_maximum != 65535)
      p.receive_maximum = std::max<std::uint16_t>(options_.receive_maximum, 1);
    if (options_.maximum_packet_size && options_.maximum_packet_size < proto::max_packet_size)
      p.maximum_packet_size = options_.maximum_packet_size;
    if (options_.topic_alias_maximum) p.topic_alias_maximum = options_.topic_alias_maximum;
    if (!options_.request_problem_information) p.request_problem_information = false;
    if (options_.request_response_information) p.request_response_information = true;  // [MQTT-3.1.2-28]
    p.user_properties = view_of(options_.connect_user_properties, property_scratch_);
    reauthenticating_ = false;
    if (options_.authenticator) {
      const bool asked = authenticator_call_succeeded([&] {
        auth_method_ = options_.authenticator->method();
        auth_data_ = options_.authenticator->initial_data();
      });
      if (!asked) {
        // Nothing is encoded: the attempt fails before CONNECT, as a refused credentials provider's does.
        last_error_ = {make_error_code(error::authentication_failed), reason_code::success, {}, {}};
        return;
      }
      p.authentication_method = auth_method_;
      if (auth_data_) p.authentication_data = as_bytes(*auth_data_);
    } else {
      if (creds.authentication_method) p.authentication_method = *creds.authentication_method;
      if (creds.authentication_data) p.authentication_data = as_bytes(*creds.authentication_data);
    }
  }
  // CONNECT is the only packet written before CONNACK [MQTT-3.1.0-1]. An oversized field is the user's error
  // and surfaces when the connection attempt fails.
  if (auto ec = append(c)) last_error_ = {ec, reason_code::success, {}, {}};
  // CONNECT depends on no record: it may go whatever the store is doing.
  output_gate_.durable = std::max(output_gate_.durable, output_gate_.taken + pending_.size());
  state_ = session_state::awaiting_connack;
  keep_alive_.start({}, {}, now);  // off until CONNACK says what the keep alive is
}

void session::end_connection(clock::time_point now) {
  if (state_ == session_state::connected || state_ == session_state::disconnecting)
    stats_.on_disconnected(now);
  state_ = session_state::disconnected;
  drop_pending();
  writing_.clear();
  read_buffer_.clear();
  input_wait_ = input_wait::none;
  quota_in_use_ = 0;
  throttled_until_ = {};
  for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
    auto& e = outgoing_.entry(id);
    e.counts_quota = false;
    e.needs_send = true;
  }
  outgoing_unsent_ = !outgoing_.empty();
  outgoing_aliases_.clear();  // [MQTT-3.3.2-7]
  incoming_aliases_.clear();
  // Unanswered messages of this connection are the broker's to send again (DUP); their ids go stale.
  held_acks_.clear();
  held_messages_ = 0;
  read_buffer_.shrink_to(initial_read_capacity);
  pending_.shrink_to(options_.write_buffer_limit);
  writing_.shrink_to(options_.write_buffer_limit);
  update_gauges();
}

void session::begin_disconnect(reason_code reason, std::optional<std::uint32_t> session_expiry_interval,
                               std::string_view reason_string, const user_properties& properties) {
  if (state_ != session_state::connected && state_ != session_state::awaiting_connack) return;
  proto::disconnect d;
  property_scratch_.clear();
  if (version_ == protocol_version::v5) {
    d.reason = reason;
    if (session_expiry_interval) d.properties.session_expiry_interval = session_expiry_interval;
    if (!reason_string.empty()) d.properties.reason_string = reason_string;
    d.properties.user_properties = view_of(properties, property_scratch_);
  }
  (void)append(d);
  state_ = session_state::disconnecting;
}

void session::reset_session() {
  clean_start_next_ = true;
  incoming_qos2_.clear();
  if (store_attached_) record(store_record::type::session_cleared, 0);
}

error_code session::handle_connack(const proto::connack& c, clock::time_point now) {
  connack_ = {};
  connack_.session_present = c.session_present;
  if (proto::is_error(c.reason)) {
    last_error_ = {make_error_code(error::connection_refused), c.reason,
                   std::string{c.properties.reason_string.value_or("")},
                   std::string{c.properties.server_reference.value_or("")}};
    return last_error_.error;
  }
  const bool asked_clean = clean_start_next_;
  if (asked_clean && c.session_present)  // [MQTT-3.2.2-2]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "session present after a clean start");

  const auto& p = c.properties;
  if (options_.authenticator && version_ == protocol_version::v5) {
    if (p.authentication_method.value_or(auth_method_) != auth_method_)  // [MQTT-4.12.0-5]
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "CONNACK with another authentication method");
    const auto data = p.authentication_data.value_or(proto::byte_view{});
    const std::string_view data_view{reinterpret_cast<const char*>(data.data()), data.size()};
    if (!authenticator_call_succeeded([&] { options_.authenticator->succeeded(data_view); })) {
      last_error_ = {make_error_code(error::authentication_failed), reason_code::success, {}, {}};
      return last_error_.error;
    }
  }
  auto& limits = connack_.limits;
  limits.receive_maximum = p.receive_maximum.value_or(65535);
  if (p.maximum_qos) limits.maximum_qos = static_cast<coromqtt::qos>(*p.maximum_qos);
  limits.retain_available = p.retain_available.value_or(true);
  limits.maximum_packet_size = p.maximum_packet_size.value_or(0);
  limits.topic_alias_maximum = p.topic_alias_maximum.value_or(0);
  limits.wildcard_subscription_available = p.wildcard_subscription_available.value_or(true);
  limits.subscription_identifier_available = p.subscription_identifier_available.value_or(true);
  limits.shared_subscription_available = p.shared_subscription_available.value_or(true);
  connack_.server_keep_alive = p.server_keep_alive;
  if (p.assigned_client_identifier) {
    connack_.assigned_client_identifier = *p.assigned_client_identifier;
    // Only an identifier we left to the broker is replaced [MQTT-3.2.2-16]; kept so that a reconnection
    // resumes this session. One the user configured stays: it names the session the user means.
    if (sent_empty_client_id_) client_id_ = connack_.assigned_client_identifier;
  }
  if (p.response_information) connack_.response_information = *p.response_information;
  if (p.reason_string) connack_.reason_string = *p.reason_string;
  connack_.user_properties = copy_of(p.user_properties);

  // The broker's Server Keep Alive replaces ours [MQTT-3.2.2-21].
  const clock::duration interval =
      p.server_keep_alive ? std::chrono::seconds{*p.server_keep_alive} : clock::duration{options_.keep_alive};
  const clock::duration ping_timeout =
      options_.ping_timeout > clock::duration::zero() ? options_.ping_timeout : interval / 2;
  keep_alive_.start(interval, ping_timeout, now);

  state_ = session_state::connected;
  stats_.on_connected(now);
  // Later connections resume this session if it can outlive the connection.
  clean_start_next_ =
      version_ == protocol_version::v5 ? options_.session_expiry_interval == 0 : options_.clean_start;
  if (store_attached_) {
    // What the broker keeps decides what a restarted client resumes.
    if (!c.session_present) record(store_record::type::session_cleared, 0);
    if (!clean_start_next_) {
      store_records_.emplace_back().what = store_record::type::session;
      store_records_.back().client_id = client_id_;
    }
  }
  resume_after_connack(c.session_present, now);
  return {};
}

void session::resume_after_connack(bool session_present, clock::time_point now) {
  if (!session_present) {
    // The broker starts from nothing: what we thought in flight is sent again as new, QoS 2 receipts it
    // forgot cannot be duplicates any more, subscriptions are gone.
    incoming_qos2_.clear();
    outgoing_unsent_ = !outgoing_.empty();
    for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
      auto& e = outgoing_.entry(id);
      e.needs_send = true;
      e.dup = false;
      if (is_publish_stage(e.stage)) {
        const auto& m = std::get<coromqtt::message>(e.request);
        e.stage = m.qos == qos::at_least_once ? awaiting::puback : awaiting::pubrec;
        stats_.resent.add();
      }
    }
    resubscribe(now);
  } else {
    outgoing_unsent_ = !outgoing_.empty();
    for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
      auto& e = outgoing_.entry(id);
      e.needs_send = true;
      // [MQTT-4.4.0-1]: unacknowledged PUBLISH again with DUP = 1, PUBREL again.
      e.dup = e.stage == awaiting::puback || e.stage == awaiting::pubrec;
    }
  }
  progress(now);
}

error_code session::handle_disconnect(const proto::disconnect& d) {
  last_error_ = {make_error_code(error::disconnected_by_broker), d.reason,
                 std::string{d.properties.reason_string.value_or("")},
                 std::string{d.properties.server_reference.value_or("")}};
  return last_error_.error;
}

// ---------------------------------------------------------------------------------------------------------------
// Time

clock::time_point session::next_timer() const noexcept {
  auto at = clock::time_point::max();
  if (state_ == session_state::connected) at = keep_alive_.next_deadline();
  if (throttled_until_ != clock::time_point{}) at = std::min(at, throttled_until_);
  return at;
}

error_code session::on_timer(clock::time_point now) {
  if (state_ != session_state::connected) return {};
  // While our own receive queue (a stream, the application's acknowledgements) holds the input back we do not
  // read, so the broker's silence is ours: it is not held against it (PINGREQ still goes out, so the
  // broker's own keep alive is served).
  if (input_wait_ == input_wait::receive_queue || input_wait_ == input_wait::stream ||
      input_wait_ == input_wait::acknowledgements)
    keep_alive_.on_received(now);
  if (keep_alive_.expired(now)) {
    last_error_ = {make_error_code(error::keep_alive_timeout), reason_code::keep_alive_timeout, {}, {}};
    return last_error_.error;
  }
  if (keep_alive_.ping_due(now)) {
    (void)append(proto::pingreq{});
    keep_alive_.on_ping_sent(now);
    stats_.pings_sent.add();
  }
  if (throttled_until_ != clock::time_point{} && throttled_until_ <= now) {
    throttled_until_ = {};
    progress(now);
  }
  update_gauges();
  return {};
}

void session::update_gauges() {
  stats_.inflight.set(quota_in_use_);
  stats_.window_in_use.set(window_in_use_);
  stats_.queued_messages.set(outbox_.size());
  stats_.queued_bytes.set(outbox_bytes_);
  stats_.write_buffer_bytes.set(pending_.size());
  stats_.receive_queue.set(receive_queue_.size());
  stats_.waiting_publishers.set(waiting_publishers_);
}

}  // namespace coromqtt::detail
