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

unsigned long Args::number(const std::string& f, unsigned long fallback, unsigned long lo,
                           unsigned long hi) const {
  const std::string v = get(f);
  if (v.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (errno || !end || *end || v[0] == '-' || n < lo || n > hi) {
    throw UsageError(f + "=" + v + ": must be a whole number " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  }
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
