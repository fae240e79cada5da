#include "core/profile/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/common/error.h"
#include "core/profile/profile.h"

namespace smolvm::profile {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 if it is
// not valid UTF-8 (overlong forms and surrogates included).
size_t decode_utf8(std::string_view text, size_t i, char32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  size_t len;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

// YAML 1.2's c-printable set; PyYAML's reader refuses the same characters.
bool yaml_printable(char32_t c) {
  return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
         (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
         (c >= 0x10000 && c <= 0x10FFFF);
}

// YAML line breaks other than \n and \r\n. A lone \r is one in YAML but
// not to yaml-cpp; NEL, LS and PS were line breaks in YAML 1.1 (PyYAML) and
// are not in 1.2 (yaml-cpp), so tools disagree about files containing them.
bool disputed_line_break(char32_t c) { return c == 0x85 || c == 0x2028 || c == 0x2029; }

std::string refusal(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  if (disputed_line_break(c)) {
    return "character " + std::string(buf) +
           " is not allowed: YAML 1.1 and 1.2 disagree whether it breaks the line";
  }
  return "character " + std::string(buf) + " is not allowed in YAML";
}

// Finds lines the way yaml-cpp counts them (only '\n' starts a new line; a
// leading BOM is not part of column 0), then refuses text yaml-cpp would
// pass through but YAML forbids, so both validators see the same input.
std::shared_ptr<Source> finish(std::shared_ptr<Source> src) {
  if (src->text.size() > kProfileMaxBytes) {
    fail(SMOLVM_EINVAL, src->display + ": too large: a profile may be at most " +
                            std::to_string(kProfileMaxBytes) + " bytes (1 MiB)");
  }
  // Old Mac line ends: yaml-cpp would see one long line.
  for (size_t i = 0; i < src->text.size(); ++i) {
    if (src->text[i] == '\r' && (i + 1 == src->text.size() || src->text[i + 1] != '\n')) {
      src->text[i] = '\n';
    }
  }
  const std::string_view text = src->text;
  src->line_starts.push_back(text.substr(0, kBom.size()) == kBom ? kBom.size() : 0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') src->line_starts.push_back(i + 1);
  }
  for (size_t i = src->line_starts[0]; i < text.size();) {
    char32_t cp = 0;
    const size_t len = decode_utf8(text, i, cp);
    if (len == 0 || !yaml_printable(cp) || disputed_line_break(cp)) {
      Loc loc{src, 0, 0};
      while (loc.line + 1 < static_cast<int>(src->line_starts.size()) &&
             src->line_starts[loc.line + 1] <= i) {
        ++loc.line;
      }
      loc.column = static_cast<int>(i - src->line_starts[loc.line]);
      // Even one character of a file that is not a profile is not shown.
      if (!declares_profile(text)) fail_not_a_profile(src->display, SMOLVM_EINVAL);
      fail_at(loc,
              len == 0 ? std::string("not valid UTF-8 (profiles are UTF-8 text)") : refusal(cp));
    }
    i += len;
  }
  return src;
}

std::filesystem::path absolute_normal(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

}  // namespace

std::string where(const Loc& loc) {
  const Source& src = *loc.source;
  if (loc.line < 0 || static_cast<size_t>(loc.line) >= src.line_starts.size()) {
    return src.display;
  }
  // yaml-cpp counts bytes; people count characters.
  const size_t start = src.line_starts[loc.line];
  const size_t end = std::min(src.text.size(), start + std::max(loc.column, 0));
  size_t column = 1;
  for (size_t i = start; i < end; ++i) {
    if ((static_cast<unsigned char>(src.text[i]) & 0xC0) != 0x80) ++column;
  }
  return src.display + ":" + std::to_string(loc.line + 1) + ":" + std::to_string(column);
}

bool declares_profile(std::string_view text) {
  return text.find("smolvm/v1") != std::string_view::npos ||
         text.find("VMProfile") != std::string_view::npos;
}

void fail_not_a_profile(const std::string& display, int status) {
  fail(status, display +
                   ": not a SmolVM profile: a profile is a YAML mapping with apiVersion: "
                   "smolvm/v1 and kind: VMProfile (the file's content is not shown)");
}

void fail_at(const Loc& loc, const std::string& message) {
  fail(SMOLVM_EINVAL, where(loc) + ": " + message);
}

SourcePtr read_source(const std::filesystem::path& path, const std::string& display) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused
  // as not a regular file.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (f.fd < 0) {
    const int e = errno;
    const int status = (e == ENOENT || e == ENOTDIR) ? SMOLVM_ENOTFOUND
                       : (e == EACCES || e == EPERM) ? SMOLVM_EPERM
                                                     : SMOLVM_EIO;
    fail(status, display + ": cannot open: " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail_errno(SMOLVM_EIO, display + ": cannot stat");
  if (!S_ISREG(st.st_mode)) fail(SMOLVM_EINVAL, display + ": not a regular file");
  auto src = std::make_shared<Source>();
  src->display = display;
  src->path = absolute_normal(path);
  src->dir = src->path.parent_path();
  // Read one byte past the limit: /proc files report size 0, so st_size alone
  // cannot be trusted to bound the read.
  std::string& text = src->text;
  text.resize(std::min<size_t>(st.st_size, kProfileMaxBytes) + 1);
  size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > kProfileMaxBytes) break;
      text.resize(std::min(text.size() * 2, kProfileMaxBytes + 1));
    }
    const ssize_t n = ::read(f.fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(SMOLVM_EIO, display + ": cannot read");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return finish(std::move(src));
}

SourcePtr make_source(std::string text, const std::string& name) {
  auto src = std::make_shared<Source>();
  src->display = name;
  src->path = absolute_normal(name);
  src->dir = src->path.parent_path();
  src->text = std::move(text);
  return finish(std::move(src));
}

}  // namespace smolvm::profile
