#include "cli/args.h"

#include <cerrno>
#include <cstdlib>

namespace smolvm_cli {

std::string Args::get(const std::string& f, const std::string& fallback) const {
  auto it = values.find(f);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& f) const {
  auto it = values.find(f);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

unsigned long parse_number(const std::string& what, const std::string& value, unsigned long lo,
                           unsigned long hi, bool zero_ok) {
  const std::string range =
      (zero_ok && lo > 0 ? "0 or " : "") + std::to_string(lo) + ".." + std::to_string(hi);
  const std::string shown = what + "=" + value;
  // strtoul would wrap "-1" around to a huge number.
  if (value.size() > 1 && value[0] == '-' &&
      value.find_first_not_of("0123456789", 1) == std::string::npos) {
    throw UsageError(shown + ": must not be negative; allowed: " + range);
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || errno || !end || *end || value[0] < '0' || value[0] > '9') {
    throw UsageError(shown + ": must be a whole number " + range);
  }
  if ((n < lo || n > hi) && !(zero_ok && n == 0)) throw UsageError(shown + ": must be " + range);
  return n;
}

unsigned long Args::number(const std::string& f, unsigned long fallback, unsigned long lo,
                           unsigned long hi, bool zero_ok) const {
  auto it = values.find(f);
  if (it == values.end() || it->second.empty()) return fallback;
  return parse_number(f, it->second.back(), lo, hi, zero_ok);
}

unsigned long Args::seconds(const std::string& f, unsigned long max_s) const {
  auto it = values.find(f);
  if (it == values.end() || it->second.empty()) return 0;
  std::string value = it->second.back();
  unsigned long unit = 1;
  if (!value.empty()) {
    switch (value.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        unit = 0;
    }
  }
  const std::string digits = unit ? value.substr(0, value.size() - 1) : value;
  const std::string rule =
      "a whole number of seconds, or with a unit s, m, h or d (e.g. 90, "
      "15m, 2h), at most " +
      std::to_string(max_s) + " s";
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
      digits.size() > 12) {
    throw UsageError(f + "=" + value + ": must be " + rule);
  }
  const unsigned long n = std::stoul(digits) * (unit ? unit : 1);
  if (n > max_s) throw UsageError(f + "=" + value + ": must be " + rule);
  return n;
}

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                const std::set<std::string>& bool_flags,
                const std::map<std::string, std::string>& aliases) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      a.has_rest = true;
      a.rest.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    if (auto al = aliases.find(arg); al != aliases.end()) arg = al->second;
    if (value_flags.count(arg)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError(arg + " needs a value");
        value = argv[++i];
      }
      a.values[arg].push_back(value);
    } else if (bool_flags.count(arg) && !inline_value) {
      a.flags.insert(arg);
    } else {
      throw UsageError("unknown option '" + argv[i] + "' (see --help)");
    }
  }
  return a;
}

}  // namespace smolvm_cli
