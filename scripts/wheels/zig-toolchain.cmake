# CMake toolchain for the manylinux wheels (scripts/build-wheels): zig's clang and libc++
# targeting glibc 2.28, with OpenSSL's libcrypto and ncurses linked statically from the
# prefix in $JHTC_WHEEL_DEPS. $JHTC_WHEEL_BIN holds the zig-cc, zig-c++, zig-ar and
# zig-ranlib wrappers that build-wheels writes. Nothing from the build machine's /usr
# may reach the compile or the link: its headers and libraries belong to a newer glibc.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER "$ENV{JHTC_WHEEL_BIN}/zig-cc")
set(CMAKE_CXX_COMPILER "$ENV{JHTC_WHEEL_BIN}/zig-c++")
set(CMAKE_AR "$ENV{JHTC_WHEEL_BIN}/zig-ar" CACHE FILEPATH "")
set(CMAKE_RANLIB "$ENV{JHTC_WHEEL_BIN}/zig-ranlib" CACHE FILEPATH "")

set(CMAKE_FIND_ROOT_PATH "$ENV{JHTC_WHEEL_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(OPENSSL_USE_STATIC_LIBS ON)
set(OPENSSL_ROOT_DIR "$ENV{JHTC_WHEEL_DEPS}")
# Debian's static ncursesw leaves the terminal layer to libtinfo, which FindCurses only
# looks for when its link test of cbreak() runs; name it so the static link is complete.
set(CURSES_EXTRA_LIBRARY "$ENV{JHTC_WHEEL_DEPS}/lib/libtinfo.a" CACHE FILEPATH "")
