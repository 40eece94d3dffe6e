// The subcommands of the coromqtt command-line tool. Each returns the process exit code.
#pragma once

namespace coromqtt::tools {

int run_pub(int argc, char** argv);    // tools/pub.cpp: like mosquitto_pub
int run_sub(int argc, char** argv);    // tools/sub.cpp: like mosquitto_sub
int run_bench(int argc, char** argv);  // tools/bench.cpp: load generator and latency meter

}  // namespace coromqtt::tools
