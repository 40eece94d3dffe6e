// A latency histogram with log-linear buckets (the layout of HdrHistogram): exact below 128 ns, then every
// doubling [2^e, 2^(e+1)) split into 128 equal steps, so any recorded value is known within 1/128 (0.8 %) of
// itself, from nanoseconds to the age of the universe, in a fixed 58 KiB of counters. Recording is an index
// computation and an increment: no allocation, no sorting, whatever the number of samples.
//
// Shared by `coromqtt bench` and the peer programs of bench/compare (bench/peers/), so that every client's
// percentiles are computed the same way. bench/peers/mqttjs_bench.js carries a port of it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace coromqtt::tools {

class latency_histogram {
 public:
  static constexpr unsigned sub_bucket_bits = 7;
  static constexpr std::uint64_t sub_buckets = std::uint64_t{1} << sub_bucket_bits;  // 128
  // Values below 128 have one bucket each; each of the 57 doublings from 2^7 to 2^63 has 128.
  static constexpr std::size_t bucket_count = sub_buckets + (64 - sub_bucket_bits) * sub_buckets;

  void record(std::uint64_t nanoseconds) noexcept {
    ++counts_[index_of(nanoseconds)];
    ++count_;
    sum_ += static_cast<double>(nanoseconds);
    min_ = std::min(min_, nanoseconds);
    max_ = std::max(max_, nanoseconds);
  }

  void merge(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  double mean() const noexcept { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double sum() const noexcept { return sum_; }

  // For sending a histogram to another process (coromqtt bench --processes): visit(index, count) for each
  // non-empty bucket; the receiver rebuilds it with add_bucket() for each, then set_extremes().
  template <class Visit>
  void for_each_bucket(Visit&& visit) const {
    for (std::size_t i = 0; i < bucket_count; ++i) {
      if (counts_[i] != 0) visit(i, counts_[i]);
    }
  }
  // False for an index out of range.
  bool add_bucket(std::size_t index, std::uint64_t n) noexcept {
    if (index >= bucket_count) return false;
    counts_[index] += n;
    count_ += n;
    return true;
  }
  void set_extremes(double sum, std::uint64_t min, std::uint64_t max) noexcept {
    sum_ = sum;
    min_ = min;
    max_ = max;
  }

  // The value below or at which `fraction` (0..1) of the samples lie: the midpoint of the bucket holding the
  // sample of that rank, clamped to the exact extremes.
  std::uint64_t percentile(double fraction) const noexcept {
    if (count_ == 0) return 0;
    const auto rank =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(midpoint_of(i), min_, max_);
    }
    return max_;
  }

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < sub_buckets) return static_cast<std::size_t>(v);
    const unsigned exponent = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= 7
    const unsigned shift = exponent - sub_bucket_bits;
    const std::uint64_t step = (v >> shift) - sub_buckets;  // 0..127 within the doubling
    return static_cast<std::size_t>(sub_buckets + (exponent - sub_bucket_bits) * sub_buckets + step);
  }

  static std::uint64_t lowest_of(std::size_t index) noexcept {
    if (index < sub_buckets) return index;
    const std::size_t doubling = (index - sub_buckets) / sub_buckets;  // 0 for [128, 256)
    const std::uint64_t step = (index - sub_buckets) % sub_buckets;
    return (sub_buckets + step) << doubling;
  }

  static std::uint64_t midpoint_of(std::size_t index) noexcept {
    if (index < sub_buckets) return index;
    const std::size_t doubling = (index - sub_buckets) / sub_buckets;
    const std::uint64_t width = std::uint64_t{1} << doubling;
    return lowest_of(index) + width / 2;
  }

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace coromqtt::tools
