// A worker process's figures as text, for its parent (coromqtt bench --processes), and how the parent merges
// the figures of all its workers into the command's.
//
// The record is one "name value..." line per figure, histograms as their non-empty buckets, so that merged
// percentiles are exactly those of one histogram holding every sample.
#pragma once

#include "bench_report.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::tools {

// The figures a run measured (not its description: the parent knows what it asked for).
std::string to_record(const bench_summary&);

// Reads what to_record wrote into `out`'s figures. False (with `out` in an unspecified state) when the text
// is not such a record.
bool from_record(std::string_view record, bench_summary& out);

// Adds the figures of `parts` to `total`, whose description (mode, clients...) is the command's:
// - counts (messages, errors, reconnects, connections), CPU time and peak RSS add up (the peak RSS is then an
//   upper bound: the workers' peaks need not coincide);
// - the measured interval runs from the first worker's start to the last one's end, so a rate is the
//   command's, not a sum of rates over different intervals;
// - histograms and failure counts merge; memory per connection is the total growth over all connections.
void merge_into(bench_summary& total, const std::vector<bench_summary>& parts);

}  // namespace coromqtt::tools
