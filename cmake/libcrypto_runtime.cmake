# jhtc_libcrypto_runtime(): when OpenSSL's headers are missing, link against OpenSSL's runtime
# library (libcrypto.so.3 or libcrypto.so.1.1) instead. Every system where Python's own `ssl`
# and `hashlib` work has that file, even without the -dev package and its unversioned
# libcrypto.so symlink. The C++ then compiles against src/jhtc/store/libcrypto_abi.h, which
# declares the ten functions it calls with their C ABI (the same in OpenSSL 1.1 and 3.x).
# Defines the imported target OpenSSL::Crypto (the name the code links to) with the compile
# definition JHTC_LIBCRYPTO_ABI_ONLY, and sets JHTC_LIBCRYPTO_RUNTIME to the file; leaves it
# empty when no runtime library is found either.
function(jhtc_libcrypto_runtime)
  set(JHTC_LIBCRYPTO_RUNTIME "" PARENT_SCOPE)
  # 1. The linker's own places, by the versioned file name (no dev symlink needed).
  find_library(JHTC_LIBCRYPTO_RUNTIME_LIBRARY NAMES libcrypto.so.3 libcrypto.so.1.1)
  set(found "${JHTC_LIBCRYPTO_RUNTIME_LIBRARY}")
  # 2. The libcrypto the building Python's _hashlib has loaded (a Python outside the system
  #    prefix, e.g. a conda environment, brings its own).
  if(NOT found)
    if(NOT Python_EXECUTABLE)
      find_package(Python COMPONENTS Interpreter QUIET)
    endif()
    if(Python_EXECUTABLE)
      execute_process(
        COMMAND "${Python_EXECUTABLE}" -c [=[
import _hashlib, re
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    if re.search(r"/libcrypto\.so\.(3|1\.1)$", path):
        print(path)
        break
]=]
        OUTPUT_VARIABLE found OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    endif()
  endif()
  if(NOT found OR NOT EXISTS "${found}")
    return()
  endif()
  add_library(OpenSSL::Crypto SHARED IMPORTED GLOBAL)
  set_target_properties(OpenSSL::Crypto PROPERTIES
    IMPORTED_LOCATION "${found}"
    INTERFACE_COMPILE_DEFINITIONS JHTC_LIBCRYPTO_ABI_ONLY)
  set(JHTC_LIBCRYPTO_RUNTIME "${found}" PARENT_SCOPE)
endfunction()
