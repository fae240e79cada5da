// smolvm/sdk/json.h - the little JSON a plugin writes itself (probe
// answers), without a JSON library.
#ifndef SMOLVM_SDK_JSON_H
#define SMOLVM_SDK_JSON_H

#include <string>
#include <string_view>

namespace smolvm::sdk {

// s as a JSON string, quotes included: '"' and '\' escaped, control
// characters as \u00XX.
std::string json_quote(std::string_view s);

}  // namespace smolvm::sdk

#endif  // SMOLVM_SDK_JSON_H
