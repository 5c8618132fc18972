#include "jhtc/owner_identity.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "store/fs_util.hpp"

namespace jhtc {
namespace {

std::string read_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  in >> id;
  return id;
}

std::uint64_t read_pid_namespace() {
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

bool pid_is_alive(long pid, std::uint64_t start_ticks) {
  if (pid <= 0) return false;
  // kill(pid, 0) fails with EPERM for another user's live process: alive.
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == EPERM;
  return start_ticks == 0 || store::process_start_ticks(pid) == start_ticks;
}

}  // namespace

OwnerIdentity this_process_identity() {
  const long pid = ::getpid();
  return {store::host_name(), pid, store::process_start_ticks(pid), read_boot_id(),
          read_pid_namespace()};
}

bool owner_is_alive(const OwnerIdentity& owner, double heartbeat_age_s, double stale_after_s) {
  const OwnerIdentity self = this_process_identity();
  const bool legacy = owner.boot_id.empty() && owner.pid_namespace == 0;
  const bool pid_is_ours_to_judge =
      owner.host == self.host &&
      (legacy || (owner.boot_id == self.boot_id && owner.pid_namespace == self.pid_namespace &&
                  !self.boot_id.empty() && self.pid_namespace != 0));
  if (pid_is_ours_to_judge) return pid_is_alive(owner.pid, owner.start_ticks);
  return heartbeat_age_s >= 0 && heartbeat_age_s <= stale_after_s;
}

}  // namespace jhtc
