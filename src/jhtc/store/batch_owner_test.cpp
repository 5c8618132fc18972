// The one owner record: its text, the earlier forms it still reads, and the store
// calls that write it (open_batch, take_over, mark_abandoned).
#include "jhtc/batch_owner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "jhtc/content_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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

class StoreOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "jhtc-owner-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(StoreOwnerTest, OpenBatchWritesTheRecordNamingThisProcess) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("b", jhtc::Durability::atomic, sample()));
  const auto record = store.owner_of("b");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->owner.process.pid, ::getpid()) << "the store names the writer";
  EXPECT_EQ(record->owner.lineage, sample().lineage);
  EXPECT_GE(record->heartbeat_age_s, 0);
  EXPECT_FALSE(record->is_dead(600));
  EXPECT_FALSE(store.owner_of("none").has_value());
}

TEST_F(StoreOwnerTest, TakeOverNamesThisProcessWithTheGivenRecord) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("killed", jhtc::Durability::atomic, sample()));
  std::ofstream(dir_ / "refs" / "killed" / "owner") << "elsewhere 1 1 - 0\n{\"lineage\":\"k\"}\n";
  ASSERT_EQ(store.owner_of("killed")->owner.process.host, "elsewhere");
  store.take_over("killed", store.owner_of("killed")->owner, jhtc::Durability::atomic);
  const auto record = store.owner_of("killed");
  EXPECT_EQ(record->owner.process.pid, ::getpid());
  EXPECT_EQ(record->owner.lineage, "k");
}

TEST_F(StoreOwnerTest, AnAbandonedBatchKeepsItsRecordAndReferencesUntilCollected) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("b", jhtc::Durability::atomic, sample()));
  const std::string data(100, 'x');
  const auto digest = store.put(std::as_bytes(std::span(data.data(), data.size())), "b");
  store.mark_abandoned("b");
  const auto record = store.owner_of("b");
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->owner.abandoned);
  EXPECT_EQ(record->owner.lineage, sample().lineage) << "the rest of the record kept";
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "b", 3600s), jhtc::OwnerState::gone);
  EXPECT_EQ(store.collect_garbage(3600s, {"b"}).batches_removed, 0u) << "kept when told";
  EXPECT_TRUE(store.contains(digest));
  EXPECT_EQ(store.collect_garbage(3600s).batches_removed, 1u);
  EXPECT_FALSE(store.contains(digest));
  store.mark_abandoned("b");  // no record: nothing to mark
  EXPECT_FALSE(store.owner_of("b").has_value());
}

}  // namespace
