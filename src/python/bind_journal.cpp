// Placeholder until the metadata journal lands (live-monitor issue).
#include <nanobind/nanobind.h>
namespace nb = nanobind;
void bind_journal(nb::module_&) {}
