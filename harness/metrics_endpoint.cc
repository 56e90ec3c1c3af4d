#include "harness/metrics_endpoint.h"

#include <httplib.h>

#include <sys/socket.h>

#include <thread>

namespace echoes::harness {

struct MetricsEndpoint::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsEndpoint::~MetricsEndpoint() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsEndpoint::port() const { return impl_->port; }

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(
    const monitor::MetricsRegistry& registry, int port, const std::string& host) {
  if (port < 0 || port > 65535) {
    return Error(ErrorCode::kInvalidInput,
                 "metrics port " + std::to_string(port) + " is not in 0..65535", "--metrics-port");
  }
  auto impl = std::make_unique<Impl>();
  impl->server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.render_prometheus(),
                    std::string(monitor::MetricsRegistry::kContentType).c_str());
  });
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET");
  };
  impl->server.Post("/metrics", not_allowed);
  impl->server.Put("/metrics", not_allowed);
  impl->server.Delete("/metrics", not_allowed);
  // httplib's default socket options add SO_REUSEPORT, with which a second process could bind the
  // same port silently and take half the scrapes: SO_REUSEADDR only, so a port in use is an error.
  impl->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Small bounds: the endpoint reads no bodies and is scraped every few seconds.
  impl->server.set_payload_max_length(1024);
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  if (port == 0) {
    impl->port = impl->server.bind_to_any_port(host);
    if (impl->port <= 0) {
      return Error(ErrorCode::kInvalidInput, "cannot bind a metrics port on " + host, "--metrics-port");
    }
  } else {
    if (!impl->server.bind_to_port(host, port)) {
      return Error(ErrorCode::kInvalidInput,
                   "cannot serve metrics on " + host + ":" + std::to_string(port) +
                       " (in use, or not allowed)",
                   "--metrics-port");
    }
    impl->port = port;
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  // stop() only ends a server that is already running: wait until the thread is in its accept
  // loop, or a destructor that came at once would leave it blocked in accept (and join forever).
  // listen_after_bind sets the flag first thing, on a socket that is already bound.
  while (!raw->server.is_running()) std::this_thread::yield();
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(impl)));
}

}  // namespace echoes::harness
