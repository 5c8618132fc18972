// The parts of a submit description that make HTCondor move a job's files when
// there is no shared filesystem (JobTemplate::file_transfer, docs/data-transfer.md):
// every job gets its task file, the signing key and exactly the blobs its task
// reads, once each, at the same paths relative to the submit side's working
// directory (preserve_relative_paths), and the task file's directory, which then
// holds the result file, comes back to where the engine reads it (a directory that
// always exists: a missing output file would be a hold, see file_transfer.cpp). The event log and
// the job's stdout/stderr stay on the submit side.
//
// Pure functions; thread-safe. Every refusal is std::invalid_argument naming the
// parameter and what is accepted.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

// The directives shared by every job of the batch (should_transfer_files,
// when_to_transfer_output, preserve_relative_paths, initialdir, the transfer lists
// read from the item variables named by transfer_item_variables()). Refuses a root
// that is not an absolute path usable in a transfer list, an initial_dir option
// (the root is the initialdir), and extra_directives that set a key this owns.
std::string file_transfer_directives(
    const FileTransfer& transfer, const std::string& initial_dir,
    const std::vector<std::pair<std::string, std::string>>& extra_directives);

// The item variables that follow task_id, attempt (and job_memory_mb): the task
// file and the result's directory relative to the root, then every input (last: the
// rest of the line, comma-separated).
inline constexpr const char* kTransferItemVariables = "task_file,result_dir,job_inputs";

// `task_file,result_dir,input,input,...` for one job: paths relative to the root;
// the inputs are the template's common inputs, the task file and the job's input
// files, each once. Refuses a path outside the root, relative, or holding a comma
// or whitespace (they separate items and transfer-list entries), and a result file
// that is not beside the task file.
std::string transfer_item_fields(const FileTransfer& transfer, const JobRequest& job);

}  // namespace jhtc::htcondor
