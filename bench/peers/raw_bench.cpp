// The "raw bytes" client of bench/compare: what the broker takes on this machine when the client costs almost
// nothing. MQTT 3.1.1 packets are laid out by hand once, then written in large chunks with blocking sockets;
// acknowledgements are parsed just enough to count them. No library, no event loop, no per-message allocation.
// It marks the limit every real client is measured against, and serves as the load publisher of the
// subscriber scenario.
//
//   raw_bench pub  -h HOST -p PORT -q 0|1|2 -n N -s SIZE [-w WINDOW] [-t TOPIC] [--json]
//   raw_bench rtt  -h HOST -p PORT -q 0|1   -n N -s SIZE [-t TOPIC] [--json]
//
// The same command line, output and measurement rules as `coromqtt bench` (QoS 0 ends with a QoS 1 marker).
#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_stamp.hpp"

#include <coromqtt/endpoint.hpp>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace coromqtt::tools;
using clock_type = std::chrono::steady_clock;

// --- Packets, MQTT 3.1.1, by hand -------------------------------------------------------------------------------

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}

void put_remaining_length(std::string& out, std::size_t n) {
  do {
    std::uint8_t byte = n % 128;
    n /= 128;
    if (n) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (n);
}

std::string packet(std::uint8_t first_byte, const std::string& body) {
  std::string out(1, static_cast<char>(first_byte));
  put_remaining_length(out, body.size());
  return out + body;
}

std::string connect_packet(const std::string& client_id) {
  std::string body;
  put_u16(body, 4);
  body += "MQTT";
  body += '\x04';  // 3.1.1
  body += '\x02';  // clean session
  put_u16(body, 60);
  put_u16(body, static_cast<std::uint16_t>(client_id.size()));
  body += client_id;
  return packet(0x10, body);
}

// A PUBLISH; for QoS 1/2, `id_offset` receives where its packet identifier is, to be patched per message.
std::string publish_packet(const std::string& topic, const std::string& payload, int qos, std::size_t* id_offset) {
  std::string body;
  put_u16(body, static_cast<std::uint16_t>(topic.size()));
  body += topic;
  std::size_t id_at_in_body = 0;
  if (qos > 0) {
    id_at_in_body = body.size();
    put_u16(body, 1);
  }
  body += payload;
  auto p = packet(static_cast<std::uint8_t>(0x30 | (qos << 1)), body);
  if (id_offset) *id_offset = p.size() - body.size() + id_at_in_body;
  return p;
}

std::string subscribe_packet(const std::string& filter, int qos) {
  std::string body;
  put_u16(body, 1);
  put_u16(body, static_cast<std::uint16_t>(filter.size()));
  body += filter;
  body += static_cast<char>(qos);
  return packet(0x82, body);
}

std::string ack_packet(std::uint8_t first_byte, std::uint16_t id) {
  std::string out(1, static_cast<char>(first_byte));
  out += '\x02';
  put_u16(out, id);
  return out;
}

// --- A blocking connection ------------------------------------------------------------------------------------

class connection {
 public:
  connection(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
      throw std::runtime_error("cannot resolve " + host);
    fd_ = ::socket(found->ai_family, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    const int rc = ::connect(fd_, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    if (rc != 0) throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port));
  }
  ~connection() { ::close(fd_); }

  void write(const char* data, std::size_t size) {
    while (size > 0) {
      const auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }
  void write(const std::string& s) { write(s.data(), s.size()); }

  // The next complete packet: its first byte, and its body in `body`. Blocks until one is complete.
  std::uint8_t read_packet(std::string& body) {
    std::uint8_t first = 0;
    while (!next_buffered(first, body)) fill(true);
    return first;
  }

  // The next packet, if one is complete in the buffer, after reading whatever has arrived without waiting.
  bool try_read_packet(std::uint8_t& first, std::string& body) {
    if (next_buffered(first, body)) return true;
    return fill(false) && next_buffered(first, body);
  }

 private:
  bool next_buffered(std::uint8_t& first, std::string& body) {
    std::size_t length = 0, multiplier = 1, at = start_ + 1;
    bool complete_header = false;
    while (at < end_) {
      const auto byte = static_cast<std::uint8_t>(buffer_[at++]);
      length += (byte & 0x7F) * multiplier;
      multiplier *= 128;
      if (!(byte & 0x80)) {
        complete_header = true;
        break;
      }
    }
    if (!complete_header || end_ - at < length) return false;
    first = static_cast<std::uint8_t>(buffer_[start_]);
    body.assign(buffer_.data() + at, length);
    start_ = at + length;
    return true;
  }

  // Reads what has arrived (waiting for something when `block`); false when nothing was there.
  bool fill(bool block) {
    if (start_ > 0) {  // keep the partial packet at the front
      std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const auto n = ::recv(fd_, buffer_.data() + end_, buffer_.size() - end_, block ? 0 : MSG_DONTWAIT);
    if (n < 0 && !block && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n <= 0) throw std::runtime_error("the broker closed the connection");
    end_ += static_cast<std::size_t>(n);
    return true;
  }

  int fd_ = -1;
  std::vector<char> buffer_ = std::vector<char>(256 * 1024);
  std::size_t start_ = 0, end_ = 0;
};

std::uint16_t id_of(const std::string& body) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(body[0]) << 8 | static_cast<std::uint8_t>(body[1]));
}

void patch_id(std::string& bytes, std::size_t offset, std::uint16_t id) {
  bytes[offset] = static_cast<char>(id >> 8);
  bytes[offset + 1] = static_cast<char>(id & 0xFF);
}

void open_session(connection& c, const std::string& client_id) {
  c.write(connect_packet(client_id));
  std::string body;
  if (c.read_packet(body) != 0x20 || body.size() < 2 || body[1] != 0)
    throw std::runtime_error("the broker refused the connection");
}

// --- Scenarios --------------------------------------------------------------------------------------------------

// QoS 0: every PUBLISH is the same bytes, so a chunk of them is laid out once and written again and again.
void publish_qos0(connection& c, const bench_options& o, const std::string& topic, bench_summary& s) {
  const auto one = publish_packet(topic, std::string(o.payload_size, 'x'), 0, nullptr);
  const std::size_t per_chunk = std::max<std::size_t>(1, 256 * 1024 / one.size());
  std::string chunk;
  for (std::size_t i = 0; i < per_chunk; ++i) chunk += one;
  const std::uint64_t count = o.messages_per_client();
  for (std::uint64_t sent = 0; sent < count;) {
    const auto n = std::min<std::uint64_t>(per_chunk, count - sent);
    c.write(chunk.data(), static_cast<std::size_t>(n) * one.size());
    sent += n;
  }
  // The marker: its PUBACK comes after the broker handled everything before it.
  std::size_t id_at = 0;
  c.write(publish_packet(topic, {}, 1, &id_at));
  std::string body;
  while (c.read_packet(body) != 0x40) {
  }
  s.messages = count;
}

// QoS 1/2 with a window: send while there is room, then read acknowledgements (answering PUBREC with PUBREL).
void publish_acknowledged(connection& c, const bench_options& o, const std::string& topic, bench_summary& s) {
  const int qos = static_cast<int>(o.qos);
  std::size_t id_at = 0;
  auto bytes = publish_packet(topic, std::string(o.payload_size, 'x'), qos, &id_at);
  const std::uint64_t count = o.messages_per_client();
  const unsigned window = o.window();
  std::vector<clock_type::time_point> sent_at(65536);
  std::uint64_t issued = 0, completed = 0;
  std::uint16_t next_id = 1;
  std::string out, body;
  while (completed < count) {
    out.clear();
    while (issued < count && issued - completed < window) {
      patch_id(bytes, id_at, next_id);
      out += bytes;
      sent_at[next_id] = clock_type::now();
      next_id = next_id == 65535 ? 1 : next_id + 1;
      ++issued;
    }
    if (!out.empty()) c.write(out);
    out.clear();
    // At least one acknowledgement, then every one that has already arrived, before writing again.
    auto handle = [&](std::uint8_t type) {
      if (type == 0x40 || type == 0x70) {  // PUBACK, PUBCOMP
        s.latency.record(nanoseconds(clock_type::now() - sent_at[id_of(body)]));
        ++completed;
      } else if (type == 0x50) {  // PUBREC -> PUBREL
        out += ack_packet(0x62, id_of(body));
      }
    };
    handle(c.read_packet(body));
    for (std::uint8_t type = 0; c.try_read_packet(type, body);) handle(type);
    if (!out.empty()) c.write(out);
  }
  s.messages = completed;
}

// One at a time: publish to the topic we subscribe to, wait for the message (and our PUBACK), repeat.
void round_trips(connection& c, const bench_options& o, const std::string& topic, bench_summary& s) {
  const int qos = std::min(1, static_cast<int>(o.qos));
  c.write(subscribe_packet(topic, qos));
  std::string body;
  while (c.read_packet(body) != 0x90) {
  }
  std::size_t id_at = 0;
  std::string payload(o.payload_size, 'x');
  const std::uint64_t count = o.messages_per_client();
  s.messages = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto begin = clock_type::now();
    write_stamp(payload, begin);
    auto bytes = publish_packet(topic, payload, qos, &id_at);
    c.write(bytes);
    bool came_back = false, acknowledged = qos == 0;
    while (!came_back || !acknowledged) {
      const auto type = c.read_packet(body);
      if ((type & 0xF0) == 0x30) {
        s.latency.record(nanoseconds(clock_type::now() - begin));
        came_back = true;
        if (type & 0x06) {  // QoS 1 delivery: acknowledge it
          const std::size_t topic_length = static_cast<std::size_t>(id_of(body));
          c.write(ack_packet(0x40, id_of(body.substr(2 + topic_length, 2))));
        }
      } else if (type == 0x40) {
        acknowledged = true;
      }
    }
    ++s.messages;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto parsed = parse_bench_options(argc, argv, stderr, exit_code);
  if (!parsed) return exit_code;
  const bench_options& o = *parsed;
  if (o.urls.empty()) {
    std::fputs("raw_bench: name the broker with -h/-p or -L mqtt://host:port\n", stderr);
    return 2;
  }
  boost::system::error_code ec;
  const auto where = coromqtt::endpoint::parse(o.urls.front(), ec);
  if (!where || where->kind != coromqtt::transport_kind::tcp || o.version != coromqtt::protocol_version::v3_1_1 ||
      (o.mode != bench_mode::pub && o.mode != bench_mode::rtt) || o.clients != 1) {
    std::fputs("raw_bench: one client, mqtt:// only, MQTT 3.1.1 (-V 3.1.1), pub or rtt\n", stderr);
    return 2;
  }

  bench_summary s;
  describe_run(s, o);
  s.client = "raw";
  s.client_version = "-";
  s.broker = o.urls.front();
  try {
    connection c{where->host, where->effective_port()};
    open_session(c, o.client_id_prefix + "-raw");
    const auto topic = expand_topic(o.topic, 0);
    const auto usage = process_usage::now();
    const auto begin = clock_type::now();
    if (o.mode == bench_mode::rtt)
      round_trips(c, o, topic, s);
    else if (o.qos == coromqtt::qos::at_most_once)
      publish_qos0(c, o, topic, s);
    else
      publish_acknowledged(c, o, topic, s);
    s.elapsed_seconds = std::chrono::duration<double>(clock_type::now() - begin).count();
    const auto after = process_usage::now();
    s.cpu_seconds = after.cpu_seconds - usage.cpu_seconds;
    s.peak_rss_kib = after.peak_rss_kib;
    c.write(std::string("\xE0\x00", 2));  // DISCONNECT
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw_bench: %s\n", e.what());
    return 1;
  }
  if (o.json)
    print_json(stdout, s);
  else
    print_summary(stdout, s);
  return 0;
}
