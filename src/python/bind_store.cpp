// Bindings of the store area: ContentStore, MappedBlob (a zero-copy buffer over a
// mapped blob), SigningKey and the signed-file functions. Hashing and I/O run
// without the GIL. jhtc::IntegrityError becomes _core.IntegrityError (bind_errors).
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "jhtc/batch_owner.hpp"
#include "jhtc/content_store.hpp"
#include "jhtc/signing.hpp"
#include "store/fs_util.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// A contiguous buffer borrowed from a Python object for the duration of a call.
class BorrowedBuffer {
 public:
  explicit BorrowedBuffer(nb::handle obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) throw nb::python_error();
  }
  ~BorrowedBuffer() { PyBuffer_Release(&view_); }  // the GIL is held again by then
  BorrowedBuffer(const BorrowedBuffer&) = delete;
  BorrowedBuffer& operator=(const BorrowedBuffer&) = delete;
  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

// The buffer protocol of MappedBlob: memoryview(blob), numpy.frombuffer(blob) and
// pickle's out-of-band buffers see the mapping itself; the blob stays mapped
// while any view exists (the view holds a reference to it).
int mapped_blob_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  static char empty = 0;  // a zero-length blob has no mapping; give views a valid pointer
  const auto* blob = nb::inst_ptr<jhtc::MappedBlob>(self);
  void* data = blob->size() == 0 ? static_cast<void*>(&empty)
                                 : static_cast<void*>(const_cast<std::byte*>(blob->data()));
  return PyBuffer_FillInfo(view, self, data, static_cast<Py_ssize_t>(blob->size()),
                           blob->writable() ? 0 : 1, flags);
}

PyType_Slot mapped_blob_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(mapped_blob_getbuffer)}, {0, nullptr}};

jhtc::SignedKind kind_from(const std::string& name) {
  if (name == "task") return jhtc::SignedKind::task;
  if (name == "result") return jhtc::SignedKind::result;
  if (name == "cache") return jhtc::SignedKind::cache_entry;
  throw std::invalid_argument("signed-file kind must be 'task', 'result' or 'cache', not '" + name +
                              "'");
}

const char* kind_name(jhtc::SignedKind kind) {
  return kind == jhtc::SignedKind::cache_entry ? "cache" : jhtc::to_string(kind);
}

void bind_content_store(nb::module_& m) {
  nb::enum_<jhtc::Durability>(m, "Durability",
                              "Whether an atomically written file is also fsynced "
                              "(include/jhtc/durability.hpp).")
      .value("crash_safe", jhtc::Durability::crash_safe)
      .value("atomic", jhtc::Durability::atomic);
  nb::class_<jhtc::MappedBlob>(m, "MappedBlob", nb::type_slots(mapped_blob_slots),
                               "A blob mapped into memory; exposes the buffer protocol "
                               "zero-copy (read-only unless mapped copy-on-write).")
      .def_prop_ro("digest", &jhtc::MappedBlob::digest)
      .def_prop_ro("path", [](const jhtc::MappedBlob& b) { return b.path().string(); })
      .def_prop_ro("size", &jhtc::MappedBlob::size)
      .def_prop_ro("writable", &jhtc::MappedBlob::writable)
      .def_prop_ro(
          "address",
          [](const jhtc::MappedBlob& b) { return reinterpret_cast<std::uintptr_t>(b.data()); })
      .def("__len__", &jhtc::MappedBlob::size);

  nb::class_<jhtc::ContentStore>(
      m, "ContentStore", "Content-addressed blob store (see include/jhtc/content_store.hpp).")
      .def(nb::init<std::string>(), "root"_a, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("root", [](const jhtc::ContentStore& s) { return s.root().string(); })
      .def(
          "put",
          [](jhtc::ContentStore& s, nb::handle data, const std::string& batch_id,
             const std::string& hint) {
            BorrowedBuffer buffer(data);
            nb::gil_scoped_release release;
            bool written = false;
            std::string digest = s.put(buffer.bytes(), batch_id, hint, &written);
            return std::make_pair(digest, written);
          },
          "data"_a, "batch_id"_a = "", "hint"_a = "")
      .def("path_of",
           [](const jhtc::ContentStore& s, const std::string& d) { return s.path_of(d).string(); })
      .def("contains", &jhtc::ContentStore::contains, nb::call_guard<nb::gil_scoped_release>())
      .def("open_mapped", &jhtc::ContentStore::open_mapped, "digest"_a, "verify"_a = true,
           "expected_size"_a = nb::none(), "writable"_a = false,
           nb::call_guard<nb::gil_scoped_release>())
      .def("open_batch", &jhtc::ContentStore::open_batch, "batch_id"_a,
           "durability"_a = jhtc::Durability::crash_safe, "about"_a = jhtc::BatchOwner{},
           nb::call_guard<nb::gil_scoped_release>())
      .def("owner_of", &jhtc::ContentStore::owner_of, "batch_id"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def("take_over", &jhtc::ContentStore::take_over, "batch_id"_a, "about"_a,
           "durability"_a = jhtc::Durability::crash_safe, nb::call_guard<nb::gil_scoped_release>())
      .def("mark_abandoned", &jhtc::ContentStore::mark_abandoned, "batch_id"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def("heartbeat", &jhtc::ContentStore::heartbeat, nb::call_guard<nb::gil_scoped_release>())
      .def("refs_of", &jhtc::ContentStore::refs_of, nb::call_guard<nb::gil_scoped_release>())
      .def("bytes_held", &jhtc::ContentStore::bytes_held, nb::call_guard<nb::gil_scoped_release>())
      .def("release", &jhtc::ContentStore::release, nb::call_guard<nb::gil_scoped_release>())
      .def(
          "collect_garbage",
          [](jhtc::ContentStore& s, double stale_after_s, std::vector<std::string> keep) {
            jhtc::GarbageReport r;
            {
              nb::gil_scoped_release release;
              r = s.collect_garbage(std::chrono::seconds(static_cast<long long>(stale_after_s)),
                                    {keep.begin(), keep.end()});
            }
            nb::dict out;
            out["batches_removed"] = r.batches_removed;
            out["blobs_removed"] = r.blobs_removed;
            out["temp_files_removed"] = r.temp_files_removed;
            out["bytes_freed"] = r.bytes_freed;
            return out;
          },
          "stale_after_s"_a, "keep"_a = std::vector<std::string>{},
          "Removes dead batches' references (except those in keep), then unreferenced blobs.");

  // Where a buffer's bytes live: the identity cache keys on it.
  m.def("buffer_address", [](nb::handle data) {
    BorrowedBuffer buffer(data);
    return reinterpret_cast<std::uintptr_t>(buffer.bytes().data());
  });

  m.def("sha256_digest", [](nb::handle data) {
    BorrowedBuffer buffer(data);
    nb::gil_scoped_release release;
    return jhtc::sha256_digest(buffer.bytes());
  });
}

void bind_signing(nb::module_& m) {
  nb::class_<jhtc::SigningKey>(m, "SigningKey", "The user's HMAC-SHA256 key (owner-only file).")
      .def_static(
          "load_or_create",
          [](const std::string& key_dir) {
            nb::gil_scoped_release release;
            return jhtc::SigningKey::load_or_create(key_dir);
          },
          "key_dir"_a)
      .def_static(
          "key_path",
          [](const std::string& key_dir) { return jhtc::SigningKey::key_path(key_dir).string(); })
      .def_static("from_bytes", [](const nb::bytes& b) {
        return jhtc::SigningKey::from_bytes({static_cast<const std::byte*>(b.data()), b.size()});
      });

  nb::class_<jhtc::SignedIdentity>(m, "SignedIdentity",
                                   "Whose file a signed file is; bound into its HMAC "
                                   "(see include/jhtc/signing.hpp).")
      .def(
          "__init__",
          [](jhtc::SignedIdentity* self, const std::string& kind, std::string run,
             std::string batch, std::string task, int attempt) {
            new (self) jhtc::SignedIdentity{kind_from(kind), std::move(run), std::move(batch),
                                            std::move(task), attempt};
            (void)self->to_text();  // refuses a field that cannot be written, now
          },
          "kind"_a, "run"_a = "", "batch"_a = "", "task"_a = "", "attempt"_a = -1)
      .def_prop_ro("kind", [](const jhtc::SignedIdentity& i) { return kind_name(i.kind); })
      .def_ro("run", &jhtc::SignedIdentity::run)
      .def_ro("batch", &jhtc::SignedIdentity::batch)
      .def_ro("task", &jhtc::SignedIdentity::task)
      .def_ro("attempt", &jhtc::SignedIdentity::attempt)
      .def("describe", &jhtc::SignedIdentity::describe)
      .def("__eq__",
           [](const jhtc::SignedIdentity& a, const jhtc::SignedIdentity& b) { return a == b; })
      .def("__repr__",
           [](const jhtc::SignedIdentity& i) { return "SignedIdentity(" + i.describe() + ")"; });

  m.attr("MAX_SIGNED_FILE_BYTES") = jhtc::kMaxSignedFileBytes;

  m.def(
      "make_private_dir",
      [](const std::string& path) { jhtc::store::make_dirs(path, jhtc::store::kPrivateDirMode); },
      "path"_a,
      "Creates `path` (and missing parents) 0700; an existing `path` must be a directory "
      "of the user not writable by others, else UnsafePathError names its owner and mode.");
  m.def(
      "check_owned_dir",
      [](const std::string& path) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) return false;
        jhtc::store::check_owned(path, st, true);
        return true;
      },
      "path"_a,
      "False if `path` does not exist; True if it is a directory of the user not writable by "
      "others (not a symlink); else UnsafePathError naming its owner and mode.");
  m.def(
      "check_owned_file",
      [](const std::string& path) {
        struct stat st {};
        auto fd = jhtc::store::open_regular_file(path, "file", &st);
        jhtc::store::check_owned(path, st, false);
      },
      "path"_a,
      "Refuses (IntegrityError, UnsafePathError) a path that is a symlink, not a regular file, "
      "owned by another user or writable by others; checked on the opened file.");

  m.def(
      "write_signed_file",
      [](const std::string& path, const jhtc::SignedIdentity& identity, nb::handle payload,
         const jhtc::SigningKey& key, jhtc::Durability durability) {
        BorrowedBuffer buffer(payload);
        nb::gil_scoped_release release;
        return jhtc::write_signed_file(path, identity, buffer.bytes(), key, durability);
      },
      "path"_a, "identity"_a, "payload"_a, "key"_a, "durability"_a = jhtc::Durability::crash_safe);

  m.def("fsync_calls", &jhtc::store::fsync_calls,
        "fsyncs this process has made writing store, task, result and owner files (for tests).");

  m.def(
      "read_signed_file",
      [](const std::string& path, const jhtc::SigningKey& key,
         const jhtc::SignedIdentity& expected) {
        std::vector<std::byte> payload;
        {
          nb::gil_scoped_release release;
          payload = jhtc::read_signed_file(path, key, expected);
        }
        return nb::bytes(payload.data(), payload.size());
      },
      "path"_a, "key"_a, "expected"_a);
}

}  // namespace

void bind_batch_owner(nb::module_& m) {
  nb::class_<jhtc::BatchOwner>(m, "BatchOwner",
                               "A batch's one owner record (see include/jhtc/batch_owner.hpp).")
      .def(nb::init<>())
      .def_prop_ro("host", [](const jhtc::BatchOwner& o) { return o.process.host; })
      .def_prop_ro("pid", [](const jhtc::BatchOwner& o) { return o.process.pid; })
      .def_prop_ro("start_ticks", [](const jhtc::BatchOwner& o) { return o.process.start_ticks; })
      .def_prop_ro("boot_id", [](const jhtc::BatchOwner& o) { return o.process.boot_id; })
      .def_prop_ro("pid_namespace",
                   [](const jhtc::BatchOwner& o) { return o.process.pid_namespace; })
      .def_rw("lineage", &jhtc::BatchOwner::lineage)
      .def_rw("scheduler", &jhtc::BatchOwner::scheduler)
      .def_rw("pool", &jhtc::BatchOwner::pool)
      .def_rw("schedd", &jhtc::BatchOwner::schedd)
      .def_rw("event_log", &jhtc::BatchOwner::event_log)
      .def_rw("resume_grace_s", &jhtc::BatchOwner::resume_grace_s)
      .def_rw("abandoned", &jhtc::BatchOwner::abandoned)
      .def("__repr__", [](const jhtc::BatchOwner& o) {
        return "BatchOwner(" + o.process.host + ":" + std::to_string(o.process.pid) +
               ", lineage=" + o.lineage + (o.abandoned ? ", abandoned" : "") + ")";
      });
  nb::class_<jhtc::OwnerRecord>(m, "OwnerRecord",
                                "An owner record as read back, with its heartbeat's age.")
      .def_ro("owner", &jhtc::OwnerRecord::owner)
      .def_ro("heartbeat_age_s", &jhtc::OwnerRecord::heartbeat_age_s)
      .def("is_dead", &jhtc::OwnerRecord::is_dead, "stale_after_s"_a,
           "The one liveness rule: abandoned, or its process not alive (the pid where it "
           "means something, the heartbeat's age anywhere else).")
      .def("waits_for_resume", &jhtc::OwnerRecord::waits_for_resume, "batch_id"_a,
           "A root batch of a resume=True run, not abandoned, whose heartbeat is younger "
           "than its resume_grace_s: a rerun may still adopt its jobs.");
  m.def(
      "parse_owner_record",
      [](std::string_view text, double heartbeat_age_s) -> std::optional<jhtc::OwnerRecord> {
        auto owner = jhtc::parse_batch_owner(text);
        if (!owner) return std::nullopt;
        return jhtc::OwnerRecord{std::move(*owner), heartbeat_age_s};
      },
      "text"_a, "heartbeat_age_s"_a,
      "An owner record from its text (any of the forms batch_owner.hpp lists); None when "
      "malformed. For the batch directories' owner.json of earlier versions.");
}

void bind_store(nb::module_& m) {
  bind_batch_owner(m);  // before ContentStore, whose open_batch defaults to a BatchOwner
  bind_content_store(m);
  bind_signing(m);
}
