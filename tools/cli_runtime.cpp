#include "cli_runtime.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cstdio>
#include <exception>

namespace coromqtt::tools {

namespace {

// MQTT 3.1.1 CONNACK return codes, which mosquitto_pub and mosquitto_sub exit with; the client reports them
// translated to their MQTT 5 equivalents.
int v3_return_code(reason_code reason) noexcept {
  switch (reason) {
    case reason_code::unsupported_protocol_version: return 1;
    case reason_code::client_identifier_not_valid: return 2;
    case reason_code::server_unavailable: return 3;
    case reason_code::bad_user_name_or_password: return 4;
    case reason_code::not_authorized: return 5;
    default: return 1;
  }
}

std::string seconds_text(std::chrono::milliseconds delay) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f s", static_cast<double>(delay.count()) / 1000.0);
  return text.data();
}

}  // namespace

std::string describe_reason(reason_code reason, std::string_view reason_string) {
  std::array<char, 8> hex{};
  std::snprintf(hex.data(), hex.size(), "0x%02X", static_cast<unsigned>(reason));
  std::string text{protocol::to_string(reason)};
  text += " (";
  text += hex.data();
  text += ")";
  if (!reason_string.empty()) {
    text += ": ";
    text += reason_string;
  }
  return text;
}

std::string describe_error(error_code ec, reason_code reason, std::string_view reason_string) {
  std::string text = ec.message();
  if (reason != reason_code::success || !reason_string.empty()) {
    text += " - ";
    text += describe_reason(reason, reason_string);
  }
  return text;
}

namespace {

// " -- TLS handshake with broker failed: ...": what the layer underneath said, when it said something.
std::string with_diagnostic(const event& ev) { return ev.diagnostic.empty() ? std::string{} : " -- " + ev.diagnostic; }

}  // namespace

tool_runtime::tool_runtime(const common_flags& flags, command which) : flags_{flags}, command_{which} {
  auto options = make_client_options(flags);
  options.reconnect.decide = [this](const connection_failure& failure) { return decide_reconnect(failure); };
  client_.emplace(io_, std::move(options));
  strand_.emplace(client_->get_executor());
}

tool_runtime::~tool_runtime() = default;

int tool_runtime::run(const std::function<asio::awaitable<int>(tool_runtime&)>& main) {
  int status = 1;
  asio::co_spawn(*strand_, watch_events(), asio::detached);
  wait_for_signal();
  const auto finished = [this, &status](std::exception_ptr failure, int main_status) {
    status = main_status;
    if (failure) {
      status = 1;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        report_error(std::string{"Error: "} + e.what());
      } catch (...) {
        report_error("Error: unknown failure");
      }
    }
    main_done_ = true;
    signals_.cancel();
    client_.reset();  // aborts the event watcher and anything main left pending
  };
  asio::co_spawn(*strand_, main(*this), asio::bind_cancellation_slot(main_cancellation_.slot(), finished));
  io_.run();
  return status;
}

void tool_runtime::cancel_main() { main_cancellation_.emit(asio::cancellation_type::terminal); }

void tool_runtime::wait_for_signal() {
  signals_.async_wait(asio::bind_executor(*strand_, [this](error_code ec, int signal_number) {
    if (ec || main_done_) return;  // main has finished: nothing to interrupt
    const bool again = signal_number_ != 0;
    signal_number_ = signal_number;
    debug(signal_number == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    cancel_main();
    // Asked twice: stop waiting for the broker (a graceful disconnect that hangs, say).
    if (again && client_) client_->stop();
    wait_for_signal();
  }));
}

void tool_runtime::discard_received_messages() {
  asio::co_spawn(*strand_, discard_messages(), asio::detached);
}

asio::awaitable<void> tool_runtime::discard_messages() {
  // As watch_events: when the client is destroyed the wait completes with operation_aborted, and a message
  // already on its way finds client_ empty.
  std::uint64_t discarded = 0;
  while (client_) {
    auto [ec, m] = co_await client_->async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec || !client_) break;
    ++discarded;
    if (debugging())
      debug("received PUBLISH on '" + m.topic + "' (QoS " + std::to_string(static_cast<int>(m.qos)) + ", " +
            std::to_string(m.payload.size()) + " bytes): discarded");
  }
  if (discarded > 0) debug(std::to_string(discarded) + " received messages discarded");
}

asio::awaitable<void> tool_runtime::watch_events() {
  // The client is destroyed when main ends: a wait in progress then completes with operation_aborted, and an
  // event already on its way finds client_ empty.
  while (client_) {
    auto [ec, ev] = co_await client_->async_next_event(asio::as_tuple(asio::use_awaitable));
    if (ec || !client_) co_return;
    if (ev.missed != 0) debug(std::to_string(ev.missed) + " connection events were missed");
    switch (ev.kind) {
      case event_kind::connecting:
        debug("connecting to " + ev.broker +
              (ev.attempt > 1 ? " (attempt " + std::to_string(ev.attempt) + ")" : std::string{}));
        break;
      case event_kind::connected:
        ever_connected_ = true;
        if (debugging()) {
          std::string line = "connected (session present: ";
          line += ev.info.session_present ? "yes" : "no";
          line += ", keep alive: " + std::to_string(ev.info.keep_alive.count()) + " s";
          if (!ev.info.assigned_client_identifier.empty())
            line += ", assigned client id: " + ev.info.assigned_client_identifier;
          debug(line + ")");
        }
        break;
      case event_kind::connect_failed:
        debug("connection failed: " + describe_error(ev.error, ev.reason, ev.reason_string) + with_diagnostic(ev));
        break;
      case event_kind::disconnected:
        if (!disconnecting_)
          debug("connection lost: " + describe_error(ev.error, ev.reason, ev.reason_string) + with_diagnostic(ev));
        break;
      case event_kind::reconnect_scheduled: debug("reconnecting in " + seconds_text(ev.delay)); break;
      case event_kind::stopped:
        // The policy gave up (a disconnect we asked for stops with client_stopped): main must not wait for a
        // connection that will not come.
        if (ev.error != make_error_code(error::client_stopped) && !main_done_) {
          gave_up_ = true;
          debug("giving up: " + describe_error(ev.error, ev.reason, ev.reason_string) + with_diagnostic(ev));
          cancel_main();
        }
        break;
      default: break;  // other kinds (re-authentication) need no line
    }
  }
}

reconnect_decision tool_runtime::decide_reconnect(const connection_failure& failure) {
  last_failure_ = failure;
  if (failure.was_connected) ever_connected_ = true;
  // Credentials the broker refused will not be accepted on the next attempt either.
  if (is_authentication_failure(failure.reason)) return std::nullopt;
  bool retry = false;
  if (flags_.retry_forever)
    retry = true;
  else if (flags_.retries)
    retry = failure.attempt <= *flags_.retries;
  else
    retry = command_ == command::sub && ever_connected_;  // mosquitto_sub keeps a live subscription alive
  if (!retry) return std::nullopt;
  const reconnect_policy backoff;  // the library's exponential backoff with jitter
  return coromqtt::decide_reconnect(backoff, failure, std::uniform_real_distribution<double>{0, 1}(random_));
}

asio::awaitable<void> tool_runtime::disconnect() {
  disconnecting_ = true;
  disconnect_options goodbye;
  if (flags_.version == protocol_version::v5)
    goodbye.session_expiry_interval = flags_.properties.disconnect_session_expiry;
  debug("sending DISCONNECT");
  auto [ec] = co_await client_->async_disconnect(std::move(goodbye), asio::as_tuple(asio::use_awaitable));
  if (ec)
    debug("disconnect: " + describe_error(ec));
  else
    debug("disconnected");
}

int tool_runtime::connection_failed(error_code ec) {
  if (interrupted()) return 128 + signal_number_;
  const auto& f = last_failure_;
  if (f && f->error == make_error_code(error::connection_refused)) {
    report_error("Connection refused by the broker: " + describe_reason(f->reason, f->reason_string));
    if (flags_.version == protocol_version::v3_1_1) return v3_return_code(f->reason);
    return static_cast<int>(f->reason);
  }
  if (f) {
    report_error("Connection error: " + f->broker + ": " +
                 describe_error(f->error, f->reason, f->reason_string));
  } else {
    report_error("Connection error: " + describe_error(ec));
  }
  return 1;
}

void tool_runtime::report_error(std::string_view line) const {
  if (flags_.quiet) return;
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

void tool_runtime::debug(std::string_view line) const {
  if (!flags_.debug) return;
  std::fputs("coromqtt: ", stderr);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

}  // namespace coromqtt::tools
