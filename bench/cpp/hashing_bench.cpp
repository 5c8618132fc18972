// Store hashing throughput (bytes per second): SHA-256 of a buffer as the store
// computes it before writing a blob, and a whole put() of new content into a
// store on the temporary directory (hash + write + rename + reference).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "jhtc/content_store.hpp"
#include "store/sha256.hpp"

namespace {

std::vector<std::byte> buffer_of(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 2654435761u) >> 13);
  return bytes;
}

void BM_Sha256Digest(benchmark::State& state) {
  const auto bytes = buffer_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(jhtc::sha256_digest(bytes));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256Digest)
    ->Arg(4 * 1024)
    ->Arg(1 << 20)
    ->Arg(64 << 20)
    ->Unit(benchmark::kMicrosecond);

// Incremental hashing in 1 MiB updates, as a stream of a large buffer is hashed.
void BM_Sha256Incremental(benchmark::State& state) {
  const auto bytes = buffer_of(64u << 20);
  const std::size_t step = 1u << 20;
  for (auto _ : state) {
    jhtc::store::Sha256 hasher;
    for (std::size_t at = 0; at < bytes.size(); at += step) {
      hasher.update(std::span(bytes).subspan(at, step));
    }
    benchmark::DoNotOptimize(hasher.finish_digest());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_Sha256Incremental)->Unit(benchmark::kMillisecond);

// put() of content the store has not seen: each iteration changes the first bytes.
void BM_StorePutNew(benchmark::State& state) {
  std::string pattern = (std::filesystem::temp_directory_path() / "jhtc-bench-XXXXXX").string();
  const std::filesystem::path root = ::mkdtemp(pattern.data());
  auto bytes = buffer_of(static_cast<std::size_t>(state.range(0)));
  {
    jhtc::ContentStore store(root / "store");
    std::uint64_t n = 0;
    for (auto _ : state) {
      ++n;
      std::memcpy(bytes.data(), &n, sizeof n);
      benchmark::DoNotOptimize(store.put(bytes, "bench"));
    }
    store.release("bench");
  }
  std::filesystem::remove_all(root);
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StorePutNew)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
