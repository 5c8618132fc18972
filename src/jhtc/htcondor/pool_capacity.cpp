// pool_capacity() for HTCondor: one condor_status call, parsed by condor_tools.
#include "htcondor/condor_tools.hpp"
#include "htcondor/htcondor_driver.hpp"
#include "htcondor/tool_retry.hpp"
#include "jhtc/errors.hpp"

namespace jhtc {

std::vector<MachineCapacity> htcondor_pool_capacity(const SchedulerAddress& where) {
  // condor_status takes -pool; its -name would select machines, not a schedd
  std::vector<std::string> argv = htcondor::tool_command("condor_status", where.pool, "");
  argv.emplace_back("-af");
  for (std::string& attribute : htcondor::capacity_attributes())
    argv.push_back(std::move(attribute));
  const htcondor::RetryPolicy retry;
  const htcondor::RetriedResult retried = htcondor::run_tool_with_retry(argv, where.timeout, retry);
  if (!retried.result.succeeded())
    throw SchedulerError(htcondor::failure_text("condor_status", retried, retry));
  return htcondor::parse_machine_capacity(retried.result.out);
}

}  // namespace jhtc
