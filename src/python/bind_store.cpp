// Placeholder until the content-addressed store lands (data-transfer issue).
#include <nanobind/nanobind.h>
namespace nb = nanobind;
void bind_store(nb::module_&) {}
