// The fault proxy. All its state lives on its own thread (one io_context, run by one thread: no locks
// except around the counters, which the test reads). Each direction of a connection is a relay:
//
//     from ──read──> [ reader ] ──> queue of chunks (bounded) ──> [ writer ] ──write──> to
//                                   each stamped "due at"          waits for: due time, bandwidth pacing,
//                                   (read time + latency)          no blackhole; counts bytes, does cuts
//
// The queue between reader and writer is what lets latency delay each chunk without slowing throughput, and
// lets a blackhole hold bytes without losing them. When it is full the reader stops reading, so the sender
// feels it through TCP as it would on a slow link.
#include "proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace coromqtt::fault {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using steady_clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t read_size = 16 * 1024;
// What one direction may hold (delayed or blackholed) before the proxy stops reading from the sender.
constexpr std::size_t max_buffered_per_direction = 1024 * 1024;
// With a bandwidth limit, bytes go out in slices of this much time's worth, so that the rate is even
// rather than one large write followed by a long pause.
constexpr auto pacing_slice = std::chrono::milliseconds(20);

std::size_t index_of(direction way) {
  return way == direction::client_to_server ? 0 : 1;
}

// Closes a socket the chosen way; errors are of no interest (the peer may be gone already).
void close_socket(tcp::socket& socket, close_style how) {
  error_code ignored;
  if (!socket.is_open()) {
    return;
  }
  if (how == close_style::reset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close() then sends RST
  } else {
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
  socket.close(ignored);
}

// Completes at `until`, or earlier when someone cancels the timer: a condition variable for coroutines on
// one thread. The waiter re-checks its condition either way.
asio::awaitable<void> wait_on(asio::steady_timer& timer, steady_clock::time_point until) {
  timer.expires_at(until);
  co_await timer.async_wait(use_tuple);
}

// Coroutines end by themselves on errors; an exception is a bug in the proxy, so let it stop the test loudly.
void rethrow_if_failed(std::exception_ptr failure) {
  if (failure) {
    std::rethrow_exception(failure);
  }
}

}  // namespace

class proxy::impl {
 public:
  impl(std::string target_host, std::uint16_t target_port);
  ~impl();

  std::uint16_t port() const noexcept { return port_; }

  // Runs `action` on the proxy's thread and returns its result (or rethrows its exception) once it ran.
  template <class Action>
  auto on_proxy_thread(Action action) -> decltype(action()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      return action();
    }
    std::packaged_task<decltype(action())()> task(std::move(action));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    return done.get();
  }

  void cut_all(close_style how);
  void cut_after(std::size_t bytes, direction way, close_style how);
  void blackhole(bool on);
  void set_latency(steady_clock::duration latency);
  void set_bandwidth(std::size_t bytes_per_second);
  void refuse(bool on, refusal how);
  void set_target(std::string host, std::uint16_t port);

  proxy_counters counters() const {
    std::lock_guard lock(counters_mutex_);
    return counters_;
  }
  bool wait_until(const std::function<bool(const proxy_counters&)>& condition,
                  steady_clock::duration timeout) const {
    std::unique_lock lock(counters_mutex_);
    return counters_changed_.wait_for(lock, timeout, [&] { return condition(counters_); });
  }

 private:
  class connection;

  struct armed_cut {
    std::size_t remaining;
    close_style how;
    std::uint64_t generation;  // tells a cut armed during a write from the one that write was sized for
  };

  void listen();
  asio::awaitable<void> accept_loop(std::uint64_t generation);
  void wake_all_writers();

  template <class Change>
  void update_counters(Change change) {
    {
      std::lock_guard lock(counters_mutex_);
      change(counters_);
    }
    counters_changed_.notify_all();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> keep_running_{io_.get_executor()};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::uint64_t accept_generation_ = 0;

  // Settings, touched only on the proxy thread.
  std::string target_host_;
  std::uint16_t target_port_;
  bool blackholed_ = false;
  steady_clock::duration latency_{};
  std::size_t bytes_per_second_ = 0;
  std::optional<refusal> refusing_;
  std::array<std::optional<armed_cut>, 2> cuts_;
  std::uint64_t cut_generation_ = 0;
  std::set<std::shared_ptr<connection>> connections_;

  mutable std::mutex counters_mutex_;
  mutable std::condition_variable counters_changed_;
  proxy_counters counters_;

  std::thread thread_;
};

// One proxied connection: the client's socket, the socket to the target, and a relay each way.
class proxy::impl::connection : public std::enable_shared_from_this<connection> {
 public:
  connection(impl& owner, tcp::socket client)
      : owner_(owner),
        client_(std::move(client)),
        server_(owner.io_),
        resolver_(owner.io_),
        relays_{relay_state(owner.io_), relay_state(owner.io_)} {}

  // The coroutines take `self`, the connection itself, so that their frame keeps it alive from the moment it
  // is created, not only once it starts running (a cut may come in between).
  asio::awaitable<void> run(std::shared_ptr<connection> self, std::string host, std::uint16_t port);

  // Closes both sides at once and drops whatever is held. Safe to call more than once.
  void close(close_style how);

  void wake_writers() {
    for (auto& relay : relays_) {
      relay.writer_wake.cancel();
    }
  }

  // A new bandwidth applies from now, not from a pacing schedule computed under the old one.
  void reset_pacing() {
    for (auto& relay : relays_) {
      relay.next_send = steady_clock::time_point{};
    }
  }

 private:
  struct chunk {
    std::vector<char> bytes;  // empty: the end of the stream (the sender closed its side)
    std::size_t sent = 0;
    steady_clock::time_point due;
  };

  struct relay_state {
    explicit relay_state(asio::io_context& io) : writer_wake(io), reader_wake(io) {}
    std::deque<chunk> queue;
    std::size_t queued_bytes = 0;
    asio::steady_timer writer_wake;        // cancelled when the writer may have something new to do
    asio::steady_timer reader_wake;        // cancelled when the queue has room again
    steady_clock::time_point next_send{};  // bandwidth pacing
  };

  tcp::socket& source(direction way) { return way == direction::client_to_server ? client_ : server_; }
  tcp::socket& destination(direction way) { return way == direction::client_to_server ? server_ : client_; }

  asio::awaitable<void> read_into_queue(std::shared_ptr<connection> self, direction way);
  asio::awaitable<void> write_from_queue(std::shared_ptr<connection> self, direction way);
  void count_forwarded(direction way, std::size_t bytes);

  impl& owner_;
  tcp::socket client_;
  tcp::socket server_;
  tcp::resolver resolver_;
  std::array<relay_state, 2> relays_;
  int ended_directions_ = 0;
  bool closed_ = false;
};

asio::awaitable<void> proxy::impl::connection::run(std::shared_ptr<connection> self, std::string host,
                                                   std::uint16_t port) {
  auto [resolve_error, endpoints] = co_await resolver_.async_resolve(host, std::to_string(port), use_tuple);
  error_code connect_error = resolve_error;
  if (!resolve_error && !closed_) {
    std::tie(connect_error, std::ignore) = co_await asio::async_connect(server_, endpoints, use_tuple);
  }
  if (closed_) {
    co_return;
  }
  if (connect_error) {
    owner_.update_counters([](proxy_counters& c) { ++c.target_connect_failures; });
    close(close_style::reset);  // what a client would see from a broker that is not there behind a proxy
    co_return;
  }
  error_code ignored;
  server_.set_option(tcp::no_delay(true), ignored);
  client_.set_option(tcp::no_delay(true), ignored);
  for (const direction way : {direction::client_to_server, direction::server_to_client}) {
    asio::co_spawn(owner_.io_, read_into_queue(self, way), rethrow_if_failed);
    asio::co_spawn(owner_.io_, write_from_queue(self, way), rethrow_if_failed);
  }
}

asio::awaitable<void> proxy::impl::connection::read_into_queue(std::shared_ptr<connection> /*self*/,
                                                               direction way) {
  relay_state& relay = relays_[index_of(way)];
  std::vector<char> buffer(read_size);
  for (;;) {
    if (closed_) {
      co_return;
    }
    if (relay.queued_bytes >= max_buffered_per_direction) {
      co_await wait_on(relay.reader_wake, steady_clock::time_point::max());
      continue;
    }
    auto [ec, n] = co_await source(way).async_read_some(asio::buffer(buffer), use_tuple);
    if (closed_) {
      co_return;
    }
    const auto due = steady_clock::now() + owner_.latency_;
    if (ec == asio::error::eof) {
      relay.queue.push_back(chunk{{}, 0, due});  // the FIN travels behind the data, delayed alike
      relay.writer_wake.cancel();
      co_return;
    }
    if (ec) {
      close(close_style::reset);  // a reset (or worse) from one side is passed on as a reset
      co_return;
    }
    relay.queue.push_back(
        chunk{std::vector<char>(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n)), 0, due});
    relay.queued_bytes += n;
    relay.writer_wake.cancel();
  }
}

asio::awaitable<void> proxy::impl::connection::write_from_queue(std::shared_ptr<connection> /*self*/,
                                                                direction way) {
  relay_state& relay = relays_[index_of(way)];
  auto& cut = owner_.cuts_[index_of(way)];
  for (;;) {
    if (closed_) {
      co_return;
    }
    if (relay.queue.empty() || owner_.blackholed_) {
      co_await wait_on(relay.writer_wake, steady_clock::time_point::max());
      continue;
    }
    const auto ready_at = std::max(relay.queue.front().due, relay.next_send);
    if (ready_at > steady_clock::now()) {
      co_await wait_on(relay.writer_wake, ready_at);
      continue;
    }
    if (relay.queue.front().bytes.empty()) {
      // End of stream: pass the half-close on; when both directions have ended, the connection is done.
      error_code ignored;
      destination(way).shutdown(tcp::socket::shutdown_send, ignored);
      relay.queue.pop_front();
      if (++ended_directions_ == 2) {
        close(close_style::fin);
      }
      co_return;
    }
    if (cut && cut->remaining == 0) {
      const close_style how = cut->how;
      cut.reset();
      close(how);
      co_return;
    }

    const chunk& next = relay.queue.front();
    std::size_t slice = next.bytes.size() - next.sent;
    if (owner_.bytes_per_second_ != 0) {
      const std::size_t slice_limit = owner_.bytes_per_second_ * pacing_slice.count() / 1000;
      slice = std::min(slice, std::max<std::size_t>(slice_limit, 1));
    }
    std::optional<std::uint64_t> sized_for_cut;
    if (cut) {
      slice = std::min(slice, cut->remaining);
      sized_for_cut = cut->generation;
    }
    const auto started = steady_clock::now();
    const auto [ec, written] = co_await asio::async_write(
        destination(way), asio::buffer(next.bytes.data() + next.sent, slice), use_tuple);
    if (closed_) {
      co_return;
    }
    if (ec) {
      close(close_style::reset);
      co_return;
    }
    chunk& front = relay.queue.front();
    front.sent += written;
    relay.queued_bytes -= written;
    if (front.sent == front.bytes.size()) {
      relay.queue.pop_front();
    }
    relay.reader_wake.cancel();
    if (owner_.bytes_per_second_ != 0) {
      const auto transmission_time =
          std::chrono::duration_cast<steady_clock::duration>(std::chrono::duration<double>(
              static_cast<double>(written) / static_cast<double>(owner_.bytes_per_second_)));
      relay.next_send = std::max(relay.next_send, started) + transmission_time;
    }
    count_forwarded(way, written);
    if (cut && sized_for_cut == cut->generation) {
      cut->remaining -= written;
      if (cut->remaining == 0) {
        const close_style how = cut->how;
        cut.reset();
        close(how);
        co_return;
      }
    }
  }
}

void proxy::impl::connection::count_forwarded(direction way, std::size_t bytes) {
  owner_.update_counters([&](proxy_counters& c) {
    (way == direction::client_to_server ? c.bytes_client_to_server : c.bytes_server_to_client) += bytes;
  });
}

void proxy::impl::connection::close(close_style how) {
  if (closed_) {
    return;
  }
  closed_ = true;
  resolver_.cancel();
  close_socket(client_, how);
  close_socket(server_, how);
  // The queues stay as they are (a pending write may still point into them): nothing reads them any more,
  // and they go with the connection.
  for (auto& relay : relays_) {
    relay.writer_wake.cancel();
    relay.reader_wake.cancel();
  }
  owner_.update_counters([](proxy_counters& c) { --c.connections_open; });
  owner_.connections_.erase(shared_from_this());  // the coroutines still hold it until they see closed_
}

proxy::impl::impl(std::string target_host, std::uint16_t target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listen();  // before the thread starts: nothing else touches the acceptor yet, and errors reach the caller
  port_ = acceptor_.local_endpoint().port();
  thread_ = std::thread([this] { io_.run(); });
}

proxy::impl::~impl() {
  on_proxy_thread([this] {
    ++accept_generation_;
    error_code ignored;
    acceptor_.close(ignored);
    const auto open = connections_;  // close() erases from the set
    for (const auto& each : open) {
      each->close(close_style::reset);
    }
  });
  keep_running_.reset();  // io_.run() returns once every coroutine has seen its socket closed
  thread_.join();
}

void proxy::impl::listen() {
  const tcp::endpoint where(asio::ip::address_v4::loopback(),
                            port_);  // port_ 0 the first time: any free port
  acceptor_.open(where.protocol());
  // Reopening the same port after refuse(not_listening) must work while connections accepted on it live on.
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(where);
  acceptor_.listen();
  asio::co_spawn(io_, accept_loop(++accept_generation_), rethrow_if_failed);
}

asio::awaitable<void> proxy::impl::accept_loop(std::uint64_t generation) {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || generation != accept_generation_) {
      co_return;  // the acceptor was closed; a later listen() runs its own loop
    }
    if (ec) {
      continue;  // e.g. the client gave up before we accepted
    }
    update_counters([](proxy_counters& c) { ++c.connections_accepted; });
    if (refusing_) {
      close_socket(socket, *refusing_ == refusal::close_after_accept ? close_style::fin : close_style::reset);
      continue;
    }
    auto accepted = std::make_shared<connection>(*this, std::move(socket));
    connections_.insert(accepted);
    update_counters([](proxy_counters& c) { ++c.connections_open; });
    asio::co_spawn(io_, accepted->run(accepted, target_host_, target_port_), rethrow_if_failed);
  }
}

void proxy::impl::wake_all_writers() {
  for (const auto& each : connections_) {
    each->wake_writers();
  }
}

void proxy::impl::cut_all(close_style how) {
  on_proxy_thread([&] {
    const auto open = connections_;
    for (const auto& each : open) {
      each->close(how);
    }
  });
}

void proxy::impl::cut_after(std::size_t bytes, direction way, close_style how) {
  on_proxy_thread([&] {
    cuts_[index_of(way)] = armed_cut{bytes, how, ++cut_generation_};
    wake_all_writers();  // a cut after 0 bytes applies to data already waiting
  });
}

void proxy::impl::blackhole(bool on) {
  on_proxy_thread([&] {
    blackholed_ = on;
    wake_all_writers();
  });
}

void proxy::impl::set_latency(steady_clock::duration latency) {
  on_proxy_thread([&] { latency_ = latency; });
}

void proxy::impl::set_bandwidth(std::size_t bytes_per_second) {
  on_proxy_thread([&] {
    bytes_per_second_ = bytes_per_second;
    for (const auto& each : connections_) {
      each->reset_pacing();
      each->wake_writers();
    }
  });
}

void proxy::impl::refuse(bool on, refusal how) {
  on_proxy_thread([&] {
    const bool was_listening = !(refusing_ && *refusing_ == refusal::not_listening);
    refusing_ = on ? std::optional<refusal>(how) : std::nullopt;
    const bool listening = !(refusing_ && *refusing_ == refusal::not_listening);
    if (was_listening && !listening) {
      ++accept_generation_;
      error_code ignored;
      acceptor_.close(ignored);
    } else if (!was_listening && listening) {
      listen();  // same port_
    }
  });
}

void proxy::impl::set_target(std::string host, std::uint16_t port) {
  on_proxy_thread([&] {
    target_host_ = std::move(host);
    target_port_ = port;
  });
}

proxy::proxy(std::string target_host, std::uint16_t target_port)
    : impl_(std::make_unique<impl>(std::move(target_host), target_port)) {}

proxy::~proxy() = default;

std::uint16_t proxy::port() const noexcept {
  return impl_->port();
}
void proxy::cut_all(close_style how) {
  impl_->cut_all(how);
}
void proxy::cut_after(std::size_t bytes, direction way, close_style how) {
  impl_->cut_after(bytes, way, how);
}
void proxy::blackhole(bool on) {
  impl_->blackhole(on);
}
void proxy::set_latency(std::chrono::steady_clock::duration latency) {
  impl_->set_latency(latency);
}
void proxy::set_bandwidth(std::size_t bytes_per_second) {
  impl_->set_bandwidth(bytes_per_second);
}
void proxy::refuse(bool on, refusal how) {
  impl_->refuse(on, how);
}
void proxy::set_target(std::string host, std::uint16_t port) {
  impl_->set_target(std::move(host), port);
}
proxy_counters proxy::counters() const {
  return impl_->counters();
}

bool proxy::wait_until(const std::function<bool(const proxy_counters&)>& condition,
                       std::chrono::steady_clock::duration timeout) const {
  return impl_->wait_until(condition, timeout);
}

}  // namespace coromqtt::fault
