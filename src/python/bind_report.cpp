// Bindings of the run report: _core.run_report_json(journal_dir, root_batch_id, now, ...)
// reads a run's journals and returns the report (jhtc/run_report.hpp) as JSON bytes;
// joblib_htcondor._report renders it. Bytes, not str: a scheduler's reason may hold
// bytes that are not UTF-8, and the renderer decodes with replacement.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "jhtc/run_report.hpp"

namespace nb = nanobind;
using namespace nb::literals;

void bind_report(nb::module_& m) {
  m.def(
      "run_report_json",
      [](const std::string& journal_dir, const std::string& root_batch_id, double now,
         std::size_t max_bars_per_level, std::size_t time_bins, std::size_t memory_bins,
         std::size_t max_failure_rows) {
        jhtc::ReportOptions options{max_bars_per_level, time_bins, memory_bins, max_failure_rows};
        std::string json;
        {
          nb::gil_scoped_release release;  // reading a large run takes a while
          json = jhtc::run_report_json(
              jhtc::read_run_report(journal_dir, root_batch_id, now, options));
        }
        return nb::bytes(json.data(), json.size());
      },
      "journal_dir"_a, "root_batch_id"_a, "now"_a, "max_bars_per_level"_a = 2500,
      "time_bins"_a = 240, "memory_bins"_a = 20, "max_failure_rows"_a = 500,
      "The report of one run as JSON bytes (root_batch_id '': the newest run). Raises "
      "ValueError when the journal directory holds no such run.");
}
