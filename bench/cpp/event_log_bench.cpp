// Event-log parsing throughput (events per second), on the real event logs the
// testbed pool wrote (tests/data/eventlogs), repeated to a large log. Target of
// issue 8: more than one million events per second.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "htcondor/event_log_parser.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The real log repeated until it is about `bytes` long: a batch's log.
std::string big_log(const std::string& name, std::size_t bytes) {
  std::string one = read_file(std::string(JHTC_TEST_DATA_DIR) + "/eventlogs/" + name);
  std::string all;
  while (all.size() < bytes) all += one;
  return all;
}

// Feeds the whole log in chunks of `chunk` bytes (how the driver reads it),
// counting events; the sink does what the driver's does at least: move the event.
void parse_log(benchmark::State& state, const std::string& name) {
  const std::string log = big_log(name, 8u << 20);
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::size_t events = 0;
  for (auto _ : state) {
    jhtc::htcondor::EventLogParser parser(jhtc::htcondor::CivilDate{2026, 11, 24});
    for (std::size_t at = 0; at < log.size(); at += chunk) {
      parser.feed(std::string_view(log).substr(at, chunk), [&](jhtc::htcondor::JobEvent&& event) {
        benchmark::DoNotOptimize(event.code);
        ++events;
      });
    }
    if (parser.malformed_count() != 0) state.SkipWithError("malformed events in a real log");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(log.size()));
}

void BM_ParseDefaultFormat(benchmark::State& state) { parse_log(state, "lifecycle_default.log"); }
BENCHMARK(BM_ParseDefaultFormat)->Arg(64 * 1024)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_ParseIsoUtcSubsecond(benchmark::State& state) {
  parse_log(state, "lifecycle_iso_utc_subsecond.log");
}
BENCHMARK(BM_ParseIsoUtcSubsecond)->Arg(64 * 1024)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
