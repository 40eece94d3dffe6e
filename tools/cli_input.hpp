// Standard input for `coromqtt pub -l` and `-s`, read without stalling the client.
//
// The client shares the tool's single thread: a blocking read() on a quiet pipe or terminal would stop it
// from answering the broker (keep alive, acknowledgements). So pipes, terminals and sockets are read
// asynchronously through the reactor. Regular files cannot be watched by epoll and never block, so they are
// read with plain read().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace coromqtt::tools {

namespace asio = boost::asio;

class input_stream {
 public:
  // Reads from `fd` (not taken over: a duplicate is read, so the original stays open and in blocking mode).
  input_stream(asio::any_io_executor executor, int fd);
  ~input_stream();
  input_stream(const input_stream&) = delete;
  input_stream& operator=(const input_stream&) = delete;

  // Up to buffer.size() bytes; 0 at the end of the input. Throws boost::system::system_error on a read error
  // and when the awaiting coroutine is cancelled.
  asio::awaitable<std::size_t> read_some(std::span<char> buffer);

 private:
  asio::posix::stream_descriptor descriptor_;
  int plain_fd_ = -1;       // when the descriptor could not be watched: a regular file
  int original_flags_ = 0;  // restored on the way out: the file description is shared with whoever gave us fd
};

// Splits input into lines: '\n' ends a line and is removed ('\r' is kept, as mosquitto_pub keeps it); a last
// line without '\n' is a line too. Holds one read's worth of input plus the line being assembled, never more.
class line_reader {
 public:
  // Lines longer than `max_line` bytes fail with a usage-like error (std::length_error) rather than growing
  // without bound.
  line_reader(input_stream& input, std::size_t max_line);

  // The next line, or nullopt at the end of the input.
  asio::awaitable<std::optional<std::string>> next_line();

 private:
  input_stream& input_;
  std::size_t max_line_;
  std::string buffer_;  // unread input starts at begin_
  std::size_t begin_ = 0;
  std::size_t scanned_ = 0;  // bytes after begin_ already known to hold no '\n'
  bool end_of_input_ = false;
};

// All of the input, failing with std::length_error beyond `max_bytes`.
asio::awaitable<std::string> read_all(input_stream& input, std::size_t max_bytes);

}  // namespace coromqtt::tools
