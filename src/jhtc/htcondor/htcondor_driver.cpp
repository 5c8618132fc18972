// Placeholder until the driver lands: reports HTCondor as unavailable.
#include "htcondor/htcondor_driver.hpp"

#include "jhtc/errors.hpp"

namespace jhtc {

std::unique_ptr<SchedulerDriver> make_htcondor_driver(JobTemplate) {
  throw SchedulerUnavailable(
      "the HTCondor driver is not built yet; use scheduler=\"local\" instead");
}

}  // namespace jhtc
