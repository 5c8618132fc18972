#include "jhtc/content_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "jhtc/errors.hpp"

namespace fs = std::filesystem;

namespace {

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "jhtc-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    // Blobs are 0400; removal only needs the directory's write permission.
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = std::byte((i * 131 + seed) & 0xff);
  return bytes;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

void flip_byte(const fs::path& p, std::size_t offset) {
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5a));
}

TEST(Sha256Digest, MatchesKnownVectorForAbc) {
  const std::string abc = "abc";
  EXPECT_EQ(jhtc::sha256_digest(std::as_bytes(std::span(abc.data(), abc.size()))),
            "sha256-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ContentStoreTest, PutStoresBlobUnderFannedOutPathNamedByHash) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(100000, 1);
  const auto digest = store.put(bytes);
  EXPECT_EQ(digest, jhtc::sha256_digest(bytes));
  const auto hex = digest.substr(7);
  EXPECT_EQ(store.path_of(digest), dir_ / "sha256" / hex.substr(0, 2) / hex);
  EXPECT_EQ(fs::file_size(store.path_of(digest)), bytes.size());
  EXPECT_TRUE(store.contains(digest));
}

TEST_F(ContentStoreTest, SameContentIsWrittenOnce) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(70000, 2);
  const auto first = store.put(bytes);
  const auto inode = fs::hard_link_count(store.path_of(first));
  struct stat before {};
  ::stat(store.path_of(first).c_str(), &before);
  EXPECT_EQ(store.put(bytes), first);
  struct stat after {};
  ::stat(store.path_of(first).c_str(), &after);
  EXPECT_EQ(before.st_ino, after.st_ino) << "an existing blob must not be rewritten";
  EXPECT_EQ(inode, 1u);
}

TEST_F(ContentStoreTest, DirectoriesAreOwnerOnlyAndBlobsReadOnly) {
  jhtc::ContentStore store(dir_ / "store");
  const auto digest = store.put(pattern(10, 3));
  EXPECT_EQ(mode_of(dir_ / "store"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "store" / "sha256"), 0700u);
  EXPECT_EQ(mode_of(store.path_of(digest).parent_path()), 0700u);
  EXPECT_EQ(mode_of(store.path_of(digest)), 0400u);
}

TEST_F(ContentStoreTest, ExistingStoreWritableByOthersIsRefusedNamingOwnerAndMode) {
  fs::create_directories(dir_ / "store");
  fs::permissions(dir_ / "store", fs::perms::group_write, fs::perm_options::add);
  try {
    jhtc::ContentStore store(dir_ / "store");
    FAIL() << "accepted a group-writable store";
  } catch (const jhtc::UnsafePathError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir_ / "store").string()), std::string::npos) << what;
    EXPECT_NE(what.find("writable by group or others"), std::string::npos) << what;
    EXPECT_NE(what.find("mode 07"), std::string::npos) << what;
    EXPECT_NE(what.find("accepted: a directory owned by"), std::string::npos) << what;
  }
}

TEST_F(ContentStoreTest, StoreDirectoryThatIsASymlinkIsRefused) {
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", dir_ / "store");
  EXPECT_THROW(jhtc::ContentStore store(dir_ / "store"), jhtc::UnsafePathError);
}

TEST_F(ContentStoreTest, BlobThatIsASymlinkIsRefusedBeforeMapping) {
  jhtc::ContentStore store(dir_ / "store");
  const auto bytes = pattern(1000, 6);
  const auto digest = store.put(bytes);
  const auto path = store.path_of(digest);
  fs::rename(path, dir_ / "moved");
  fs::create_symlink(dir_ / "moved", path);
  EXPECT_THROW((void)store.open_mapped(digest, true, bytes.size()), jhtc::IntegrityError);
}

TEST_F(ContentStoreTest, LockFileOthersMayOpenIsRefused) {
  jhtc::ContentStore store(dir_ / "store");
  std::ofstream(dir_ / "store" / ".lock") << "";
  fs::permissions(dir_ / "store" / ".lock", fs::perms::others_write, fs::perm_options::add);
  EXPECT_THROW((void)store.put(pattern(10, 8)), jhtc::UnsafePathError);
}

TEST_F(ContentStoreTest, BlobWritableByOthersIsRefusedBeforeMapping) {
  jhtc::ContentStore store(dir_ / "store");
  const auto bytes = pattern(1000, 7);
  const auto digest = store.put(bytes);
  fs::permissions(store.path_of(digest), fs::perms::others_write, fs::perm_options::add);
  EXPECT_THROW((void)store.open_mapped(digest, true, bytes.size()), jhtc::UnsafePathError);
}

TEST_F(ContentStoreTest, OpenMappedReturnsTheBytesReadOnly) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(300000, 5);
  const auto blob = store.open_mapped(store.put(bytes), true, bytes.size());
  ASSERT_EQ(blob.size(), bytes.size());
  EXPECT_EQ(std::memcmp(blob.data(), bytes.data(), bytes.size()), 0);
  EXPECT_FALSE(blob.writable());
  EXPECT_THROW((void)blob.mutable_data(), std::logic_error);
}

TEST_F(ContentStoreTest, WritableMappingIsCopyOnWriteAndLeavesTheBlobIntact) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(5000, 6);
  const auto digest = store.put(bytes);
  {
    auto blob = store.open_mapped(digest, true, std::nullopt, /*writable=*/true);
    blob.mutable_data()[0] = std::byte{0xff};
  }
  EXPECT_NO_THROW(store.open_mapped(digest, true));
}

TEST_F(ContentStoreTest, EmptyBlobRoundTrips) {
  jhtc::ContentStore store(dir_);
  const auto blob = store.open_mapped(store.put({}), true, 0);
  EXPECT_EQ(blob.size(), 0u);
}

TEST_F(ContentStoreTest, CorruptedBlobFailsVerificationNamingThePath) {
  jhtc::ContentStore store(dir_);
  const auto digest = store.put(pattern(100000, 7));
  flip_byte(store.path_of(digest), 54321);
  try {
    (void)store.open_mapped(digest, true);
    FAIL() << "a corrupted blob was accepted";
  } catch (const jhtc::IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(store.path_of(digest).string()), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("corrupted"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW((void)store.open_mapped(digest, /*verify=*/false));
}

TEST_F(ContentStoreTest, TruncatedBlobFailsWithOrWithoutExpectedSize) {
  jhtc::ContentStore store(dir_);
  const auto digest = store.put(pattern(100000, 8));
  fs::permissions(store.path_of(digest), fs::perms::owner_all);
  fs::resize_file(store.path_of(digest), 4096);
  EXPECT_THROW((void)store.open_mapped(digest, true), jhtc::IntegrityError);
  try {
    (void)store.open_mapped(digest, true, 100000);
    FAIL() << "a truncated blob was accepted";
  } catch (const jhtc::IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST_F(ContentStoreTest, PutRepairsABlobOfTheWrongSize) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(100000, 9);
  const auto digest = store.put(bytes);
  fs::permissions(store.path_of(digest), fs::perms::owner_all);
  fs::resize_file(store.path_of(digest), 10);
  EXPECT_EQ(store.put(bytes), digest);
  EXPECT_NO_THROW((void)store.open_mapped(digest, true, bytes.size()));
}

TEST_F(ContentStoreTest, MissingBlobIsAnIntegrityError) {
  jhtc::ContentStore store(dir_);
  EXPECT_THROW((void)store.open_mapped(jhtc::sha256_digest(pattern(3, 1)), true),
               jhtc::IntegrityError);
}

TEST_F(ContentStoreTest, MalformedDigestIsInvalidArgument) {
  jhtc::ContentStore store(dir_);
  EXPECT_THROW((void)store.path_of("sha256-../../etc/passwd"), std::invalid_argument);
  EXPECT_THROW((void)store.path_of("md5-abc"), std::invalid_argument);
}

TEST_F(ContentStoreTest, HintOfAnExistingBlobSkipsHashingAndAWrongHintIsIgnored) {
  jhtc::ContentStore store(dir_);
  const auto a = pattern(1000, 10), b = pattern(1000, 11);
  const auto da = store.put(a);
  // A hint naming an existing blob of the right size is trusted (identity cache).
  EXPECT_EQ(store.put(a, {}, da), da);
  // A hint naming a blob that does not exist is not: the bytes are hashed.
  EXPECT_EQ(store.put(b, {}, jhtc::sha256_digest(pattern(1000, 12))), jhtc::sha256_digest(b));
}

TEST_F(ContentStoreTest, ConcurrentThreadsWritingTheSameBlobLeaveOneValidCopy) {
  jhtc::ContentStore store(dir_);
  const auto bytes = pattern(3 << 20, 13);
  std::vector<std::thread> threads;
  std::vector<std::string> digests(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { digests[i] = store.put(bytes, "batch-" + std::to_string(i)); });
  }
  for (auto& t : threads) t.join();
  for (const auto& d : digests) EXPECT_EQ(d, digests[0]);
  EXPECT_NO_THROW((void)store.open_mapped(digests[0], true, bytes.size()));
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "sha256"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "temporary files left behind";
}

TEST_F(ContentStoreTest, ConcurrentProcessesWritingTheSameBlobLeaveOneValidCopy) {
  const auto bytes = pattern(4 << 20, 14);
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        jhtc::ContentStore store(dir_);
        store.put(bytes, "proc-" + std::to_string(i));
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  jhtc::ContentStore store(dir_);
  EXPECT_NO_THROW((void)store.open_mapped(jhtc::sha256_digest(bytes), true, bytes.size()));
}

}  // namespace
