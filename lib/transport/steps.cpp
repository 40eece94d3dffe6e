#include "transport/steps.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace coromqtt::detail {
namespace {

using asio::ip::tcp;

std::string in_milliseconds(steady_duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) + " ms";
}

// getaddrinfo cannot be interrupted: asio runs it on a thread of its own and completes the handler when it
// returns, cancelled or not, so racing it against a timer would still wait for it. What is bounded here is
// our wait for the answer: the handler and this coroutine share the state, and an answer that comes too late
// finds nobody waiting and is dropped with the state.
struct pending_resolution {
  explicit pending_resolution(const asio::any_io_executor& executor)
      : resolver(executor), answered(executor) {}

  tcp::resolver resolver;
  asio::steady_timer answered;  // a condition variable: the completion handler cancels the wait
  bool done = false;
  error_code result;
  tcp::resolver::results_type addresses;
};

asio::awaitable<error_code> resolve(const std::string& host, std::uint16_t port, steady_duration limit,
                                    std::vector<tcp::endpoint>& addresses, std::string& diagnostic) {
  auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<pending_resolution>(executor);
  state->resolver.async_resolve(host, std::to_string(port),
                                [state](error_code ec, tcp::resolver::results_type results) {
                                  state->done = true;
                                  state->result = ec;
                                  state->addresses = std::move(results);
                                  state->answered.cancel();
                                });
  state->answered.expires_after(limit);
  auto [wait_ec] = co_await state->answered.async_wait(use_nothrow_awaitable);
  if (!state->done) {
    state->resolver.cancel();
    if (wait_ec) co_return asio::error::operation_aborted;  // our caller was cancelled
    diagnostic = "resolving " + host + " timed out after " + in_milliseconds(limit);
    co_return error::resolve_timeout;
  }
  if (state->result) {
    diagnostic = "resolving " + host + " failed: " + state->result.message();
    co_return state->result;
  }
  for (const auto& entry : state->addresses) addresses.push_back(entry.endpoint());
  co_return error_code{};
}

error_code open_and_configure(tcp::socket& socket, const tcp& protocol, const transport_options& options,
                              const std::optional<asio::ip::address>& local_address) {
  error_code ec;
  socket.open(protocol, ec);
  // Small MQTT packets must not wait for Nagle's algorithm: the client coalesces its writes itself.
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  // Buffer sizes before connecting: the receive window scale is agreed in the SYN.
  if (!ec && options.receive_buffer_size != 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(options.receive_buffer_size)),
                      ec);
  }
  if (!ec && options.send_buffer_size != 0) {
    socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(options.send_buffer_size)), ec);
  }
  if (!ec && local_address) socket.bind(tcp::endpoint(*local_address, 0), ec);
  return ec;
}

// Tries each address in turn until one accepts; the socket is reopened for each (a failed connect leaves it
// unusable), and bound again to the local address if there is one.
asio::awaitable<error_code> connect_to_first_answering(tcp::socket& socket,
                                                       const std::vector<tcp::endpoint>& addresses,
                                                       const transport_options& options,
                                                       const std::optional<asio::ip::address>& local_address,
                                                       std::string& diagnostic) {
  error_code last_error =
      asio::error::address_family_not_supported;  // when every address is of the other family
  diagnostic.clear();
  for (const auto& address : addresses) {
    if (local_address && local_address->is_v4() != address.address().is_v4()) continue;
    error_code ignored;
    socket.close(ignored);
    last_error = open_and_configure(socket, address.protocol(), options, local_address);
    if (!last_error) {
      auto [connect_ec] = co_await socket.async_connect(address, use_nothrow_awaitable);
      last_error = connect_ec;
      if (!last_error) co_return last_error;
      bool cancelled = co_await is_cancelled();
      if (cancelled) co_return asio::error::operation_aborted;
    }
    if (!diagnostic.empty()) diagnostic += "; ";
    diagnostic += "connecting to " + host_and_port(address.address().to_string(), address.port()) +
                  " failed: " + last_error.message();
  }
  if (diagnostic.empty()) diagnostic = "no address of the local_address's IP family to connect to";
  co_return last_error;
}

}  // namespace

asio::awaitable<error_code> with_deadline(asio::awaitable<error_code> operation, steady_duration limit,
                                          error timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer deadline(executor, limit);
  auto deadline_passed = deadline.async_wait(use_nothrow_awaitable);
  auto race = std::move(operation) || std::move(deadline_passed);
  auto winner = co_await std::move(race);
  if (winner.index() == 0) co_return std::get<0>(winner);
  auto [wait_ec] = std::get<1>(winner);
  // The timer only completes with an error when the race itself was cancelled by our caller.
  co_return wait_ec ? error_code(asio::error::operation_aborted) : error_code(timeout);
}

asio::awaitable<bool> is_cancelled() {
  asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

asio::awaitable<error_code> connect_tcp_socket(tcp::socket& socket, const endpoint& where,
                                               const transport_options& options, std::string& diagnostic) {
  std::optional<asio::ip::address> local_address;
  if (options.local_address) {
    error_code ec;
    local_address = asio::ip::make_address(*options.local_address, ec);
    if (ec) {
      diagnostic = "local_address \"" + *options.local_address + "\" is not an IP address";
      co_return error::invalid_argument;
    }
  }

  std::vector<tcp::endpoint> addresses;
  error_code ec;
  // An IP address needs no resolver (and no resolver thread).
  if (auto literal = asio::ip::make_address(where.host, ec); !ec) {
    addresses.emplace_back(literal, where.effective_port());
  } else {
    ec = co_await resolve(where.host, where.effective_port(), options.resolve_timeout, addresses, diagnostic);
    if (ec) co_return ec;
  }

  auto connecting = connect_to_first_answering(socket, addresses, options, local_address, diagnostic);
  ec = co_await with_deadline(std::move(connecting), options.connect_timeout, error::connect_timeout);
  if (ec == error::connect_timeout) {
    diagnostic = "connecting to " + host_and_port(where.host, where.effective_port()) + " timed out after " +
                 in_milliseconds(options.connect_timeout);
  }
  co_return ec;
}

std::string host_and_port(std::string_view host, std::uint16_t port) {
  std::string text;
  bool bracketed = host.find(':') != std::string_view::npos;
  if (bracketed) text += '[';
  text += host;
  if (bracketed) text += ']';
  return text + ':' + std::to_string(port);
}

std::string describe_peer(const endpoint& where, const tcp::socket& socket) {
  std::string text = host_and_port(where.host, where.effective_port());
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (!ec && remote.address().to_string() != where.host) {
    text += " (" + host_and_port(remote.address().to_string(), remote.port()) + ")";
  }
  return text;
}

}  // namespace coromqtt::detail
