// The one owner record: its text, the earlier forms it still reads, and its rule.
// The store calls that write it: store_refs_test.cpp.
#include "jhtc/batch_owner.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace {

jhtc::BatchOwner sample() {
  jhtc::BatchOwner owner;
  owner.process = {"node-1", 4242, 99, "boot-a", 4026531836};
  owner.lineage = "20261202-L0-1-abc/20261202-L1-2-def";
  owner.scheduler = "htcondor";
  owner.pool = "head.example.org:9618";
  owner.schedd = "";
  owner.event_log = "/data/a dir/with \"quotes\"/condor.log";
  owner.resume_grace_s = 1800.5;
  return owner;
}

TEST(BatchOwnerText, RoundTripsEveryField) {
  const auto parsed = jhtc::parse_batch_owner(jhtc::format_batch_owner(sample()));
  ASSERT_TRUE(parsed.has_value());
  const auto& p = *parsed;
  EXPECT_EQ(p.process.host, "node-1");
  EXPECT_EQ(p.process.pid, 4242);
  EXPECT_EQ(p.process.start_ticks, 99u);
  EXPECT_EQ(p.process.boot_id, "boot-a");
  EXPECT_EQ(p.process.pid_namespace, 4026531836u);
  EXPECT_EQ(p.lineage, sample().lineage);
  EXPECT_EQ(p.scheduler, "htcondor");
  EXPECT_EQ(p.pool, "head.example.org:9618");
  EXPECT_EQ(p.event_log, sample().event_log);
  ASSERT_TRUE(p.resume_grace_s.has_value());
  EXPECT_DOUBLE_EQ(*p.resume_grace_s, 1800.5);
  EXPECT_FALSE(p.abandoned);
}

TEST(BatchOwnerText, FirstLineIsWhatEarlierStoresRead) {
  // An earlier version's store read "host pid start_ticks [boot_id pid_namespace]"
  // with operator>>: a mixed-version pool still judges the new records.
  std::istringstream in(jhtc::format_batch_owner(sample()));
  std::string host, boot_id;
  long pid = 0;
  std::uint64_t ticks = 0, pidns = 0;
  ASSERT_TRUE(in >> host >> pid >> ticks >> boot_id >> pidns);
  EXPECT_EQ(host, "node-1");
  EXPECT_EQ(pid, 4242);
  EXPECT_EQ(pidns, 4026531836u);
}

TEST(BatchOwnerText, ReadsTheStoresEarlierOneLineRecord) {
  const auto parsed = jhtc::parse_batch_owner("host-a 12 34\n");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->process.host, "host-a");
  EXPECT_EQ(parsed->process.pid, 12);
  EXPECT_TRUE(parsed->process.boot_id.empty());
  EXPECT_TRUE(parsed->lineage.empty());
}

TEST(BatchOwnerText, ReadsAnEarlierBatchDirectorysOwnerJson) {
  const auto parsed = jhtc::parse_batch_owner(
      R"({"host": "h", "pid": 7, "start_ticks": 5, "boot_id": "b", "pid_namespace": 3, )"
      R"("lineage": "r/x", "scheduler": "htcondor", "pool": null, "schedd": "s@h", )"
      R"("event_log": "/l", "resume_grace_s": 600, "abandoned": true})");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->process.host, "h");
  EXPECT_EQ(parsed->process.pid, 7);
  EXPECT_EQ(parsed->lineage, "r/x");
  EXPECT_EQ(parsed->pool, "") << "null reads as empty, not as the word";
  EXPECT_EQ(parsed->schedd, "s@h");
  EXPECT_TRUE(parsed->abandoned);
  EXPECT_DOUBLE_EQ(parsed->resume_grace_s.value_or(0), 600);
}

TEST(BatchOwnerText, RefusesWhatIsNoRecord) {
  for (const char* text : {"", "\n", "host-only\n", "host notapid 1\n", R"({"lineage": "r"})",
                           R"({"host": "h", "pid": "7"})", "h 1 2 b 3\n{\"lineage\": \"r\"",
                           "h 1 2 b 3\n{\"resume_grace_s\": \"soon\"}"}) {
    EXPECT_FALSE(jhtc::parse_batch_owner(text).has_value()) << text;
  }
}

TEST(OwnerRecord, AbandonedIsDeadWhileItsProcessLives) {
  jhtc::OwnerRecord record{{jhtc::this_process_identity()}, 0.0};
  EXPECT_FALSE(record.is_dead(600));
  record.owner.abandoned = true;
  EXPECT_TRUE(record.is_dead(600));
}

TEST(OwnerRecord, WaitsForResumeOnlyAsARootWithinItsGrace) {
  jhtc::OwnerRecord record{sample(), 10.0};
  record.owner.lineage = "root";
  EXPECT_TRUE(record.waits_for_resume("root"));
  EXPECT_FALSE(record.waits_for_resume("other")) << "not its own root";
  record.heartbeat_age_s = 1801;
  EXPECT_FALSE(record.waits_for_resume("root")) << "grace over";
  record.heartbeat_age_s = 10;
  record.owner.resume_grace_s.reset();
  EXPECT_FALSE(record.waits_for_resume("root")) << "not a resume=True run";
  record.owner.resume_grace_s = 1800;
  record.owner.abandoned = true;
  EXPECT_FALSE(record.waits_for_resume("root"));
}

}  // namespace
