// A small argument parser for the CLI: flags with values, boolean flags and
// positionals, with "--" ending the flags. Errors name the flag.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace smolvm_cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::map<std::string, std::vector<std::string>> values;  // --flag VALUE (repeatable)
  std::set<std::string> flags;                             // --flag
  std::vector<std::string> positional;
  std::vector<std::string> rest;  // after "--"
  bool has_rest = false;

  bool has(const std::string& f) const { return flags.count(f) || values.count(f); }
  std::string get(const std::string& f, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& f) const;
  // A whole number within [lo, hi] (or 0 when zero_ok: "the default"),
  // fallback when the flag is absent; UsageError naming the flag, the value
  // and the range otherwise (an empty or negative value too).
  unsigned long number(const std::string& f, unsigned long fallback, unsigned long lo,
                       unsigned long hi, bool zero_ok = false) const;
  // A duration in seconds: a whole number with an optional unit s, m, h or
  // d ("90", "90s", "15m", "2h", "1d"), at most max_s; 0 when absent.
  unsigned long seconds(const std::string& f, unsigned long max_s) const;
};

// The same check for a value that is not a flag's ("guest port", "3000").
unsigned long parse_number(const std::string& what, const std::string& value, unsigned long lo,
                           unsigned long hi, bool zero_ok = false);

// value_flags take a value (--mem 512 or --mem=512); bool_flags do not.
// Short aliases map to long names ("-e" -> "--env").
Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                const std::set<std::string>& bool_flags,
                const std::map<std::string, std::string>& aliases = {});

}  // namespace smolvm_cli
