#include "htcondor/job_removal.hpp"

#include "htcondor/condor_tools.hpp"
#include "jhtc/errors.hpp"

namespace jhtc::htcondor {
namespace {

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out.empty() ? "removed by joblib_htcondor" : out;
}

// condor_rm -constraint: true when a job was marked, false when none matched.
bool remove_by_constraint(const RemovalCall& call, const std::string& constraint,
                          std::string_view reason) {
  std::vector<std::string> argv = call.condor_rm;
  argv.insert(argv.end(), {"-reason", one_line(reason), "-constraint", constraint});
  const RetriedResult retried = run_tool_with_retry(argv, call.timeout, call.retry);
  const util::CommandResult& r = retried.result;
  if (r.succeeded()) return r.out.find("marked for removal") != std::string::npos;
  // condor_rm exits 1 when nothing matches: then there is nothing to remove.
  if (r.exit_code == 1 && r.err.find("Couldn't find/remove all jobs matching") != std::string::npos)
    return false;
  throw SchedulerError(failure_text("condor_rm", retried, call.retry));
}

}  // namespace

bool remove_lineage_jobs(const RemovalCall& call, std::string_view lineage,
                         std::string_view reason) {
  return remove_by_constraint(call, lineage_constraint(lineage), reason);
}

bool remove_job_if_idle(const RemovalCall& call, std::int64_t cluster, int proc,
                        std::string_view reason) {
  return remove_by_constraint(call, idle_job_constraint(cluster, proc), reason);
}

}  // namespace jhtc::htcondor
