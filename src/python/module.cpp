// joblib_htcondor._core: registers each area's bindings; nothing else lives here.
#include <nanobind/nanobind.h>

namespace nb = nanobind;

void bind_errors(nb::module_& m);
void bind_engine(nb::module_& m);
void bind_store(nb::module_& m);
void bind_journal(nb::module_& m);
void bind_report(nb::module_& m);

NB_MODULE(_core, m) {
  m.doc() = "C++ core of joblib_htcondor: engine, scheduler drivers, store, journal.";
  // Daemon threads (the store's heartbeat, batch collectors) may still hold
  // objects when the interpreter exits; Python never finalizes those, which
  // nanobind would report as leaks at every exit.
  nb::set_leak_warnings(false);
  bind_errors(m);
  bind_engine(m);
  bind_store(m);
  bind_journal(m);
  bind_report(m);
  m.def(
      "build_id", [] { return JHTC_BUILD_ID; },
      "Hash of the source tree this module was built from (scripts/build_id.py computes the "
      "tree's); the tests refuse a module whose id differs from the tree's: a stale build.");
}
