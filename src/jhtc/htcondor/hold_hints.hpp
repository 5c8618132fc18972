// What a hold means for this backend, when HTCondor's own reason does not say it.
// Pure; thread-safe.
//
// A pool without a shared filesystem (or a shared_data_dir that the execute nodes do
// not mount) shows up as a hold on the node: HTCondor cannot open the job's output file,
// input file or initial directory under the batch's directory, errno ENOENT
// (HoldReasonCode 6 FailedToCreateProcess, 7 UnableToOpenOutput, 8 UnableToOpenInput,
// 14 IwdError). The reason names the path but not the cause: the hint does.
#pragma once

#include <string>
#include <string_view>

namespace jhtc::htcondor {

// `reason`, followed by a hint naming shared_data_dir when the hold is a path under
// `batch_dir` missing on the execute node; `reason` unchanged otherwise.
std::string explain_hold(std::string_view reason, int hold_code, int hold_subcode,
                         std::string_view batch_dir);

}  // namespace jhtc::htcondor
