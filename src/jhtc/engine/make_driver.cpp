// The one place that knows every scheduler driver by name.
#include <stdexcept>
#include <string>
#include <variant>

#include "htcondor/htcondor_driver.hpp"
#include "jhtc/scheduler_driver.hpp"
#include "local/local_driver.hpp"

namespace jhtc {

std::unique_ptr<SchedulerDriver> make_driver(JobTemplate job_template, DriverOptions options) {
  if (auto* local = std::get_if<LocalOptions>(&options)) {
    if (job_template.file_transfer.enabled())  // its jobs run here: nothing to transfer
      throw std::invalid_argument(
          "file_transfer: the local scheduler runs its jobs on this machine and transfers no "
          "files; accepted: an empty root (transfer=\"htcondor\" needs scheduler=\"htcondor\")");
    return make_local_driver(std::move(job_template), *local);
  }
  return make_htcondor_driver(std::move(job_template),
                              std::move(std::get<HTCondorOptions>(options)));
}

std::size_t SchedulerDriver::submit_within(const LevelLimit& /*limit*/,
                                           std::span<const JobRequest> /*jobs*/) {
  throw std::invalid_argument("level_limit: the " + std::string(name()) +
                              " scheduler cannot count the jobs of other batches; accepted: "
                              "a level limit only with scheduler=\"htcondor\"");
}

bool remove_lineage(const SchedulerAddress& where, std::string_view lineage,
                    std::string_view reason) {
  if (where.scheduler == "local") return false;  // its jobs are children of the batch's process
  if (where.scheduler == "htcondor") return remove_htcondor_lineage(where, lineage, reason);
  throw std::invalid_argument("scheduler must be \"htcondor\" or \"local\", not \"" +
                              where.scheduler + "\"");
}

std::vector<MachineCapacity> pool_capacity(const SchedulerAddress& where) {
  if (where.scheduler == "local") return {local_machine_capacity()};
  if (where.scheduler == "htcondor") return htcondor_pool_capacity(where);
  throw std::invalid_argument("scheduler must be \"htcondor\" or \"local\", not \"" +
                              where.scheduler + "\"");
}

}  // namespace jhtc
