// Journal costs: appending an event (must not grow with the journal's length),
// decoding lines, and folding a 2-level run of 100,000 tasks into a RunSummary.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "jhtc/journal.hpp"
#include "journal/run_summary.hpp"

namespace {

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "jhtc-bench-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

// Arg: events already in the journal before timing starts.
void BM_AppendTaskDone(benchmark::State& state) {
  std::string dir = temp_dir();
  {
    jhtc::JournalWriter writer(dir, {"r", "", "r", 0, 1, "local"});
    for (std::int64_t i = 0; i < state.range(0); ++i)
      writer.task_done(static_cast<jhtc::TaskId>(i));
    jhtc::TaskId task = 0;
    for (auto _ : state) writer.task_done(task++);
  }
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendTaskDone)->Arg(10)->Arg(100000);

void BM_DecodeLine(benchmark::State& state) {
  std::string line =
      jhtc::encode_journal_line(1714560000.5, "task_submitted", R"({"task":12345,"job":"17.3"})");
  line.pop_back();
  for (auto _ : state) benchmark::DoNotOptimize(jhtc::decode_journal_line(line));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeLine);

// 1,000 batches of 100 tasks, four events per task, folded from scratch.
void BM_SummaryOf100kTasks(benchmark::State& state) {
  std::vector<std::pair<std::string, jhtc::JournalEvent>> events;
  const char* names[] = {"task_queued", "task_submitted", "task_running", "task_done"};
  for (int b = 0; b < 1000; ++b) {
    std::string id = "b" + std::to_string(b);
    events.push_back(
        {id, {1, "batch_started", {{"parent", "r"}, {"level", "1"}, {"throttle", "60"}}}});
    for (int t = 0; t < 100; ++t) {
      for (const char* name : names)
        events.push_back({id, {2, name, {{"task", std::to_string(t)}}}});
    }
  }
  for (auto _ : state) {
    jhtc::RunSummary summary("r");
    for (const auto& [id, event] : events) summary.apply(id, event);
    benchmark::DoNotOptimize(summary.levels());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
}
BENCHMARK(BM_SummaryOf100kTasks)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
