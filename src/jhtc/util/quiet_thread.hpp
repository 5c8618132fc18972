// Threads of ours that leave the process's signals to the thread that handles them.
//
// The kernel hands a process-directed signal (Ctrl-C, kill, the scheduler's SIGTERM)
// to any thread that does not block it. In a Python process only the main thread
// runs signal handlers, and only once it runs Python code: a signal taken by one of
// the engine's threads leaves a main thread blocked in a C call (a lock, a queue's
// semaphore) waiting, its handler never run. joblib's own test_nested_loop hung so
// when the store's heartbeat thread took a pool's SIGTERM (session 8).
//
// A thread inherits the mask of the thread that creates it: the signals are blocked
// around the creation and restored after it, so the creator's mask is unchanged.
// Every process we start resets its mask (posix_spawnattr_setsigmask in
// util/run_command.cpp and local/process.cpp): the jobs and tools see none of this.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace jhtc::util {

// The asynchronous signals a process gets from outside: never ours to take.
inline sigset_t async_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal :
       {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGWINCH})
    sigaddset(&set, signal);
  return set;
}

// std::thread(body), with async_signals() blocked in the new thread.
template <typename Body>
std::thread start_quiet_thread(Body&& body) {
  const sigset_t block = async_signals();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &block, &previous);
  struct Restore {
    const sigset_t& mask;
    ~Restore() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};
  return std::thread(std::forward<Body>(body));
}

}  // namespace jhtc::util
