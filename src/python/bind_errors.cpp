// C++ exceptions -> Python exceptions. std::invalid_argument -> ValueError and
// std::logic_error -> RuntimeError come with nanobind; ours are registered here.
#include <nanobind/nanobind.h>

#include "jhtc/errors.hpp"

namespace nb = nanobind;

void bind_errors(nb::module_& m) {
  // nanobind tries translators newest first: register bases before subclasses.
  auto scheduler_error =
      nb::exception<jhtc::SchedulerError>(m, "SchedulerError", PyExc_RuntimeError);
  nb::exception<jhtc::SchedulerUnavailable>(m, "SchedulerUnavailable", scheduler_error);
  auto integrity_error =
      nb::exception<jhtc::IntegrityError>(m, "IntegrityError", PyExc_RuntimeError);
  nb::exception<jhtc::UnsafePathError>(m, "UnsafePathError", integrity_error);
}
