#include "core/supervisor/client_hub.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/common/names.h"
#include "core/common/unix_socket.h"
#include "protocol/fd_io.h"
#include "protocol/messages.h"

namespace smolvm {

using proto::Frame;
using proto::Type;

ClientHub::ClientHub(Vm& vm, std::string vm_id, std::string token)
    : vm_(vm), vm_id_(std::move(vm_id)), token_(std::move(token)) {}

void ClientHub::listen(const std::string& socket_path) {
  listen_fd_ = listen_unix(socket_path, 0600);
}

void ClientHub::on_accept() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Client c;
    c.fd = fd;
    clients_.emplace(next_client_++, std::move(c));
  }
}

uint64_t ClientHub::add_client(int fd) {
  proto::set_nonblocking(fd, true);
  Client c;
  c.fd = fd;
  clients_.emplace(next_client_, std::move(c));
  return next_client_++;
}

void ClientHub::add_pollfds(std::vector<pollfd>& fds, std::vector<uint64_t>& ids,
                            bool agent_backlogged) const {
  for (const auto& [id, c] : clients_) {
    short ev = c.out.pending() > 0 ? POLLOUT : 0;
    if (!agent_backlogged && !c.closing && !c.held) ev |= POLLIN;
    fds.push_back({c.fd, ev, 0});
    ids.push_back(id);
  }
}

void ClientHub::on_client_event(uint64_t id, short revents) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = it->second;
  if (revents & POLLOUT) flush_client(c);
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  char buf[65536];
  const long n = proto::read_some(c.fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    drop_client(id);
    return;
  }
  c.decoder.feed(buf, static_cast<size_t>(n));
  drain(id, c);
}

void ClientHub::drain(uint64_t id, Client& c) {
  Frame f;
  while (!c.held && !c.closing && !vm_.ended()) {
    const auto res = c.decoder.next(f);
    if (res == proto::Decoder::Result::kNeedMore) break;
    if (res == proto::Decoder::Result::kError) {
      refuse_client(c, "EPROTO", c.decoder.error());
      break;
    }
    on_client_frame(id, c, f);
  }
}

void ClientHub::release_held() {
  for (auto& [id, c] : clients_) {
    if (!c.held || vm_.streams_wait()) continue;
    Frame f = std::move(*c.held);
    c.held.reset();
    on_client_frame(id, c, f);
    drain(id, c);
  }
}

void ClientHub::refuse_client(Client& c, const std::string& code, const std::string& message) {
  c.out.send(Type::kError, 0, proto::to_json(proto::ErrorMsg{code, message}));
  c.closing = true;
  flush_client(c);
}

void ClientHub::send_error(Client& c, uint32_t stream, const std::string& code,
                           const std::string& message) {
  c.out.send(Type::kError, stream, proto::to_json(proto::ErrorMsg{code, message}));
  flush_client(c);
}

void ClientHub::on_client_frame(uint64_t id, Client& c, Frame& f) {
  if (!c.hello) {
    proto::Hello h;
    std::string err;
    if (f.type != Type::kHello || !proto::parse(f.payload, h, err)) {
      refuse_client(c, "EPROTO", "the first frame must be HELLO" + (err.empty() ? "" : ": " + err));
      return;
    }
    if (h.version != proto::kVersion) {
      refuse_client(c, "EUNSUPPORTED",
                    "protocol version " + std::to_string(h.version) +
                        " is not supported by this supervisor (version " +
                        std::to_string(proto::kVersion) + ")");
      return;
    }
    if (h.token != token_) {
      refuse_client(c, "EPERM", "wrong token for vm '" + vm_id_ + "'");
      return;
    }
    c.hello = true;
    c.out.send(Type::kHelloOk, 0,
               proto::to_json(proto::HelloOk{proto::kVersion, agent_version_, proto::kMaxPayload}));
    flush_client(c);
    return;
  }
  switch (f.type) {
    case Type::kPing:
      c.out.send(Type::kPong, 0, f.payload);
      flush_client(c);
      return;
    case Type::kVmStop: {
      proto::VmStop stop;
      std::string err;
      proto::parse(f.payload, stop, err);
      c.out.send(Type::kVmStopping, 0, "{}");
      flush_client(c);
      vm_.stop_requested(stop.timeout_ms ? stop.timeout_ms : 10000, stop.force);
      return;
    }
    case Type::kVmPause:
    case Type::kVmResume: {
      const bool pause = f.type == Type::kVmPause;
      std::string message;
      const int rc = vm_.pause_requested(pause, message);
      if (rc != 0) {
        send_error(c, 0, status_name(rc), message);
        return;
      }
      c.out.send(pause ? Type::kVmPaused : Type::kVmResumed, 0, "{}");
      flush_client(c);
      return;
    }
    case Type::kVmSnapshot: {
      proto::VmSnapshot request;
      std::string message;
      if (!proto::parse(f.payload, request, message)) {
        send_error(c, 0, "EINVAL", "VM_SNAPSHOT: " + message);
        return;
      }
      // Answered now only when refused; else once written.
      const int rc = vm_.snapshot_requested(id, request, message);
      if (rc != 0) send_error(c, 0, status_name(rc), message);
      return;
    }
    case Type::kExec:
    case Type::kFileWrite:
    case Type::kFileRead: {
      if (vm_.streams_wait()) {
        c.held = std::move(f);
        return;
      }
      if (std::string message; const int rc = vm_.wake_for_stream(message)) {
        send_error(c, f.stream, status_name(rc), message);
        return;
      }
      if (!vm_.accepts_streams()) {
        send_error(c, f.stream, "ESTATE", "the VM is stopping");
        return;
      }
      auto global = router_.open(id, f.stream, f.type);
      if (!global) {
        send_error(c, f.stream, "EINVAL",
                   "stream " + std::to_string(f.stream) + " is zero or already in use");
        return;
      }
      vm_.send_to_agent(f.type, f.flags, *global, f.payload);
      return;
    }
    case Type::kStdin:
    case Type::kSignal:
    case Type::kResize:
    case Type::kCredit:
    case Type::kData: {
      if (auto global = router_.to_global(id, f.stream)) {
        vm_.send_to_agent(f.type, f.flags, *global, f.payload);
      }
      return;  // frames for an ended stream are dropped
    }
    case Type::kError: {
      // A client cancelling its stream (a bounded file read that hit its
      // limit): the agent stops it, and the route ends here.
      if (auto global = router_.to_global(id, f.stream)) {
        vm_.send_to_agent(f.type, 0, *global, f.payload);
        router_.close(*global);
      }
      return;
    }
    default:
      refuse_client(
          c, "EPROTO",
          std::string("frame type ") + proto::type_name(f.type) + " is not accepted from clients");
  }
}

void ClientHub::from_agent(const Frame& f) {
  const StreamRouter::Route* route = router_.from_global(f.stream);
  if (!route) return;  // a stream we already closed
  const bool ends = StreamRouter::ends_stream(*route, f);
  if (route->client) {
    auto it = clients_.find(route->client);
    if (it != clients_.end()) {
      it->second.out.send(f.type, route->local, f.payload, f.flags);
      flush_client(it->second);
    }
  }
  if (ends) router_.close(f.stream);
}

void ClientHub::snapshot_answered(uint64_t client, int rc, const proto::VmSnapshotted& done,
                                  const std::string& message) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;  // it went away (gc removes its staging folder)
  if (rc != 0) {
    send_error(it->second, 0, status_name(rc), message);
    return;
  }
  it->second.out.send(Type::kVmSnapshotted, 0, proto::to_json(done));
  flush_client(it->second);
}

void ClientHub::fail_all_streams(const std::string& code, const std::string& message) {
  for (uint32_t global : router_.all()) {
    const StreamRouter::Route* route = router_.from_global(global);
    if (!route) continue;
    if (route->client) {
      auto it = clients_.find(route->client);
      if (it != clients_.end()) send_error(it->second, route->local, code, message);
    }
    router_.close(global);
  }
}

void ClientHub::flush_client(Client& c) {
  if (c.out.pending() == 0) return;
  if (!c.out.flush(c.fd)) {
    c.out.clear();
    c.closing = true;
  }
}

void ClientHub::drop_client(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  // Commands of a client that went away die with it (docs/protocol.md).
  for (auto [global, kind] : router_.orphan_client(id)) {
    if (kind == Type::kExec && vm_.agent_connected()) {
      vm_.send_to_agent(Type::kSignal, 0, global, proto::to_json(proto::SignalMsg{SIGKILL}));
    }
    if (kind == Type::kFileRead || kind == Type::kFileWrite) {
      // Nobody reads it any more: the agent closes the file now rather
      // than waiting forever for credit; a write cut off drops its
      // hidden temporary file.
      if (vm_.agent_connected()) {
        vm_.send_to_agent(Type::kError, 0, global,
                          proto::to_json(proto::ErrorMsg{"EIO", "the client went away"}));
      }
      router_.close(global);
    }
  }
  ::close(it->second.fd);
  clients_.erase(it);
}

void ClientHub::reap_closed_clients() {
  std::vector<uint64_t> done;
  for (auto& [id, c] : clients_) {
    if (c.closing && c.out.pending() == 0) done.push_back(id);
  }
  for (uint64_t id : done) drop_client(id);
}

void ClientHub::close_all() {
  for (auto& [id, c] : clients_) {
    flush_client(c);
    ::close(c.fd);
  }
  clients_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace smolvm
