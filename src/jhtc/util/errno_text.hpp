// The text of an errno value ("No such file or directory"), safe on any thread.
//
// std::strerror may return a buffer shared by all threads, and libstdc++ before 13
// implements std::generic_category().message with it; strerror_r writes into ours.
// glibc declares the GNU strerror_r (returns the text, maybe not in our buffer) when
// _GNU_SOURCE is defined, as g++ and clang++ do; otherwise the XSI one (returns 0 and
// fills the buffer). The two text_of overloads take whichever the headers declare.
//
// Thread-safety: errno_text may be called from any number of threads at once.
#pragma once

#include <string.h>

#include <string>

namespace jhtc::util {

namespace errno_text_detail {
inline std::string text_of(const char* gnu_result, const char* /*buffer*/, int /*error*/) {
  return gnu_result;
}
inline std::string text_of(int xsi_result, const char* buffer, int error) {
  return xsi_result == 0 ? std::string(buffer) : "error " + std::to_string(error);
}
}  // namespace errno_text_detail

inline std::string errno_text(int error) {
  char buffer[256] = {};
  return errno_text_detail::text_of(strerror_r(error, buffer, sizeof buffer), buffer, error);
}

}  // namespace jhtc::util
