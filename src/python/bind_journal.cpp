// Bindings of the journal area: _core.JournalWriter (held by std::shared_ptr so the
// engine binding can take one as a `std::shared_ptr<jhtc::JournalWriter>` argument
// and attach jhtc::make_journal_observer(writer)) and _core.JournalReader.
// Appends are single write(2) calls made without the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "jhtc/journal.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using jhtc::JournalReader;
using jhtc::JournalWriter;
using jhtc::TaskId;
using Release = nb::call_guard<nb::gil_scoped_release>;

std::shared_ptr<JournalWriter> make_writer(const std::string& journal_dir, std::string batch_id,
                                           std::string parent_batch_id, std::string root_batch_id,
                                           int level, std::size_t throttle, std::string scheduler,
                                           double request_cpus, std::int64_t request_memory_mb,
                                           int request_gpus) {
  jhtc::BatchInfo info{std::move(batch_id),
                       std::move(parent_batch_id),
                       std::move(root_batch_id),
                       level,
                       throttle,
                       std::move(scheduler),
                       request_cpus,
                       request_memory_mb,
                       request_gpus};
  try {
    nb::gil_scoped_release release;  // creating directories on a shared filesystem may be slow
    return std::make_shared<JournalWriter>(journal_dir, std::move(info));
  } catch (const std::system_error& e) {  // the GIL is held again here
    PyObject* args = Py_BuildValue("(is)", e.code().value(), e.what());
    PyErr_SetObject(PyExc_OSError, args);  // OSError(errno, message): FileExistsError etc.
    Py_XDECREF(args);
    throw nb::python_error();
  }
}

// A usage dict ({"memory_mb": 600, "wall_s": 2.5, ...}) as jhtc::JobUsage; unknown
// keys raise KeyError (they would silently vanish from the journal otherwise).
jhtc::JobUsage usage_from_dict(const nb::dict& d) {
  jhtc::JobUsage u;
  for (const auto& [key, value] : d) {
    const std::string name = nb::cast<std::string>(key);
    if (name == "wall_s")
      u.wall_s = nb::cast<double>(value);
    else if (name == "cpu_user_s")
      u.cpu_user_s = nb::cast<double>(value);
    else if (name == "cpu_sys_s")
      u.cpu_sys_s = nb::cast<double>(value);
    else if (name == "memory_mb")
      u.memory_mb = nb::cast<std::int64_t>(value);
    else if (name == "disk_kb")
      u.disk_kb = nb::cast<std::int64_t>(value);
    else if (name == "alloc_cpus")
      u.alloc_cpus = nb::cast<std::int64_t>(value);
    else if (name == "alloc_memory_mb")
      u.alloc_memory_mb = nb::cast<std::int64_t>(value);
    else if (name == "request_memory_mb")
      u.request_memory_mb = nb::cast<std::int64_t>(value);
    else
      throw nb::key_error(("usage: unknown figure " + name).c_str());
  }
  return u;
}

// Events as (ts, name, context) with context values as text (see jhtc::JournalEvent).
nb::list feed_reader(JournalReader& reader, const nb::bytes& data) {
  auto events = reader.feed(std::string_view(data.c_str(), data.size()));
  nb::list out;
  for (const auto& event : events) {
    nb::dict context;
    for (const auto& [key, value] : event.context)
      context[nb::str(key.c_str(), key.size())] = nb::str(value.c_str(), value.size());
    out.append(nb::make_tuple(event.ts, event.name, context));
  }
  return out;
}

void bind_writer(nb::module_& m) {
  nb::class_<JournalWriter>(
      m, "JournalWriter",
      "Appends the metadata journal of one batch: "
      "<journal_dir>/<root_batch_id>/<batch_id>.jsonl. Writes batch_started at once.")
      .def(nb::new_(&make_writer), "journal_dir"_a, "batch_id"_a, "parent_batch_id"_a,
           "root_batch_id"_a, "level"_a, "throttle"_a, "scheduler"_a, "request_cpus"_a = 0.0,
           "request_memory_mb"_a = 0, "request_gpus"_a = 0,
           "Raises ValueError for an id that is not a plain file name, OSError when the file "
           "cannot be created.")
      .def("task_queued", &JournalWriter::task_queued, "task"_a, "calls"_a = 1, Release())
      .def("task_submitted", &JournalWriter::task_submitted, "task"_a, "job_id"_a, Release())
      .def("task_running", &JournalWriter::task_running, "task"_a, "job_id"_a, Release())
      .def(
          "task_done",
          [](JournalWriter& w, TaskId task, const nb::dict& usage) {
            const jhtc::JobUsage u = usage_from_dict(usage);
            nb::gil_scoped_release release;
            w.task_done(task, u);
          },
          "task"_a, "usage"_a = nb::dict())
      .def(
          "task_failed",
          [](JournalWriter& w, TaskId task, std::string_view reason, std::string_view job_id,
             const nb::dict& usage) {
            const jhtc::JobUsage u = usage_from_dict(usage);
            nb::gil_scoped_release release;
            w.task_failed(task, reason, job_id, u);
          },
          "task"_a, "reason"_a, "job_id"_a = "", "usage"_a = nb::dict())
      .def(
          "task_retried",
          [](JournalWriter& w, TaskId task, std::string reason, const nb::dict& usage,
             int hold_code, int hold_subcode, std::int64_t request_memory_mb) {
            const jhtc::RetryNote note{std::move(reason), usage_from_dict(usage), hold_code,
                                       hold_subcode, request_memory_mb};
            nb::gil_scoped_release release;
            w.task_retried(task, note);
          },
          "task"_a, "reason"_a, "usage"_a = nb::dict(), "hold_code"_a = 0, "hold_subcode"_a = 0,
          "request_memory_mb"_a = 0)
      .def("task_cancelled", &JournalWriter::task_cancelled, "task"_a, Release())
      .def("bytes_held", &JournalWriter::bytes_held, "n"_a, Release(),
           "Records what the batch holds in the shared directory now (absolute, in bytes).")
      .def("finish", &JournalWriter::finish, "state"_a, Release(),
           "Writes batch_finished once (later calls do nothing).")
      .def_prop_ro("path", &JournalWriter::path)
      .def_prop_ro("batch_id", [](const JournalWriter& w) { return w.info().batch_id; })
      .def_prop_ro("root_batch_id", [](const JournalWriter& w) { return w.info().root_batch_id; })
      .def_prop_ro("finished", &JournalWriter::finished)
      .def_prop_ro("write_errors", &JournalWriter::write_errors,
                   "Appends that failed (they never raise: a journal must not fail a run).")
      .def_prop_ro("last_error", &JournalWriter::last_error);
}

void bind_reader(nb::module_& m) {
  nb::class_<JournalReader>(
      m, "JournalReader",
      "Incremental journal reader: feed bytes, get (ts, name, context) events. "
      "A partial last line waits for its newline; a corrupt line is skipped and counted.")
      .def(nb::init<>())
      .def("feed", &feed_reader, "data"_a)
      .def_prop_ro("corrupt_lines", &JournalReader::corrupt_lines)
      .def_prop_ro("last_warning", &JournalReader::last_warning)
      .def_prop_ro("pending_bytes", &JournalReader::pending_bytes);
}

}  // namespace

void bind_journal(nb::module_& m) {
  bind_writer(m);
  bind_reader(m);
}
