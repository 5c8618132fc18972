#include "htcondor/hold_hints.hpp"

#include <cerrno>

namespace jhtc::htcondor {

std::string explain_hold(std::string_view reason, int hold_code, int hold_subcode,
                         std::string_view batch_dir) {
  std::string text(reason);
  const bool path_problem = hold_code == 6 || hold_code == 7 || hold_code == 8 || hold_code == 14;
  if (!path_problem || hold_subcode != ENOENT || batch_dir.empty()) return text;
  if (reason.find(batch_dir) == std::string_view::npos) return text;
  text += " [the batch's directory ";
  text += batch_dir;
  text +=
      " does not exist on the execute node: shared_data_dir must be on a filesystem that the "
      "submitting machine and every execute node mount at the same path; on a pool without a "
      "shared filesystem use HTCondor's "
      "file-transfer mode, transfer=\"htcondor\"]";
  return text;
}

}  // namespace jhtc::htcondor
