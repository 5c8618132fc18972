#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jhtc/content_store.hpp"
#include "jhtc/owner_identity.hpp"
#include "store/fs_util.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class StoreRefsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "jhtc-refs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::vector<std::byte> blob(std::size_t n, unsigned seed) {
  std::vector<std::byte> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = std::byte((i * 7 + seed) & 0xff);
  return bytes;
}

void set_age(const fs::path& p, std::chrono::seconds age) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - age);
}

TEST_F(StoreRefsTest, BytesHeldCountsEachDistinctBlobOnce) {
  jhtc::ContentStore store(dir_);
  store.put(blob(1000, 1), "b1");
  store.put(blob(1000, 1), "b1");
  store.put(blob(500, 2), "b1");
  EXPECT_EQ(store.bytes_held("b1"), 1500u);
  EXPECT_EQ(store.refs_of("b1").size(), 2u);
  EXPECT_EQ(store.bytes_held("unknown"), 0u);
}

TEST_F(StoreRefsTest, ReferencesFromAnotherWriterCountForTheBatch) {
  jhtc::ContentStore caller(dir_), worker(dir_);
  caller.put(blob(100, 1), "b1");
  worker.put(blob(200, 2), "b1");
  EXPECT_EQ(caller.bytes_held("b1"), 300u);
}

TEST_F(StoreRefsTest, ReleaseDeletesOnlyBlobsNoOtherBatchReferences) {
  jhtc::ContentStore store(dir_);
  const auto shared = store.put(blob(1000, 1), "b1");
  const auto own = store.put(blob(2000, 2), "b1");
  store.put(blob(1000, 1), "b2");
  EXPECT_EQ(store.release("b1"), 2000u);
  EXPECT_TRUE(store.contains(shared));
  EXPECT_FALSE(store.contains(own));
  EXPECT_FALSE(fs::exists(dir_ / "refs" / "b1"));
  store.release("b2");
  EXPECT_FALSE(store.contains(shared));
}

TEST_F(StoreRefsTest, BatchCanBeReusedAfterRelease) {
  jhtc::ContentStore store(dir_);
  store.put(blob(10, 1), "b1");
  store.release("b1");
  const auto d = store.put(blob(10, 1), "b1");
  EXPECT_EQ(store.bytes_held("b1"), 10u);
  EXPECT_TRUE(store.contains(d));
}

TEST_F(StoreRefsTest, FirstOpenBatchClaimsOwnership) {
  jhtc::ContentStore a(dir_), b(dir_);
  EXPECT_TRUE(a.open_batch("b1"));
  EXPECT_FALSE(b.open_batch("b1"));
}

// A worker opening its caller's batch: nothing written, nothing flushed.
TEST_F(StoreRefsTest, OpeningAnOwnedBatchWritesNoOwnerRecord) {
  jhtc::ContentStore a(dir_), b(dir_);
  ASSERT_TRUE(a.open_batch("b1"));
  const auto owner = dir_ / "refs" / "b1" / "owner";
  const auto recorded = fs::last_write_time(owner);
  const auto before = jhtc::store::fsync_calls();
  EXPECT_FALSE(b.open_batch("b1", jhtc::Durability::crash_safe));
  EXPECT_EQ(jhtc::store::fsync_calls(), before);
  EXPECT_EQ(fs::last_write_time(owner), recorded);
  for (const auto& entry : fs::directory_iterator(dir_ / "refs" / "b1")) {
    EXPECT_EQ(entry.path().filename(), "owner") << "a temporary file was left behind";
  }
}

TEST_F(StoreRefsTest, OwnerRecordIsFlushedOnlyWhenCrashSafe) {
  jhtc::ContentStore store(dir_);
  auto before = jhtc::store::fsync_calls();
  ASSERT_TRUE(store.open_batch("durable", jhtc::Durability::crash_safe));
  EXPECT_EQ(jhtc::store::fsync_calls() - before, 2u);  // the record and its directory
  before = jhtc::store::fsync_calls();
  ASSERT_TRUE(store.open_batch("local", jhtc::Durability::atomic));
  EXPECT_EQ(jhtc::store::fsync_calls(), before);
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "local", 3600s), jhtc::OwnerState::alive);
}

TEST_F(StoreRefsTest, InvalidBatchIdIsRejected) {
  jhtc::ContentStore store(dir_);
  EXPECT_THROW(store.put(blob(1, 1), "../escape"), std::invalid_argument);
  EXPECT_THROW(store.open_batch(".hidden"), std::invalid_argument);
  EXPECT_THROW(store.release(""), std::invalid_argument);
}

TEST_F(StoreRefsTest, GarbageCollectionKeepsALiveBatch) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("live"));
  const auto d = store.put(blob(100, 1), "live");
  const auto report = store.collect_garbage(0s);
  EXPECT_EQ(report.batches_removed, 0u);
  EXPECT_TRUE(store.contains(d));
}

TEST_F(StoreRefsTest, GarbageCollectionRemovesABatchWhoseOwnerWasKilled) {
  const auto bytes = blob(100000, 3);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    jhtc::ContentStore store(dir_);
    store.open_batch("crashed");
    store.put(bytes, "crashed");
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  jhtc::ContentStore store(dir_);
  const auto digest = jhtc::sha256_digest(bytes);
  EXPECT_EQ(store.collect_garbage(3600s).batches_removed, 0u) << "owner still alive";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const auto report = store.collect_garbage(3600s);
  EXPECT_EQ(report.batches_removed, 1u);
  EXPECT_EQ(report.blobs_removed, 1u);
  EXPECT_EQ(report.bytes_freed, bytes.size());
  EXPECT_FALSE(store.contains(digest));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(StoreRefsTest, OwnerOnAnotherHostIsJudgedByItsHeartbeat) {
  jhtc::ContentStore store(dir_);
  const auto d = store.put(blob(100, 4), "remote");
  const auto owner = dir_ / "refs" / "remote" / "owner";
  std::ofstream(owner) << "some-other-host 1 12345\n";
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 0u);
  set_age(owner, 700s);
  store.heartbeat("remote");  // a fresh heartbeat keeps it
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 0u);
  set_age(owner, 700s);
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 1u);
  EXPECT_FALSE(store.contains(d));
}

TEST_F(StoreRefsTest, OwnerStateFollowsTheOwnersLifeAndHeartbeat) {
  EXPECT_EQ(jhtc::batch_owner_state(dir_ / "none", "b", 600s), jhtc::OwnerState::unknown);
  jhtc::ContentStore store(dir_);
  store.open_batch("mine");
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "mine", 600s), jhtc::OwnerState::alive);
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "never", 600s), jhtc::OwnerState::gone);
  std::ofstream(dir_ / "refs" / "mine" / "owner") << jhtc::store::host_name() << " 1 1\n";
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "mine", 600s), jhtc::OwnerState::gone)
      << "pid 1 with another start time is not our owner";
  std::ofstream(dir_ / "refs" / "mine" / "owner") << "some-other-host 1 1\n";
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "mine", 600s), jhtc::OwnerState::alive);
  set_age(dir_ / "refs" / "mine" / "owner", 700s);
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "mine", 600s), jhtc::OwnerState::gone);
}

TEST_F(StoreRefsTest, BatchWithoutOwnerIsCollectedOnceStale) {
  jhtc::ContentStore store(dir_);
  store.put(blob(100, 5), "orphan");
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 0u);
  set_age(dir_ / "refs" / "orphan", 700s);
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 1u);
}

TEST_F(StoreRefsTest, GarbageCollectionKeepsTheBatchesItIsToldToKeep) {
  // A killed run waiting for a rerun to adopt it: dead by the owner rule, kept.
  jhtc::ContentStore store(dir_);
  store.put(blob(64, 5), "waiting");
  set_age(dir_ / "refs" / "waiting", 3600s);
  EXPECT_EQ(store.collect_garbage(600s, {"waiting"}).batches_removed, 0u);
  EXPECT_EQ(store.refs_of("waiting").size(), 1u);
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 1u);
}

TEST_F(StoreRefsTest, GarbageCollectionRemovesStrayTempFilesAndUnreferencedBlobs) {
  jhtc::ContentStore store(dir_);
  const auto kept = store.put(blob(100, 6), "b1");
  const auto loose = store.put(blob(100, 7));  // no batch references it
  std::ofstream(dir_ / "sha256" / ".tmp.deadhost.1.0.0") << "half a blob";
  const auto report = store.collect_garbage(3600s);
  EXPECT_EQ(report.temp_files_removed, 1u);
  EXPECT_EQ(report.blobs_removed, 1u);
  EXPECT_TRUE(store.contains(kept));
  EXPECT_FALSE(store.contains(loose));
}

TEST_F(StoreRefsTest, TornReferenceLineIsIgnored) {
  jhtc::ContentStore store(dir_);
  store.put(blob(100, 8), "b1");
  std::ofstream(dir_ / "refs" / "b1" / "killed.writer.refs") << "sha256-12ab";
  EXPECT_EQ(store.bytes_held("b1"), 100u);
}

TEST_F(StoreRefsTest, AddRefsRefusesMissingBlobs) {
  jhtc::ContentStore store(dir_);
  const auto d = store.put(blob(10, 9));
  std::vector<std::pair<std::string, std::uint64_t>> refs{{d, 10}};
  store.add_refs("b1", refs);
  EXPECT_EQ(store.bytes_held("b1"), 10u);
  refs = {{jhtc::sha256_digest(blob(10, 10)), 10}};
  EXPECT_THROW(store.add_refs("b1", refs), std::invalid_argument);
}

TEST_F(StoreRefsTest, OwnerInAnotherPidNamespaceIsAliveWhileItsHeartbeatIsFresh) {
  // A batch inside a job: same host name, its own PID namespace, a pid that means
  // nothing here (999999999 exists in no namespace of ours).
  jhtc::ContentStore store(dir_);
  const auto d = store.put(blob(100, 5), "nested");
  const auto self = jhtc::this_process_identity();
  ASSERT_FALSE(self.boot_id.empty());
  ASSERT_NE(self.pid_namespace, 0u);
  const auto owner = dir_ / "refs" / "nested" / "owner";
  std::ofstream(owner) << self.host << " 999999999 77 " << self.boot_id << ' '
                       << self.pid_namespace + 1 << '\n';
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "nested", 600s), jhtc::OwnerState::alive);
  EXPECT_EQ(store.collect_garbage(600s).batches_removed, 0u);
  EXPECT_TRUE(store.contains(d));
  set_age(owner, 700s);
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "nested", 600s), jhtc::OwnerState::gone);
}

TEST_F(StoreRefsTest, OwnerOfThisNamespaceIsJudgedByItsPid) {
  jhtc::ContentStore store(dir_);
  store.open_batch("here");
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "here", 600s), jhtc::OwnerState::alive);
  const auto self = jhtc::this_process_identity();
  std::ofstream(dir_ / "refs" / "here" / "owner")
      << self.host << " 999999999 77 " << self.boot_id << ' ' << self.pid_namespace << '\n';
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "here", 600s), jhtc::OwnerState::gone)
      << "a fresh heartbeat does not save a pid that is gone where it was taken";
}

// What a batch's caller opens the store with (batch_owner.hpp).
jhtc::BatchOwner owner_sample() {
  jhtc::BatchOwner owner;
  owner.lineage = "root/nested";
  owner.scheduler = "htcondor";
  owner.event_log = "/shared/batches/nested/condor.log";
  return owner;
}

TEST_F(StoreRefsTest, OpenBatchWritesTheRecordNamingThisProcess) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("b", jhtc::Durability::atomic, owner_sample()));
  const auto record = store.owner_of("b");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->owner.process.pid, ::getpid()) << "the store names the writer";
  EXPECT_EQ(record->owner.lineage, owner_sample().lineage);
  EXPECT_GE(record->heartbeat_age_s, 0);
  EXPECT_FALSE(record->is_dead(600));
  EXPECT_FALSE(store.owner_of("none").has_value());
}

TEST_F(StoreRefsTest, TakeOverNamesThisProcessWithTheGivenRecord) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("killed", jhtc::Durability::atomic, owner_sample()));
  std::ofstream(dir_ / "refs" / "killed" / "owner") << "elsewhere 1 1 - 0\n{\"lineage\":\"k\"}\n";
  ASSERT_EQ(store.owner_of("killed")->owner.process.host, "elsewhere");
  store.take_over("killed", store.owner_of("killed")->owner, jhtc::Durability::atomic);
  const auto record = store.owner_of("killed");
  EXPECT_EQ(record->owner.process.pid, ::getpid());
  EXPECT_EQ(record->owner.lineage, "k");
}

TEST_F(StoreRefsTest, AnAbandonedBatchKeepsItsRecordAndReferencesUntilCollected) {
  jhtc::ContentStore store(dir_);
  ASSERT_TRUE(store.open_batch("b", jhtc::Durability::atomic, owner_sample()));
  const std::string data(100, 'x');
  const auto digest = store.put(std::as_bytes(std::span(data.data(), data.size())), "b");
  store.mark_abandoned("b");
  const auto record = store.owner_of("b");
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->owner.abandoned);
  EXPECT_EQ(record->owner.lineage, owner_sample().lineage) << "the rest of the record kept";
  EXPECT_EQ(jhtc::batch_owner_state(dir_, "b", 3600s), jhtc::OwnerState::gone);
  EXPECT_EQ(store.collect_garbage(3600s, {"b"}).batches_removed, 0u) << "kept when told";
  EXPECT_TRUE(store.contains(digest));
  EXPECT_EQ(store.collect_garbage(3600s).batches_removed, 1u);
  EXPECT_FALSE(store.contains(digest));
  store.mark_abandoned("b");  // no record: nothing to mark
  EXPECT_FALSE(store.owner_of("b").has_value());
}

TEST(ProcessStartTicks, IsNonZeroForSelfAndZeroForNoProcess) {
  EXPECT_GT(jhtc::store::process_start_ticks(::getpid()), 0u);
  EXPECT_EQ(jhtc::store::process_start_ticks(999999999), 0u);
}

}  // namespace
