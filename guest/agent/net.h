// Guest network setup with plain ioctls, so init depends on no tool in the
// image: loopback up, and eth0 from smolvm.ip=/smolvm.gw= when given.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smolvm::agent {

struct Ipv4Cidr {
  uint32_t addr = 0;  // network byte order
  int prefix = 32;
};

// "A.B.C.D" (prefix 32) or "A.B.C.D/NN" with NN 0..32.
bool parse_ipv4_cidr(std::string_view text, Ipv4Cidr& out);

// Each returns false with err set (the caller logs; boot goes on).
bool bring_up_loopback(std::string& err);
bool configure_interface(const std::string& ifname, const Ipv4Cidr& ip, std::string& err);
bool add_default_route(const std::string& ifname, uint32_t gateway, std::string& err);

}  // namespace smolvm::agent
