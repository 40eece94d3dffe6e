// PLACEHOLDER: the sub command is built by the command-line tool work.
#include "commands.hpp"

#include <cstdio>

namespace coromqtt::tools {

int run_sub(int, char**) {
  std::fputs("coromqtt sub: not available in this build yet\n", stderr);
  return 2;
}

}  // namespace coromqtt::tools
