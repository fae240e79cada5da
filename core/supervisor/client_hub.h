// The supervisor's clients: the listening socket, each client's connection
// (HELLO with the VM's token, then frames), and the routing of their streams
// onto the one agent channel (router.h). What a client asks of the VM (a
// stream for the agent, a stop) goes to the ClientHub::Vm it was given.
#pragma once

#include <poll.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/supervisor/router.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/outbox.h"

namespace smolvm {

class ClientHub {
 public:
  // The VM side of the hub, implemented by the supervisor.
  class Vm {
   public:
    virtual ~Vm() = default;
    // Whether new streams are taken (the VM runs and its agent is there).
    virtual bool accepts_streams() const = 0;
    virtual bool agent_connected() const = 0;
    virtual void send_to_agent(proto::Type type, uint8_t flags, uint32_t stream,
                               std::string_view payload) = 0;
    virtual void stop_requested(uint32_t timeout_ms, bool force) = 0;
    // Pauses (or resumes) the guest's vCPUs: 0, or a smolvm_status and why.
    virtual int pause_requested(bool pause, std::string& message) = 0;
    // A client asks for a stream (a command, a file transfer): 0 when the
    // VM is not paused, or its idle policy paused it and it runs again now;
    // a smolvm_status and why otherwise (a client paused it).
    virtual int wake_for_stream(std::string& message) = 0;
    // Begins saving the VM into an empty folder (proto::VmSnapshot) for a
    // client: 0 when begun (the answer goes to the client later, through
    // snapshot_answered), or a smolvm_status and why.
    virtual int snapshot_requested(uint64_t client, const proto::VmSnapshot& request,
                                   std::string& message) = 0;
    // Whether a new stream must wait (a snapshot is being written): the
    // client that asks for one is not read until release_held().
    virtual bool streams_wait() const = 0;
    // The VM has ended: stop handling a client's frames.
    virtual bool ended() const = 0;
  };

  ClientHub(Vm& vm, std::string vm_id, std::string token);
  ClientHub(const ClientHub&) = delete;
  ClientHub& operator=(const ClientHub&) = delete;
  ~ClientHub() { close_all(); }

  // Told to clients in HELLO_OK.
  void set_agent_version(std::string version) { agent_version_ = std::move(version); }

  // Starts listening on a unix socket (mode 0600).
  void listen(const std::string& socket_path);
  int listen_fd() const { return listen_fd_; }
  void on_accept();
  // Takes a connected socket as a client (made non-blocking); returns its id.
  uint64_t add_client(int fd);

  // Appends a pollfd per client; ids gets the client id of each. A client is
  // not read while the agent is backlogged (stdin floods) or closing.
  void add_pollfds(std::vector<pollfd>& fds, std::vector<uint64_t>& ids,
                   bool agent_backlogged) const;
  void on_client_event(uint64_t id, short revents);
  // Drops clients that asked to close and whose output is written.
  void reap_closed_clients();

  // An agent frame of a stream (stream != 0), sent on to its client.
  void from_agent(const proto::Frame& f);
  // Ends every live stream with an ERROR frame (the agent channel is gone).
  void fail_all_streams(const std::string& code, const std::string& message);

  // The end of a snapshot_requested: VM_SNAPSHOTTED, or the ERROR with
  // status rc, to the client that asked (if it is still there).
  void snapshot_answered(uint64_t client, int rc, const proto::VmSnapshotted& done,
                         const std::string& message);
  // Handles the frames held while streams waited (Vm::streams_wait), then
  // what those clients sent after them.
  void release_held();

  // Writes what each client can take now and closes every connection.
  void close_all();
  size_t client_count() const { return clients_.size(); }
  size_t stream_count() const { return router_.size(); }

 private:
  struct Client {
    int fd = -1;
    proto::Decoder decoder;
    proto::Outbox out;
    bool hello = false;
    bool closing = false;  // close once `out` is flushed
    // A stream request that waits (Vm::streams_wait): this client is not
    // read again until it is handled.
    std::optional<proto::Frame> held;
  };

  // Handles the frames decoded so far, up to a held one.
  void drain(uint64_t id, Client& c);
  void on_client_frame(uint64_t id, Client& c, proto::Frame& f);
  void refuse_client(Client& c, const std::string& code, const std::string& message);
  void send_error(Client& c, uint32_t stream, const std::string& code, const std::string& message);
  void flush_client(Client& c);
  void drop_client(uint64_t id);

  Vm& vm_;
  std::string vm_id_, token_, agent_version_;
  int listen_fd_ = -1;
  std::map<uint64_t, Client> clients_;
  uint64_t next_client_ = 1;
  StreamRouter router_;
};

}  // namespace smolvm
