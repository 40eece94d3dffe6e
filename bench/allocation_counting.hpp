// Heap allocations counted across a whole benchmark binary: allocation_counting.cpp replaces the global
// operator new, so libcoromqtt's allocations resolve there too. A benchmark reads the count around its timed
// loop only (the framework allocates around it).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>

namespace coromqtt::bench {

// Allocations made by this process so far.
std::size_t allocations_so_far() noexcept;

class allocation_counter {
 public:
  allocation_counter() noexcept : start_{allocations_so_far()} {}

  // allocs/op per iteration, divided by the messages each iteration handles.
  void report_per_iteration(benchmark::State& state, double messages_per_iteration = 1.0) const {
    state.counters["allocs/op"] = benchmark::Counter(counted() / messages_per_iteration,
                                                     benchmark::Counter::kAvgIterations);
  }

  // allocs/op per message, for a benchmark that counts its messages over all iterations.
  void report_per_message(benchmark::State& state, double messages) const {
    state.counters["allocs/op"] = benchmark::Counter(counted() / messages);
  }

 private:
  double counted() const noexcept { return static_cast<double>(allocations_so_far() - start_); }

  std::size_t start_;
};

}  // namespace coromqtt::bench
