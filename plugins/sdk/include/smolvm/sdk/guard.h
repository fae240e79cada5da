// smolvm/sdk/guard.h - the C++ side of a plugin's boundary: the exception a
// plugin throws to fail with a status, and guard(), which runs a slot's body
// so that no exception leaves it.
#ifndef SMOLVM_SDK_GUARD_H
#define SMOLVM_SDK_GUARD_H

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "smolvm/plugin.h"
#include "smolvm/sdk/error.h"

namespace smolvm::sdk {

// A failure with its smolvm_status. names_subject: the message already says
// what it is about ("vm 'a' not found"), so guard() prefixes only the
// operation; false for messages from elsewhere (a library's own text), which
// get the subject too.
class Error : public std::runtime_error {
 public:
  Error(int status, const std::string& message, bool names_subject = true)
      : std::runtime_error(message),
        status_(status < 0 ? status : SMOLVM_ERROR),
        names_subject_(names_subject) {}
  int status() const noexcept { return status_; }
  bool names_subject() const noexcept { return names_subject_; }

 private:
  int status_;
  bool names_subject_;
};

// The std::string form of smolvm_plugin_set_error: writes message, returns status.
inline int set_error(smolvm_plugin_error* err, int status, const std::string& message) noexcept {
  return smolvm_plugin_set_error(err, status, "%s", message.c_str());
}

// Throws Error(SMOLVM_EINVAL, "<what>: must not be NULL") when p is NULL
// (guard() adds the operation and its subject).
template <class T>
void need(T* p, const char* what) {
  if (p == nullptr) throw Error(SMOLVM_EINVAL, std::string(what) + ": must not be NULL", false);
}

// Copies value and its NUL into out (cap bytes), or throws EINVAL naming
// what and both sizes: for probe JSON and paths handed back to the host.
void copy_out(char* out, size_t cap, const std::string& value, const char* what);

namespace detail {
// "<op> '<subject>': <what>" (or "<op>: <what>" without a subject); never
// allocates, so it also reports bad_alloc.
int report(smolvm_plugin_error* err, int status, const char* op, const char* subject,
           const char* what) noexcept;
}  // namespace detail

// Runs body, which either returns a status (0 or a negative smolvm_status,
// having written err) or returns nothing (success) and throws to fail.
// Returns that status, or the status of what body threw:
//   Error             -> its status; its message after the operation
//   std::bad_alloc    -> SMOLVM_ENOMEM
//   other exceptions  -> SMOLVM_ERROR, the message after operation and subject
// err is cleared first, and a failure whose body wrote no message gets one
// naming the operation, the subject and the status.
template <class F>
int guard(smolvm_plugin_error* err, const char* op, const char* subject, F&& body) noexcept {
  if (err != nullptr) err->message[0] = '\0';
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
      std::forward<F>(body)();
      return SMOLVM_OK;
    } else {
      const int rc = static_cast<int>(std::forward<F>(body)());
      if (rc != SMOLVM_OK && err != nullptr && err->message[0] == '\0') {
        return detail::report(err, rc, op, subject, "failed without a message");
      }
      return rc;
    }
  } catch (const Error& e) {
    return detail::report(err, e.status(), op, e.names_subject() ? nullptr : subject, e.what());
  } catch (const std::bad_alloc&) {
    return detail::report(err, SMOLVM_ENOMEM, op, subject, "out of memory");
  } catch (const std::exception& e) {
    return detail::report(err, SMOLVM_ERROR, op, subject, e.what());
  } catch (...) {
    return detail::report(err, SMOLVM_ERROR, op, subject,
                          "an exception that is not a std::exception");
  }
}

// For slots with no error channel (pid): fallback when body throws.
template <class T, class F>
T guard_value(T fallback, F&& body) noexcept {
  try {
    return std::forward<F>(body)();
  } catch (...) {
    return fallback;
  }
}

// For the void slots (close, release, disconnect, exec_free): whatever body
// throws is dropped, since the host has no way to hear of it.
template <class F>
void guard_void(F&& body) noexcept {
  try {
    std::forward<F>(body)();
  } catch (...) {
  }
}

}  // namespace smolvm::sdk

#endif  // SMOLVM_SDK_GUARD_H
