// C++ exceptions -> Python exceptions. std::invalid_argument -> ValueError and
// std::logic_error -> RuntimeError come with nanobind; ours are registered here.
#include <nanobind/nanobind.h>

#include "jhtc/errors.hpp"

namespace nb = nanobind;

void bind_errors(nb::module_& m) {
  // The base of every exception the package defines (re-exported by _errors.py, whose
  // Python exceptions derive from it too). Made here, as the C++ exceptions need it
  // before Python code runs; each keeps its built-in base beside it, so `except
  // RuntimeError` still catches a SchedulerError.
  nb::object package_error = nb::steal(
      PyErr_NewException("joblib_htcondor._core.JoblibHTCondorError", PyExc_Exception, nullptr));
  if (!package_error.is_valid()) throw nb::python_error();
  m.attr("JoblibHTCondorError") = package_error;
  const nb::object runtime_bases = nb::make_tuple(package_error, nb::handle(PyExc_RuntimeError));
  // nanobind tries translators newest first: register bases before subclasses.
  auto scheduler_error = nb::exception<jhtc::SchedulerError>(m, "SchedulerError", runtime_bases);
  // Named: nanobind registers the translator when the object is made; the module holds
  // the Python type, so the handle may go at the end of the function.
  auto scheduler_unavailable =
      nb::exception<jhtc::SchedulerUnavailable>(m, "SchedulerUnavailable", scheduler_error);
  auto integrity_error = nb::exception<jhtc::IntegrityError>(m, "IntegrityError", runtime_bases);
  auto unsafe_path_error =
      nb::exception<jhtc::UnsafePathError>(m, "UnsafePathError", integrity_error);
}
