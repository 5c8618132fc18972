// Typed errors of the jhtc library. The Python binding maps each to a Python
// exception (see src/python/module.cpp); std::invalid_argument maps to ValueError.
#pragma once

#include <stdexcept>
#include <string>

namespace jhtc {

// A scheduler refused or failed an operation (condor_submit exited non-zero,
// a process could not be spawned). Nothing of the failed operation took effect.
class SchedulerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The requested scheduler cannot be reached at all (no HTCondor tools, no schedd).
class SchedulerUnavailable : public SchedulerError {
 public:
  using SchedulerError::SchedulerError;
};

// A file failed verification (bad HMAC, wrong hash, truncated). Never unpickle it.
class IntegrityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or directory under the shared data directory cannot be trusted: it is
// not owned by the user, is writable by group or others, or is a symbolic link or
// another kind of file than expected. The message names the path, its owner and
// mode, and what is accepted.
class UnsafePathError : public IntegrityError {
 public:
  using IntegrityError::IntegrityError;
};

}  // namespace jhtc
