// The replaced global allocation functions of the benchmark binaries (see allocation_counting.hpp).
#include "allocation_counting.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::size_t> allocations{0};

// Out of line, so that GCC does not see malloc/free pairs through inlined new/delete and warn about them.
[[gnu::noinline]] void* acquire(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* acquire_aligned(std::size_t size, std::align_val_t alignment) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(alignment);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }

}  // namespace

std::size_t coromqtt::bench::allocations_so_far() noexcept { return allocations.load(std::memory_order_relaxed); }

void* operator new(std::size_t size) { return acquire(size); }
void* operator new[](std::size_t size) { return acquire(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return acquire(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t a) { return acquire_aligned(size, a); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
