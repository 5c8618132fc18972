// C++ exceptions -> Python exceptions. std::invalid_argument -> ValueError and
// std::logic_error -> RuntimeError come with nanobind; ours are registered here.
#include <nanobind/nanobind.h>

#include "jhtc/errors.hpp"

namespace nb = nanobind;

void bind_errors(nb::module_& m) {
  // nanobind tries translators newest first: register bases before subclasses.
  auto scheduler_error =
      nb::exception<jhtc::SchedulerError>(m, "SchedulerError", PyExc_RuntimeError);
  // Named: nanobind registers the translator when the object is made; the module holds
  // the Python type, so the handle may go at the end of the function.
  auto scheduler_unavailable =
      nb::exception<jhtc::SchedulerUnavailable>(m, "SchedulerUnavailable", scheduler_error);
  auto integrity_error =
      nb::exception<jhtc::IntegrityError>(m, "IntegrityError", PyExc_RuntimeError);
  auto unsafe_path_error =
      nb::exception<jhtc::UnsafePathError>(m, "UnsafePathError", integrity_error);
}
