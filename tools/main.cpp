// coromqtt: publish, subscribe and benchmark from the shell.
#include "commands.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: coromqtt <command> [options]\n"
      "\n"
      "commands:\n"
      "  pub     publish messages (options as mosquitto_pub)\n"
      "  sub     subscribe and print messages (options as mosquitto_sub)\n"
      "  bench   load-test a broker: pub, sub, rtt and conn modes\n"
      "\n"
      "coromqtt <command> --help describes each command's options.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  const std::string_view command = argv[1];
  if (command == "pub") return coromqtt::tools::run_pub(argc - 1, argv + 1);
  if (command == "sub") return coromqtt::tools::run_sub(argc - 1, argv + 1);
  if (command == "bench") return coromqtt::tools::run_bench(argc - 1, argv + 1);
  if (command == "--help" || command == "-h" || command == "help") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "coromqtt: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 1;
}
