#include "guest/agent/net.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace smolvm::agent {
namespace {

class Sock {
 public:
  Sock() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Sock() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

ifreq make_ifreq(const std::string& ifname) {
  ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  return ifr;
}

void set_in_addr(sockaddr* sa, uint32_t addr) {
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = addr;
  std::memcpy(sa, &sin, sizeof sin);
}

bool fail(std::string& err, const std::string& what) {
  err = what + ": " + std::strerror(errno);
  return false;
}

bool set_up(int fd, const std::string& ifname, std::string& err) {
  ifreq ifr = make_ifreq(ifname);
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return fail(err, ifname + ": SIOCGIFFLAGS");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) return fail(err, ifname + ": SIOCSIFFLAGS");
  return true;
}

uint32_t prefix_mask(int prefix) { return prefix == 0 ? 0 : htonl(~uint32_t{0} << (32 - prefix)); }

}  // namespace

bool parse_ipv4_cidr(std::string_view text, Ipv4Cidr& out) {
  const size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  in_addr a;
  if (::inet_pton(AF_INET, addr.c_str(), &a) != 1) return false;
  int prefix = 32;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 2) return false;
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > 32) return false;
  }
  out.addr = a.s_addr;
  out.prefix = prefix;
  return true;
}

bool bring_up_loopback(std::string& err) {
  Sock s;
  if (s.fd() < 0) return fail(err, "socket");
  // The kernel gives lo 127.0.0.1/8 itself when it comes up.
  return set_up(s.fd(), "lo", err);
}

bool configure_interface(const std::string& ifname, const Ipv4Cidr& ip, std::string& err) {
  Sock s;
  if (s.fd() < 0) return fail(err, "socket");
  ifreq ifr = make_ifreq(ifname);
  set_in_addr(&ifr.ifr_addr, ip.addr);
  if (::ioctl(s.fd(), SIOCSIFADDR, &ifr) != 0) return fail(err, ifname + ": SIOCSIFADDR");
  ifr = make_ifreq(ifname);
  const uint32_t mask = prefix_mask(ip.prefix);
  set_in_addr(&ifr.ifr_netmask, mask);
  if (::ioctl(s.fd(), SIOCSIFNETMASK, &ifr) != 0) return fail(err, ifname + ": SIOCSIFNETMASK");
  if (ip.prefix < 31) {
    ifr = make_ifreq(ifname);
    set_in_addr(&ifr.ifr_broadaddr, (ip.addr & mask) | ~mask);
    if (::ioctl(s.fd(), SIOCSIFBRDADDR, &ifr) != 0) return fail(err, ifname + ": SIOCSIFBRDADDR");
  }
  return set_up(s.fd(), ifname, err);
}

bool add_default_route(const std::string& ifname, uint32_t gateway, std::string& err) {
  Sock s;
  if (s.fd() < 0) return fail(err, "socket");
  rtentry rt;
  std::memset(&rt, 0, sizeof rt);
  set_in_addr(&rt.rt_dst, 0);
  set_in_addr(&rt.rt_genmask, 0);
  set_in_addr(&rt.rt_gateway, gateway);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  std::string dev = ifname;
  rt.rt_dev = dev.data();
  if (::ioctl(s.fd(), SIOCADDRT, &rt) != 0 && errno != EEXIST) {
    return fail(err, "default route via " + ifname + ": SIOCADDRT");
  }
  return true;
}

}  // namespace smolvm::agent
