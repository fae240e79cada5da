// The extractor against archives a hostile guest could send, crafted here
// with libarchive's writer (which, unlike tar -x, checks nothing).
#include "core/transfer/extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/common/error.h"

namespace fs = std::filesystem;
using smolvm::transfer::Budget;
using smolvm::transfer::Extractor;
using smolvm::transfer::Limits;

namespace {

// Builds a pax archive in memory; entries are added in order.
class Crafter {
 public:
  Crafter() {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_per_block(a_, 512);
    archive_write_open(a_, &out_, nullptr, write_cb, nullptr);
  }
  ~Crafter() { archive_write_free(a_); }

  Crafter& entry(const std::string& path, mode_t type, mode_t perm, const std::string& data = "",
                 const std::function<void(archive_entry*)>& tweak = nullptr) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 4242);
    archive_entry_set_gid(e, 4242);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    if (tweak) tweak(e);
    archive_write_header(a_, e);
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  Crafter& file(const std::string& path, const std::string& data, mode_t perm = 0644) {
    return entry(path, AE_IFREG, perm, data);
  }
  Crafter& dir(const std::string& path, mode_t perm = 0755) { return entry(path, AE_IFDIR, perm); }
  Crafter& symlink(const std::string& path, const std::string& target) {
    return entry(path, AE_IFLNK, 0777, "",
                 [&](archive_entry* e) { archive_entry_set_symlink(e, target.c_str()); });
  }
  Crafter& hardlink(const std::string& path, const std::string& target) {
    return entry(path, AE_IFREG, 0644, "", [&](archive_entry* e) {
      archive_entry_set_hardlink(e, target.c_str());
      archive_entry_set_size(e, 0);
    });
  }
  // The header only: the data never comes (a guest that claims a size).
  Crafter& header_only(const std::string& path, int64_t size) {
    return entry(path, AE_IFREG, 0644, "",
                 [&](archive_entry* e) { archive_entry_set_size(e, size); });
  }
  std::string bytes() {
    archive_write_close(a_);
    return out_.bytes;
  }
  // What was written so far; the rest (a header's promised data) never
  // comes, and the writer's padding of it is refused.
  std::string truncated() {
    out_.frozen = true;
    return out_.bytes;
  }

 private:
  struct Out {
    std::string bytes;
    bool frozen = false;
  };
  static la_ssize_t write_cb(archive*, void* ctx, const void* buf, size_t len) {
    auto* out = static_cast<Out*>(ctx);
    if (out->frozen) return -1;
    out->bytes.append(static_cast<const char*>(buf), len);
    return static_cast<la_ssize_t>(len);
  }
  archive* a_;
  Out out_;
};

// Feeds data in small pieces, as the guest's stream arrives.
smolvm::transfer::Source chunks(const std::string& data, size_t piece = 700) {
  auto off = std::make_shared<size_t>(0);
  return [data, piece, off]() -> std::string_view {
    const size_t n = std::min(piece, data.size() - *off);
    std::string_view v(data.data() + *off, n);
    *off += n;
    return v;
  };
}

class ExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::umask(022);
    root_ = fs::temp_directory_path() /
            ("smolvm-extract-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "outside");
    dest_ = root_ / "dest";
  }
  void TearDown() override { fs::remove_all(root_); }

  // Unpacks and commits; returns the error message, "" on success.
  std::string extract(const std::string& archive, Limits limits = {}) {
    try {
      Budget budget(limits);
      Extractor ex(dest_.string(), budget);
      ex.unpack(chunks(archive));
      ex.commit();
      return "";
    } catch (const smolvm::Error& e) {
      return e.what();
    }
  }
  bool outside_empty() const { return fs::is_empty(root_ / "outside"); }
  // Every entry under DEST, for "nothing left" checks.
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    if (!fs::exists(dest_)) return out;
    for (auto& e : fs::recursive_directory_iterator(dest_)) {
      out.push_back(e.path().lexically_relative(dest_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_, dest_;
};

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

TEST_F(ExtractorTest, SetuidOwnerAndModesNeverLand) {
  const std::string err =
      extract(Crafter().file("suidsh", "#!/bin/sh\n", 06755).file("open", "x", 0777).bytes());
  ASSERT_EQ(err, "");
  const auto st = lstat_of(dest_ / "suidsh");
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // 06755 & 0777 & ~022
  EXPECT_EQ(st.st_uid, ::getuid());      // not the archive's 4242
  EXPECT_EQ(st.st_gid, ::getgid());
  EXPECT_EQ(lstat_of(dest_ / "open").st_mode & 07777, 0755u);
  // A DEST the copy creates: 0777 & ~umask.
  EXPECT_EQ(lstat_of(dest_).st_mode & 07777, 0755u);
}

TEST_F(ExtractorTest, DevicesFifosAndSocketsAreSkipped) {
  const std::string err =
      extract(Crafter()
                  .entry("hostdisk", AE_IFBLK, 0666, "",
                         [](archive_entry* e) { archive_entry_set_rdev(e, makedev(254, 0)); })
                  .entry("tty", AE_IFCHR, 0666)
                  .entry("fifo", AE_IFIFO, 0666)
                  .entry("sock", AE_IFSOCK, 0666)
                  .file("ok", "fine")
                  .bytes());
  ASSERT_EQ(err, "");
  EXPECT_EQ(listing(), std::vector<std::string>{"ok"});
}

TEST_F(ExtractorTest, DotEntryNeverChangesDest) {
  fs::create_directories(dest_);
  ::chmod(dest_.c_str(), 0700);
  const std::string err =
      extract(Crafter().dir(".", 0777).dir("./", 07777).file("./a", "a").bytes());
  ASSERT_EQ(err, "");
  const auto st = lstat_of(dest_);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(ExtractorTest, DotEntryOfAFailingCopyNeverChangesDest) {
  fs::create_directories(dest_);
  ::chmod(dest_.c_str(), 0700);
  const std::string err = extract(Crafter().dir(".", 0777).file("../escape", "x").bytes());
  EXPECT_NE(err.find("'..'"), std::string::npos) << err;
  EXPECT_EQ(lstat_of(dest_).st_mode & 07777, 0700u);
  EXPECT_FALSE(fs::exists(root_ / "escape"));
}

TEST_F(ExtractorTest, AbsoluteAndDotDotMembersAreRefusedAndRolledBack) {
  for (const std::string bad : {"/tmp/smolvm-abs-pwned", "../pwned", "a/../../pwned"}) {
    const std::string err = extract(Crafter().dir("sub").file("sub/f", "x").file(bad, "x").bytes());
    EXPECT_NE(err.find("member '" + bad + "'"), std::string::npos) << err;
    EXPECT_EQ(listing(), std::vector<std::string>{}) << bad;  // nothing left, DEST included
    EXPECT_FALSE(fs::exists(dest_)) << bad;
  }
  EXPECT_FALSE(fs::exists("/tmp/smolvm-abs-pwned"));
  EXPECT_FALSE(fs::exists(root_ / "pwned"));
}

TEST_F(ExtractorTest, SymlinkThenMemberThroughItIsRefused) {
  const std::string outside = (root_ / "outside").string();
  const std::string err = extract(Crafter().symlink("x", outside).file("x/pwned", "owned").bytes());
  EXPECT_NE(err.find("member 'x/pwned'"), std::string::npos) << err;
  EXPECT_TRUE(outside_empty());
  EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(ExtractorTest, SymlinkLeftByAnEarlierCopyIsNeverFollowed) {
  // S2: the first copy leaves x -> outside; the second sends only x/pwned.
  const std::string outside = (root_ / "outside").string();
  ASSERT_EQ(extract(Crafter().symlink("x", outside).symlink("y", outside + "/target").bytes()), "");
  ASSERT_TRUE(fs::is_symlink(dest_ / "x"));
  const std::string err = extract(Crafter().file("x/pwned", "owned").bytes());
  EXPECT_NE(err.find("member 'x/pwned'"), std::string::npos) << err;
  EXPECT_NE(err.find("not a folder"), std::string::npos) << err;
  EXPECT_TRUE(outside_empty());
  // A file member over the symlink y replaces the link, never its target.
  ASSERT_EQ(extract(Crafter().file("y", "new").bytes()), "");
  EXPECT_TRUE(outside_empty());
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dest_ / "y")));
  // A folder member over the symlink x is refused, not followed.
  const std::string err2 = extract(Crafter().dir("x").file("x/f", "f").bytes());
  EXPECT_NE(err2.find("member 'x/'"), std::string::npos) << err2;
  EXPECT_TRUE(outside_empty());
}

TEST_F(ExtractorTest, HardLinkBombHitsTheSizeLimit) {
  Crafter c;
  c.file("big", std::string(1 << 20, 'x'));
  for (int i = 0; i < 64; ++i) c.hardlink("l" + std::to_string(i), "big");
  Limits limits;
  limits.max_bytes = 16u << 20;
  const std::string err = extract(c.bytes(), limits);
  EXPECT_NE(err.find("max_bytes=16777216"), std::string::npos) << err;
  EXPECT_EQ(listing(), std::vector<std::string>{});
}

TEST_F(ExtractorTest, HardLinksBecomeCopiesOfThisCopysMembers) {
  const std::string outside = (root_ / "outside" / "secret").string();
  std::ofstream(outside) << "host secret";
  ASSERT_EQ(extract(Crafter().file("a", "aaa").hardlink("b", "a").bytes()), "");
  EXPECT_EQ(lstat_of(dest_ / "b").st_nlink, 1u);
  std::ifstream in(dest_ / "b");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "aaa");
  // A link to a host file (or anything not of this archive) is refused.
  const std::string err = extract(Crafter().hardlink("c", outside).bytes());
  EXPECT_NE(err.find("member 'c'"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dest_ / "c"));
}

TEST_F(ExtractorTest, DeclaredHugeFileFailsBeforeItsData) {
  // A 20 GiB member (as a sparse file would be): refused on its header.
  const std::string err =
      extract(Crafter().file("ok", "ok").header_only("huge", 20ll << 30).truncated());
  EXPECT_NE(err.find("max_bytes=1073741824"), std::string::npos) << err;
  EXPECT_EQ(listing(), std::vector<std::string>{});
}

TEST_F(ExtractorTest, EndlessStreamHitsTheSizeLimit) {
  const std::string zeros(65536, '\0');
  Limits limits;
  limits.max_bytes = 4u << 20;
  Budget budget(limits);
  std::string err;
  try {
    Extractor ex(dest_.string(), budget);
    ex.unpack([&]() -> std::string_view { return zeros; });
  } catch (const smolvm::Error& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("max_bytes=4194304"), std::string::npos) << err;
  EXPECT_LE(budget.received(), (4u << 20) + zeros.size());
  EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(ExtractorTest, ExistingFoldersAreReusedAndFilesReplaced) {
  fs::create_directories(dest_ / "keep");
  ::chmod((dest_ / "keep").c_str(), 0711);
  std::ofstream(dest_ / "keep" / "f") << "old";
  ASSERT_EQ(extract(Crafter().dir("keep", 0777).file("keep/f", "new", 0600).bytes()), "");
  EXPECT_EQ(lstat_of(dest_ / "keep").st_mode & 07777, 0711u);
  std::ifstream in(dest_ / "keep" / "f");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "new");
  EXPECT_EQ(listing(), (std::vector<std::string>{"keep", "keep/f"}));  // no temporary left
}

TEST_F(ExtractorTest, FailedCopyKeepsReplacedFilesAndRemovesItsOwn) {
  fs::create_directories(dest_);
  std::ofstream(dest_ / "f") << "old";
  const std::string err =
      extract(Crafter().file("f", "new").dir("d").file("d/g", "g").file("/abs", "x").bytes());
  EXPECT_NE(err.find("member '/abs'"), std::string::npos) << err;
  EXPECT_EQ(listing(), std::vector<std::string>{"f"});
  std::ifstream in(dest_ / "f");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "old");
}

TEST_F(ExtractorTest, MemberThroughAFileIsAnErrorNamingIt) {
  fs::create_directories(dest_);
  std::ofstream(dest_ / "f") << "file";
  const std::string err = extract(Crafter().file("f/g", "x").bytes());
  EXPECT_NE(err.find("member 'f/g'"), std::string::npos) << err;
  const std::string err2 = extract(Crafter().file("h", "x").file("h/i", "y").bytes());
  EXPECT_NE(err2.find("member 'h/i'"), std::string::npos) << err2;
  EXPECT_EQ(listing(), std::vector<std::string>{"f"});
}

TEST_F(ExtractorTest, ReadOnlyFolderIsFilledBeforeItCloses) {
  ASSERT_EQ(extract(Crafter().dir("ro", 0555).file("ro/f", "x").bytes()), "");
  EXPECT_EQ(lstat_of(dest_ / "ro").st_mode & 07777, 0555u);
  EXPECT_TRUE(fs::exists(dest_ / "ro" / "f"));
}

TEST_F(ExtractorTest, StreamFailingInsideAFileIsReportedAsItself) {
  // The deadline (or the guest) failing while a member's data arrives.
  const std::string archive = Crafter().file("big", std::string(1 << 20, 'x')).bytes();
  Limits limits;
  Budget budget(limits);
  size_t off = 0;
  std::string err;
  try {
    Extractor ex(dest_.string(), budget);
    ex.unpack([&]() -> std::string_view {
      if (off > 100000) throw smolvm::Error(SMOLVM_ETIMEOUT, "timeout_ms=5: stand-in");
      off += 4096;
      return std::string_view(archive).substr(off - 4096, 4096);
    });
  } catch (const smolvm::Error& e) {
    err = e.what();
  }
  EXPECT_EQ(err, "timeout_ms=5: stand-in");
  EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(ExtractorTest, ManyEmptyMembersCountAgainstTheLimit) {
  // Each member costs a 4 KiB block: 1 MiB allows 256 of them, data or not.
  Crafter c;
  for (int i = 0; i < 300; ++i) c.file("e" + std::to_string(i), "");
  Limits limits;
  limits.max_bytes = 1 << 20;
  const std::string err = extract(c.bytes(), limits);
  EXPECT_NE(err.find("max_bytes=1048576"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dest_));
  Crafter ok;
  for (int i = 0; i < 200; ++i) ok.file("e" + std::to_string(i), "");
  EXPECT_EQ(extract(ok.bytes(), limits), "");
  EXPECT_EQ(listing().size(), 200u);
}

TEST_F(ExtractorTest, NotATarStreamIsRefused) {
  const std::string err = extract(std::string(4096, 'A'));
  EXPECT_NE(err.find("archive"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dest_));
}

}  // namespace
