#include "cli_input.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace coromqtt::tools {

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
}

input_stream::input_stream(asio::any_io_executor executor, int fd) : descriptor_{std::move(executor)} {
  const int copy = ::dup(fd);
  if (copy < 0) throw boost::system::system_error{errno, boost::system::system_category(), "dup"};
  original_flags_ = ::fcntl(copy, F_GETFL);
  boost::system::error_code ec;
  descriptor_.assign(copy, ec);  // epoll refuses regular files (EPERM): read those directly
  if (ec) plain_fd_ = copy;
}

input_stream::~input_stream() {
  if (plain_fd_ >= 0) {
    ::close(plain_fd_);
  } else if (descriptor_.is_open() && original_flags_ >= 0) {
    // Asio makes the descriptor non-blocking, and that flag belongs to the file description, which the shell
    // or the process feeding us shares: put it back as it was.
    ::fcntl(descriptor_.native_handle(), F_SETFL, original_flags_);
  }
}

asio::awaitable<std::size_t> input_stream::read_some(std::span<char> buffer) {
  if (plain_fd_ >= 0) {
    for (;;) {
      const auto n = ::read(plain_fd_, buffer.data(), buffer.size());
      if (n >= 0) co_return static_cast<std::size_t>(n);
      if (errno != EINTR) throw boost::system::system_error{errno, boost::system::system_category(), "read"};
    }
  }
  auto [ec, n] = co_await descriptor_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                      asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::eof) co_return 0;
  if (ec) throw boost::system::system_error{ec, "reading standard input"};
  co_return n;
}

line_reader::line_reader(input_stream& input, std::size_t max_line) : input_{input}, max_line_{max_line} {}

asio::awaitable<std::optional<std::string>> line_reader::next_line() {
  for (;;) {
    const auto newline = buffer_.find('\n', begin_ + scanned_);
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(begin_, newline - begin_);
      begin_ = newline + 1;
      scanned_ = 0;
      co_return line;
    }
    scanned_ = buffer_.size() - begin_;
    if (scanned_ > max_line_)
      throw std::length_error("a line of standard input is longer than " + std::to_string(max_line_) +
                              " bytes");
    if (end_of_input_) {
      if (scanned_ == 0) co_return std::nullopt;
      std::string last = buffer_.substr(begin_);
      begin_ = buffer_.size();
      scanned_ = 0;
      co_return last;
    }
    // Drop what was consumed before growing, so the buffer holds one line and one read at most.
    if (begin_ > 0) {
      buffer_.erase(0, begin_);
      begin_ = 0;
    }
    const auto old_size = buffer_.size();
    buffer_.resize(old_size + read_chunk);
    // Named before the co_await: g++ 12 mishandles braced temporaries inside co_await expressions.
    const std::span<char> space{buffer_.data() + old_size, read_chunk};
    const std::size_t n = co_await input_.read_some(space);
    buffer_.resize(old_size + n);
    if (n == 0) end_of_input_ = true;
  }
}

asio::awaitable<std::string> read_all(input_stream& input, std::size_t max_bytes) {
  std::string data;
  for (;;) {
    const auto old_size = data.size();
    data.resize(old_size + read_chunk);
    const std::span<char> space{data.data() + old_size, read_chunk};
    const std::size_t n = co_await input.read_some(space);
    data.resize(old_size + n);
    if (n == 0) co_return data;
    if (data.size() > max_bytes)
      throw std::length_error("standard input is longer than " + std::to_string(max_bytes) + " bytes");
  }
}

}  // namespace coromqtt::tools
