#include "jhtc/signing.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "jhtc/errors.hpp"
#include "store/fs_util.hpp"

namespace fs = std::filesystem;

namespace {

jhtc::SignedIdentity task_id(std::string task = "3", std::string batch = "b1",
                             std::string run = "r1") {
  return {jhtc::SignedKind::task, std::move(run), std::move(batch), std::move(task), -1};
}

jhtc::SignedIdentity result_id(int attempt, std::string task = "3", std::string batch = "b1") {
  return {jhtc::SignedKind::result, "r1", std::move(batch), std::move(task), attempt};
}

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "jhtc-sign-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    key_ = jhtc::SigningKey::load_or_create(dir_ / ".keys");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::byte> payload() const {
    const std::string text = "a pickled task, say";
    auto b = std::as_bytes(std::span(text.data(), text.size()));
    return {b.begin(), b.end()};
  }

  // Expects reading `path` as `expected` to throw IntegrityError mentioning `check`
  // and the path.
  void expect_refused(const fs::path& path, const std::string& check,
                      const jhtc::SignedIdentity& expected = task_id()) {
    try {
      (void)jhtc::read_signed_file(path, key_, expected);
      FAIL() << "accepted a file that should fail: " << check;
    } catch (const jhtc::IntegrityError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path.string()), std::string::npos) << what;
      EXPECT_NE(what.find(check), std::string::npos) << what;
    }
  }

  fs::path dir_;
  jhtc::SigningKey key_ = jhtc::SigningKey::from_bytes(std::vector<std::byte>(32));
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

void rewrite_byte(const fs::path& p, std::streamoff offset, char value) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.put(value);
}

TEST_F(SigningTest, RoundTripReturnsThePayloadAndWritesAnOwnerOnlyFile) {
  const auto path = dir_ / "task.pkl";
  const auto size = jhtc::write_signed_file(path, task_id(), payload(), key_);
  EXPECT_EQ(size, fs::file_size(path));
  EXPECT_EQ(size, 24 + task_id().to_text().size() + payload().size() + 32);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(jhtc::read_signed_file(path, key_, task_id()), payload());
}

// The file and its directory are flushed: the file survives a crash of the machine.
TEST_F(SigningTest, CrashSafeWriteFsyncsTheFileAndItsDirectory) {
  const auto before = jhtc::store::fsync_calls();
  jhtc::write_signed_file(dir_ / "task.pkl", task_id(), payload(), key_,
                          jhtc::Durability::crash_safe);
  EXPECT_EQ(jhtc::store::fsync_calls() - before, 2u);
}

// The local scheduler's files: no flush, and still whole, signed and owner-only.
TEST_F(SigningTest, AtomicWriteMakesNoFsyncAndReadsBackVerified) {
  const auto path = dir_ / "task.pkl";
  const auto before = jhtc::store::fsync_calls();
  jhtc::write_signed_file(path, task_id(), payload(), key_, jhtc::Durability::atomic);
  EXPECT_EQ(jhtc::store::fsync_calls(), before);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(jhtc::read_signed_file(path, key_, task_id()), payload());
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".task.pkl.tmp"), std::string::npos)
        << "a temporary file was left behind: " << entry.path();
  }
}

TEST_F(SigningTest, KeyIsCreatedOnceOwnerOnlyAndReloadedIdentically) {
  const auto path = jhtc::SigningKey::key_path(dir_ / ".keys");
  EXPECT_EQ(path, dir_ / ".keys" / std::to_string(::geteuid()) / "hmac.key");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(path.parent_path()), 0700u);
  EXPECT_EQ(mode_of(dir_ / ".keys"), 0700u);
  const auto again = jhtc::SigningKey::load_or_create(dir_ / ".keys");
  const auto data = payload();
  EXPECT_EQ(again.hmac(data), key_.hmac(data));
}

TEST_F(SigningTest, ConcurrentKeyCreationAgreesOnOneKey) {
  std::vector<std::thread> threads;
  std::vector<std::array<unsigned char, 32>> macs(6);
  const auto data = payload();
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back(
        [&, i] { macs[i] = jhtc::SigningKey::load_or_create(dir_ / "fresh-keys").hmac(data); });
  }
  for (auto& t : threads) t.join();
  for (const auto& mac : macs) EXPECT_EQ(mac, macs[0]);
}

TEST_F(SigningTest, KeyFileReadableByOthersIsRefused) {
  const auto path = jhtc::SigningKey::key_path(dir_ / ".keys");
  fs::permissions(path, fs::perms::group_read, fs::perm_options::add);
  EXPECT_THROW(jhtc::SigningKey::load_or_create(dir_ / ".keys"), jhtc::IntegrityError);
  fs::permissions(path, fs::perms::group_read, fs::perm_options::remove);
  fs::permissions(path, fs::perms::others_read, fs::perm_options::add);
  EXPECT_THROW(jhtc::SigningKey::load_or_create(dir_ / ".keys"), jhtc::IntegrityError);
}

TEST_F(SigningTest, KeyDirectoryOpenToOthersIsRefused) {
  const auto path = jhtc::SigningKey::key_path(dir_ / ".keys");
  fs::permissions(path.parent_path(), fs::perms::others_exec | fs::perms::others_read,
                  fs::perm_options::add);
  try {
    (void)jhtc::SigningKey::load_or_create(dir_ / ".keys");
    FAIL() << "accepted a key directory others can read";
  } catch (const jhtc::IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find("owner-only"), std::string::npos) << e.what();
  }
}

TEST_F(SigningTest, KeyOfTheWrongSizeIsRefused) {
  const auto path = jhtc::SigningKey::key_path(dir_ / ".keys");
  fs::resize_file(path, 16);
  EXPECT_THROW(jhtc::SigningKey::load_or_create(dir_ / ".keys"), jhtc::IntegrityError);
}

TEST_F(SigningTest, TamperedPayloadIsRefusedWithHmacMismatch) {
  const auto path = dir_ / "task.pkl";
  jhtc::write_signed_file(path, task_id(), payload(), key_);
  rewrite_byte(path, 30, 'X');
  expect_refused(path, "HMAC mismatch");
}

TEST_F(SigningTest, TamperedKindIsRefusedWithHmacMismatch) {
  const auto path = dir_ / "task.pkl";
  jhtc::write_signed_file(path, result_id(0), payload(), key_);
  rewrite_byte(path, 10, 1);  // claim to be a task
  expect_refused(path, "HMAC mismatch", task_id());
}

TEST_F(SigningTest, TruncatedFileIsRefused) {
  const auto path = dir_ / "task.pkl";
  jhtc::write_signed_file(path, task_id(), payload(), key_);
  fs::resize_file(path, fs::file_size(path) - 5);
  expect_refused(path, "truncated");
  fs::resize_file(path, 10);
  expect_refused(path, "truncated");
}

TEST_F(SigningTest, TrailingBytesAreRefused) {
  const auto path = dir_ / "task.pkl";
  jhtc::write_signed_file(path, task_id(), payload(), key_);
  std::ofstream(path, std::ios::app | std::ios::binary) << "extra";
  expect_refused(path, "trailing bytes");
}

TEST_F(SigningTest, WrongKindIsRefused) {
  const auto path = dir_ / "result.pkl";
  jhtc::write_signed_file(path, result_id(0), payload(), key_);
  expect_refused(path, "wrong kind: expected task, found result", task_id());
}

TEST_F(SigningTest, FileSignedWithAnotherKeyIsRefused) {
  const auto path = dir_ / "task.pkl";
  const auto other = jhtc::SigningKey::from_bytes(std::vector<std::byte>(32, std::byte{7}));
  jhtc::write_signed_file(path, task_id(), payload(), other);
  expect_refused(path, "HMAC mismatch");
}

TEST_F(SigningTest, PlainPickleIsRefusedAsNotSigned) {
  const auto path = dir_ / "task.pkl";
  std::ofstream(path, std::ios::binary) << std::string(100, '\x80');
  expect_refused(path, "not a signed file");
}

TEST_F(SigningTest, MissingFileIsASystemError) {
  EXPECT_THROW((void)jhtc::read_signed_file(dir_ / "absent", key_, task_id()), std::system_error);
}

TEST_F(SigningTest, NoTemporaryFileIsLeftBehind) {
  jhtc::write_signed_file(dir_ / "a", task_id(), payload(), key_);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(SigningTest, ResultOfAnotherBatchIsRefusedNamingBothIdentities) {
  const auto path = dir_ / "3.result";
  jhtc::write_signed_file(path, result_id(0, "3", "b2"), payload(), key_);
  expect_refused(path, "identity mismatch: expected the result of task '3', attempt 0, batch 'b1'",
                 result_id(0));
  expect_refused(path, "found the result of task '3', attempt 0, batch 'b2'", result_id(0));
  expect_refused(path, "moved from another batch", result_id(0));
}

TEST_F(SigningTest, ResultOfAnotherTaskIsRefused) {
  const auto path = dir_ / "3.result";
  jhtc::write_signed_file(path, result_id(0, "4"), payload(), key_);
  expect_refused(path, "moved from another task", result_id(0));
}

TEST_F(SigningTest, OlderAttemptsResultIsRefused) {
  const auto path = dir_ / "3.result";
  jhtc::write_signed_file(path, result_id(0), payload(), key_);
  expect_refused(path, "an older attempt's result replayed", result_id(1));
  EXPECT_EQ(jhtc::read_signed_file(path, key_, result_id(0)), payload());
}

TEST_F(SigningTest, TaskOfAnotherRunIsRefused) {
  const auto path = dir_ / "3.task";
  jhtc::write_signed_file(path, task_id("3", "b1", "r0"), payload(), key_);
  expect_refused(path, "moved from another run", task_id());
}

TEST_F(SigningTest, CacheEntryUnderAnotherKeyIsRefused) {
  const auto path = dir_ / "k2.result";
  jhtc::write_signed_file(path, {jhtc::SignedKind::cache_entry, "", "", "k1", -1}, payload(), key_);
  expect_refused(path, "moved from another cache entry",
                 {jhtc::SignedKind::cache_entry, "", "", "k2", -1});
}

TEST_F(SigningTest, TamperedIdentityIsRefusedWithHmacMismatch) {
  const auto path = dir_ / "3.task";
  jhtc::write_signed_file(path, task_id("4"), payload(), key_);
  const auto text = task_id("4").to_text();
  rewrite_byte(path, static_cast<std::streamoff>(24 + text.find("task=4") + 5), '3');
  expect_refused(path, "HMAC mismatch", task_id("3"));
}

TEST_F(SigningTest, IdentityFieldsThatCannotBeWrittenAreRefused) {
  EXPECT_THROW(jhtc::write_signed_file(dir_ / "x", task_id("a b"), payload(), key_),
               std::invalid_argument);
  EXPECT_THROW(jhtc::write_signed_file(dir_ / "x", task_id("3", "b=1"), payload(), key_),
               std::invalid_argument);
}

TEST_F(SigningTest, IdentityTextRoundTrips) {
  const auto id = result_id(2, "17", "20261201-L0-1-abc");
  EXPECT_EQ(jhtc::SignedIdentity::from_text(id.to_text()), id);
  EXPECT_FALSE(jhtc::SignedIdentity::from_text("kind=1\nrun=r\n").has_value());
}

TEST_F(SigningTest, VersionOneFileIsRefusedAsCarryingNoIdentity) {
  const auto path = dir_ / "3.task";
  jhtc::write_signed_file(path, task_id(), payload(), key_);
  rewrite_byte(path, 8, 1);
  expect_refused(path, "unsupported signed-file version 1");
}

TEST_F(SigningTest, SymlinkIsRefusedNotFollowed) {
  jhtc::write_signed_file(dir_ / "real.task", task_id(), payload(), key_);
  fs::create_symlink(dir_ / "real.task", dir_ / "3.task");
  expect_refused(dir_ / "3.task", "symbolic link");
}

TEST_F(SigningTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((dir_ / "3.result").c_str(), 0600), 0);
  expect_refused(dir_ / "3.result", "is a FIFO, not a regular file", result_id(0));
}

TEST_F(SigningTest, DirectoryIsRefused) {
  fs::create_directory(dir_ / "3.task");
  expect_refused(dir_ / "3.task", "is a directory, not a regular file");
}

TEST_F(SigningTest, OversizeFileIsRefusedUnread) {
  const auto path = dir_ / "3.task";
  { std::ofstream(path, std::ios::binary) << "JHTCSIG1"; }
  fs::resize_file(path, jhtc::kMaxSignedFileBytes + 1);  // sparse: costs no disk
  expect_refused(path, "too large");
}

TEST(SigningKeyFromBytes, RejectsTheWrongLength) {
  EXPECT_THROW(jhtc::SigningKey::from_bytes(std::vector<std::byte>(31)), std::invalid_argument);
}

}  // namespace
