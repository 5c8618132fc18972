// Transfer lists for a pool without a shared filesystem.
#include "htcondor/file_transfer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>
#include <unordered_set>

namespace jhtc::htcondor {
namespace {

constexpr std::string_view kAcceptedPath =
    "an absolute path below the file-transfer root, without commas, whitespace, quotes, "
    "control characters or submit macros ($(...))";

[[noreturn]] void refuse(std::string_view parameter, std::string_view problem,
                         std::string_view accepted) {
  throw std::invalid_argument(std::string(parameter) + ": " + std::string(problem) +
                              "; accepted: " + std::string(accepted));
}

// Commas and whitespace separate both the item fields and transfer-list entries; a
// quote, `$` or control character would be read as submit language.
void check_listable(std::string_view parameter, const std::string& path) {
  if (path.empty()) refuse(parameter, "is empty", kAcceptedPath);
  const bool bad = std::any_of(path.begin(), path.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x21 || u == 0x7f || c == ',' || c == '"' || c == '\'' || c == '$' || c == '\\';
  });
  if (bad)
    refuse(parameter, "\"" + path + "\" holds a character a transfer list cannot carry",
           kAcceptedPath);
}

std::string below_root(std::string_view parameter, const std::filesystem::path& root,
                       const std::string& path) {
  check_listable(parameter, path);
  const std::filesystem::path absolute(path);
  if (!absolute.is_absolute()) refuse(parameter, "\"" + path + "\" is relative", kAcceptedPath);
  std::string relative = absolute.lexically_normal().lexically_relative(root).string();
  if (relative.empty() || relative == "." || relative.starts_with(".."))
    refuse(parameter, "\"" + path + "\" is not below the root \"" + root.string() + "\"",
           kAcceptedPath);
  return relative;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string file_transfer_directives(
    const FileTransfer& transfer, const std::string& initial_dir,
    const std::vector<std::pair<std::string, std::string>>& extra_directives) {
  check_listable("file_transfer.root", transfer.root);
  if (transfer.root.front() != '/')
    refuse("file_transfer.root", "\"" + transfer.root + "\" is relative", "an absolute path");
  if (!initial_dir.empty())
    refuse("initial_dir", "is set while HTCondor transfers the files",
           "no initial_dir with file transfer: the job starts in its scratch directory, and "
           "the submit side's working directory is the initialdir");
  static const char* const owned[] = {"should_transfer_files",   "when_to_transfer_output",
                                      "transfer_input_files",    "transfer_output_files",
                                      "preserve_relative_paths", "initialdir",
                                      "transfer_output_remaps"};
  for (const auto& [key, value] : extra_directives)
    if (std::find(std::begin(owned), std::end(owned), lower(key)) != std::end(owned))
      refuse("extra_directives", "\"" + key + "\" is set by the driver's file transfer",
             "any key except should_transfer_files, when_to_transfer_output, "
             "transfer_input_files, transfer_output_files, preserve_relative_paths, "
             "initialdir and transfer_output_remaps");
  // ON_EXIT, not ON_EXIT_OR_EVICT: the worker keeps no checkpoint, so an evicted job
  // starts again from its inputs. The result's directory, not the result file, goes
  // back: it exists in the scratch directory (the task file's), so a worker that died
  // without a result is an exit the engine retries, not a failed output transfer, which
  // HTCondor 23 answers with a hold while the starter keeps the slot for the job lease
  // (2400 s; "JIC::transferOutput() failed, waiting for job lease to expire").
  return "should_transfer_files = YES\n"
         "when_to_transfer_output = ON_EXIT\n"
         "preserve_relative_paths = true\n"
         "initialdir = " +
         std::filesystem::path(transfer.root).lexically_normal().string() +
         "\n"
         "transfer_input_files = $(job_inputs)\n"
         "transfer_output_files = $(result_dir)\n";
}

std::string transfer_item_fields(const FileTransfer& transfer, const JobRequest& job) {
  const std::filesystem::path root = std::filesystem::path(transfer.root).lexically_normal();
  std::string fields = below_root("task_file", root, job.task_file) + ",";
  const std::string result = below_root("result_file", root, job.result_file);
  const std::string result_dir = std::filesystem::path(result).parent_path().string();
  const std::string task_dir =
      std::filesystem::path(below_root("task_file", root, job.task_file)).parent_path().string();
  if (result_dir.empty() || result_dir != task_dir)
    refuse("result_file", "\"" + job.result_file + "\" is not beside the task file",
           "a result file in the task file's directory, below the root");
  fields += result_dir + ",";
  std::unordered_set<std::string> seen;
  bool first = true;
  const auto add = [&](std::string_view parameter, const std::string& path) {
    std::string relative = below_root(parameter, root, path);
    if (!seen.insert(relative).second) return;  // a blob once per job, however many tasks use it
    fields += (first ? "" : ",") + relative;
    first = false;
  };
  for (const std::string& path : transfer.common_inputs) add("file_transfer.common_inputs", path);
  add("task_file", job.task_file);
  for (const std::string& path : job.input_files) add("input_files", path);
  return fields;
}

}  // namespace jhtc::htcondor
