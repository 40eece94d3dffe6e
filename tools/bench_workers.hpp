// coromqtt bench --processes N: the clients spread over N worker processes, each with its own file-descriptor
// limit, each running a bench_run over its share, and their figures merged into one report.
//
// The parent forks the workers (after starting the broker, if it starts one) and talks to each over a socket
// pair, in lines:
//   worker -> parent   "ready <1|0> <connected>"    set up (connected, subscribed), or failed to
//                      "progress <completed> <in flight> <connected> <errors> <reconnects>"   once a second
//                      "summary", its figures (bench_record.hpp), "end"
//   parent -> worker   one byte: 'g' measure (every worker is ready), 'a' abandon (one failed to set up),
//                      'i' interrupted (Ctrl-C: stop issuing, finish, report), 'k' stop at once
// So every worker starts measuring at the same moment, and the merged rate covers one interval. Workers
// ignore SIGINT and SIGTERM (a terminal sends them to the whole process group): the parent passes them on as
// 'i' and 'k'. A worker whose parent dies is killed (PR_SET_PDEATHSIG), and one that loses the socket stops.
#pragma once

#include "bench_options.hpp"
#include "bench_report.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace coromqtt::tools {

// Runs the command as options.processes workers. `summary` holds the command's description (mode, clients,
// broker...); the merged figures and one entry per worker are added. Returns the exit status: 0 when every
// worker completed without an error, 130 after a second Ctrl-C, 1 otherwise.
int run_workers(const bench_options& options, const std::vector<std::string>& urls, bench_summary& summary);

// The worker's side, in the forked child: runs `share` (clients numbered from first_index) and reports over
// `parent_socket`. Returns the worker's exit status.
int run_worker(const bench_options& share, const std::vector<std::string>& urls, std::size_t first_index,
               int parent_socket);

}  // namespace coromqtt::tools
