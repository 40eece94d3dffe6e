#include "bench_broker.hpp"
#include "bench_limits.hpp"

#include <algorithm>
#include <fstream>
#include <string>
#include <sys/resource.h>

namespace coromqtt::tools {

namespace {

// 1234567 -> "1,234,567"
std::string grouped(std::uint64_t value) {
  const auto digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::size_t divide_rounding_up(std::size_t n, std::size_t by) {
  return (n + by - 1) / by;
}

// The ephemeral ports the kernel picks local ports from (net.ipv4.ip_local_port_range).
std::size_t ephemeral_ports() {
  std::ifstream range{"/proc/sys/net/ipv4/ip_local_port_range"};
  std::size_t low = 0, high = 0;
  if (!(range >> low >> high) || high < low) return 0;
  return high - low + 1;
}

}  // namespace

limit_check check_limits(const bench_options& o, bool starts_broker) {
  limit_check result;
  rlimit before{};
  ::getrlimit(RLIMIT_NOFILE, &before);
  const std::size_t limit = raise_open_file_limit();
  if (limit == 0) return result;  // unknown: nothing to say
  const std::string limit_text =
      grouped(limit) + " (RLIMIT_NOFILE" +
      (before.rlim_cur < limit
           ? ", the soft limit raised from " + grouped(before.rlim_cur) + " to the hard limit"
           : std::string{", the hard limit"}) +
      ")";

  const std::size_t per_process = divide_rounding_up(o.clients, o.processes);
  if (per_process + reserved_descriptors > limit) {
    const std::size_t usable = limit > reserved_descriptors ? limit - reserved_descriptors : 1;
    const std::size_t needed = divide_rounding_up(o.clients, usable);
    std::string what = o.processes == 1 ? grouped(o.clients) + " clients do not fit in one process"
                                        : "--processes " + std::to_string(o.processes) + ": " +
                                              grouped(per_process) + " clients per process do not fit";
    result.error = what + ": a process may open " + limit_text +
                   " file descriptors, one per connection and about " + std::to_string(reserved_descriptors) +
                   " of its own. Spread them with --processes " + std::to_string(needed) + " (" +
                   grouped(divide_rounding_up(o.clients, needed)) +
                   " clients each), or raise the hard limit (ulimit -Hn, as root).";
    return result;
  }
  if (starts_broker && o.clients + reserved_descriptors > limit) {
    result.error = "the mosquitto started for this run may open " + limit_text +
                   " file descriptors, too few for " + grouped(o.clients) +
                   " connections: give brokers that can take them with -L (several -L " +
                   "spread the clients over them).";
    return result;
  }

  // A connection from a bound source address takes a port of that address for itself; without one, the kernel
  // picks a port per destination. Either way about 28,000 per address on Linux's default range.
  const std::size_t ports = ephemeral_ports();
  const std::size_t addresses =
      o.bind_addresses.empty() ? std::max<std::size_t>(1, o.urls.size()) : o.bind_addresses.size();
  if (ports > 0 && divide_rounding_up(o.clients, addresses) > ports) {
    result.warnings.push_back(
        grouped(divide_rounding_up(o.clients, addresses)) + " connections per " +
        (o.bind_addresses.empty() ? "broker address" : "source address") + " may exceed the " +
        grouped(ports) +
        " local ports of net.ipv4.ip_local_port_range: add source addresses (--bind-address, e.g. 127.0.0.2 "
        "and up on loopback) or broker addresses (-L).");
  }
  return result;
}

}  // namespace coromqtt::tools
