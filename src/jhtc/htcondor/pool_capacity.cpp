// pool_capacity() for HTCondor: one condor_status call, parsed by condor_tools.
#include <system_error>
#include <thread>

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
  const auto run = [&where](const std::vector<std::string>& command) {
    return util::run_command(command, {.timeout = where.timeout});
  };
  const auto sleep = [](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); };
  const htcondor::RetryPolicy retry;
  htcondor::RetriedResult retried;
  try {
    retried = htcondor::run_with_retry(run, argv, retry, sleep);
  } catch (const std::system_error& error) {
    throw SchedulerError("condor_status could not be run: " + std::string(error.what()));
  }
  if (!retried.result.succeeded())
    throw SchedulerError(htcondor::failure_text("condor_status", retried, retry));
  return htcondor::parse_machine_capacity(retried.result.out);
}

}  // namespace jhtc
