// Load client for the side-by-side proxy benchmark: CONNECT + TLS through an HTTP proxy (or
// straight to the upstream), keep-alive, chat-completions prompts from workload.hpp.
//
// Modes (one JSON object is printed on stdout):
//   saturate    N connections in a closed loop for D seconds: requests/s.
//   rate        fixed request rate spread over N connections: latency percentiles, measured from
//               each request's scheduled start (a slow reply delays the next, and that counts).
//   sse         sequential streamed requests: time to first event, gap between events.
//   upload      sequential requests with a large body (--size): latency, MB/s.
//   handshakes  one new connection per host name h<i>.<suffix> (CONNECT + TLS + one request),
//               --rounds times over the same names: the first round makes the proxy mint a
//               certificate per name, later rounds hit its cache.
//   idle        opens N keep-alive connections (one request each), prints "ready" on stderr and
//               keeps them open until stdin is closed.
//
// Common flags: --proxy HOST:PORT (absent: direct) --target HOST:PORT (CONNECT authority, Host,
// SNI) --connect ADDR:PORT (direct mode: where to connect) --ca FILE (trusted CA, PEM).
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "workload.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
namespace wl = gatekeeper::bench;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using Stream = beast::ssl_stream<beast::tcp_stream>;

struct Options {
  std::string mode;
  std::optional<std::pair<std::string, std::string>> proxy;
  std::string target_host = "api.openai.com";
  std::string target_port = "443";
  std::pair<std::string, std::string> connect{"127.0.0.1", "443"};
  std::string ca;
  std::string path = "/v1/chat/completions";
  int connections = 8;
  double duration = 10;
  double rate = 100;
  int requests = 50;
  std::size_t size = 4096;
  int hosts = 200;
  int rounds = 2;
  std::string host_suffix = "oaiusercontent.com";
};

std::pair<std::string, std::string> split(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return {host_port, "443"};
  return {host_port.substr(0, colon), host_port.substr(colon + 1)};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  return values[index];
}

std::string latency_json(const std::vector<double>& micros) {
  std::ostringstream out;
  out << "\"p50_us\":" << percentile(micros, 50) << ",\"p90_us\":" << percentile(micros, 90)
      << ",\"p99_us\":" << percentile(micros, 99)
      << ",\"max_us\":" << (micros.empty() ? 0 : *std::max_element(micros.begin(), micros.end()));
  return out.str();
}

// Replies per prompt kind and status; "leaked" counts 200s whose upstream saw a sensitive value.
struct Tally {
  std::map<std::string, std::map<unsigned, long>> statuses;
  std::map<std::string, long> leaked;
  long errors = 0;
  long ok = 0;
  std::string first_error;

  void add(wl::PromptKind kind, unsigned status, bool leak) {
    ++statuses[std::string(wl::kind_name(kind))][status];
    if (leak) ++leaked[std::string(wl::kind_name(kind))];
    ++ok;
  }
  void error(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }
  std::string json() const {
    std::ostringstream out;
    out << "\"replies\":{";
    bool first_kind = true;
    for (const auto& [kind, by_status] : statuses) {
      out << (first_kind ? "" : ",") << "\"" << kind << "\":{";
      first_kind = false;
      bool first = true;
      for (const auto& [status, count] : by_status) {
        out << (first ? "" : ",") << "\"" << status << "\":" << count;
        first = false;
      }
      const auto leak = leaked.find(kind);
      out << ",\"leaked\":" << (leak == leaked.end() ? 0 : leak->second) << "}";
    }
    out << "},\"errors\":" << errors;
    if (errors) out << ",\"first_error\":\"" << first_error << "\"";
    return out.str();
  }
};

class Client {
 public:
  Client(asio::io_context& ioc, const Options& options)
      : ioc_(ioc), options_(options), tls_(ssl::context::tls_client) {
    tls_.load_verify_file(options.ca);
    tls_.set_verify_mode(ssl::verify_peer);
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(tls_.native_handle(), kAlpn, sizeof kAlpn - 1);
    // Every new connection is a full handshake, as a fresh client process would do.
    SSL_CTX_set_session_cache_mode(tls_.native_handle(), SSL_SESS_CACHE_OFF);
    tcp::resolver resolver(ioc);
    const auto& [host, port] = options.proxy ? *options.proxy : options.connect;
    endpoint_ = *resolver.resolve(host, port).begin();
    for (std::size_t i = 0; i < wl::kSensitiveEvery; ++i) {
      bodies_.push_back(wl::chat_body(wl::prompt_kind(i), options.size, i));
    }
  }

  // TCP connect, CONNECT through the proxy if any, TLS handshake for `host`.
  awaitable<std::unique_ptr<Stream>> open(const std::string& host) {
    auto stream = std::make_unique<Stream>(beast::tcp_stream(ioc_), tls_);
    auto& tcp_stream = beast::get_lowest_layer(*stream);
    tcp_stream.expires_after(std::chrono::seconds(30));
    co_await tcp_stream.async_connect(endpoint_, use_awaitable);
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if (options_.proxy) {
      const std::string authority = host + ":" + options_.target_port;
      const std::string connect =
          "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
      co_await asio::async_write(tcp_stream, asio::buffer(connect), use_awaitable);
      beast::flat_buffer buffer;
      bhttp::response_parser<bhttp::empty_body> parser;
      parser.skip(true);
      co_await bhttp::async_read_header(tcp_stream, buffer, parser, use_awaitable);
      if (parser.get().result_int() != 200) {
        throw std::runtime_error("CONNECT refused: " + std::to_string(parser.get().result_int()));
      }
    }
    SSL_set_tlsext_host_name(stream->native_handle(), host.c_str());
    SSL_set1_host(stream->native_handle(), host.c_str());
    co_await stream->async_handshake(ssl::stream_base::client, use_awaitable);
    tcp_stream.expires_never();
    co_return stream;
  }

  bhttp::request<bhttp::string_body> request(const std::string& host, std::string body) const {
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, options_.path, 11};
    // With the port: Squid builds the bumped request's URL from Host.
    request.set(bhttp::field::host,
                options_.target_port == "443" ? host : host + ":" + options_.target_port);
    request.set(bhttp::field::content_type, "application/json");
    request.set(bhttp::field::authorization, "Bearer sk-bench-not-a-real-key");
    request.body() = std::move(body);
    request.prepare_payload();
    return request;
  }

  const std::string& body(std::size_t index) const { return bodies_[index % bodies_.size()]; }

  // Sends one request and reads the whole reply. Returns false if the connection must be reopened.
  awaitable<bool> exchange(Stream& stream, beast::flat_buffer& buffer,
                           const bhttp::request<bhttp::string_body>& request, wl::PromptKind kind,
                           Tally& tally) {
    co_await bhttp::async_write(stream, request, use_awaitable);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    co_await bhttp::async_read(stream, buffer, parser, use_awaitable);
    const auto& response = parser.get();
    tally.add(kind, response.result_int(),
              response.result_int() == 200 && response["X-Bench-Leaked"] == "1");
    co_return response.keep_alive();
  }

  const Options& options() const { return options_; }

 private:
  asio::io_context& ioc_;
  const Options& options_;
  ssl::context tls_;
  tcp::endpoint endpoint_;
  std::vector<std::string> bodies_;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
double micros_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

// Closed loop (rate <= 0) or one worker's share of a fixed rate.
awaitable<void> worker(Client& client, int worker_index, Clock::time_point start,
                       Clock::time_point end, double rate, Tally& tally,
                       std::vector<double>& micros, long& sent) {
  const auto& options = client.options();
  std::unique_ptr<Stream> stream;
  beast::flat_buffer buffer;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const double interval = rate > 0 ? options.connections / rate : 0;
  try {
    stream = co_await client.open(options.target_host);
  } catch (const std::exception& e) {
    tally.error(e.what());
  }
  if (start > Clock::now()) {
    timer.expires_at(start);
    co_await timer.async_wait(use_awaitable);
  }
  for (long k = 0;; ++k) {
    const std::size_t index = static_cast<std::size_t>(k * options.connections + worker_index);
    Clock::time_point scheduled = Clock::now();
    if (rate > 0) {
      const double slot =
          static_cast<double>(k) + worker_index / static_cast<double>(options.connections);
      scheduled = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(slot * interval));
      if (scheduled >= end) break;
      if (scheduled > Clock::now()) {
        timer.expires_at(scheduled);
        co_await timer.async_wait(use_awaitable);
      }
    } else if (scheduled >= end) {
      break;
    }
    try {
      if (!stream) {
        stream = co_await client.open(options.target_host);
        buffer.clear();
      }
      const auto request = client.request(options.target_host, client.body(index));
      const bool keep = co_await client.exchange(*stream, buffer, request,
                                                 wl::prompt_kind(index), tally);
      micros.push_back(micros_between(scheduled, Clock::now()));
      ++sent;
      if (!keep) stream.reset();
    } catch (const std::exception& e) {
      tally.error(e.what());
      stream.reset();
    }
  }
}

int run_load(const Options& options, bool fixed_rate) {
  asio::io_context ioc(1);
  Client client(ioc, options);
  Tally tally;
  std::vector<std::vector<double>> micros(options.connections);
  std::vector<long> sent(options.connections, 0);
  // Connections are opened first so that the measured window holds requests only.
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.duration));
  for (int i = 0; i < options.connections; ++i) {
    asio::co_spawn(ioc,
                   worker(client, i, start, end, fixed_rate ? options.rate : 0, tally, micros[i],
                          sent[i]),
                   asio::detached);
  }
  ioc.run();
  const double elapsed = seconds_since(start);
  std::vector<double> all;
  long total = 0;
  for (int i = 0; i < options.connections; ++i) {
    all.insert(all.end(), micros[i].begin(), micros[i].end());
    total += sent[i];
  }
  std::cout << "{\"mode\":\"" << options.mode << "\",\"connections\":" << options.connections
            << ",\"seconds\":" << elapsed << ",\"requests\":" << total
            << ",\"rps\":" << total / elapsed << "," << latency_json(all) << "," << tally.json()
            << "}" << std::endl;
  return 0;
}

awaitable<void> sse_run(Client& client, std::vector<double>& first, std::vector<double>& gaps,
                        std::vector<double>& total, Tally& tally) {
  const auto& options = client.options();
  auto stream = co_await client.open(options.target_host);
  beast::flat_buffer buffer;
  for (int i = 0; i < options.requests; ++i) {
    try {
      const auto request =
          client.request(options.target_host, wl::chat_body(wl::PromptKind::Benign, 1024, i, true));
      const auto sent = Clock::now();
      co_await bhttp::async_write(*stream, request, use_awaitable);
      bhttp::response_parser<bhttp::string_body> parser;
      std::vector<Clock::time_point> arrivals;
      std::string partial;
      auto on_body = [&](std::uint64_t, std::string_view data, beast::error_code&) {
        const auto now = Clock::now();
        partial.append(data);
        // One arrival per complete event ("\n\n"), whatever the re-chunking on the way.
        std::size_t end;
        while ((end = partial.find("\n\n")) != std::string::npos) {
          arrivals.push_back(now);
          partial.erase(0, end + 2);
        }
        return data.size();
      };
      parser.on_chunk_body(on_body);
      while (!parser.is_done()) {
        co_await bhttp::async_read_some(*stream, buffer, parser, use_awaitable);
      }
      tally.add(wl::PromptKind::Benign, parser.get().result_int(), false);
      if (arrivals.empty()) {
        tally.error("no event in the stream");
        continue;
      }
      first.push_back(micros_between(sent, arrivals.front()));
      // The last arrival is [DONE], sent right after the last event: not a gap.
      for (std::size_t k = 1; k + 1 < arrivals.size(); ++k) {
        gaps.push_back(micros_between(arrivals[k - 1], arrivals[k]));
      }
      total.push_back(micros_between(sent, arrivals.back()));
    } catch (const std::exception& e) {
      tally.error(e.what());
      co_return;
    }
  }
}

int run_sse(const Options& options) {
  asio::io_context ioc(1);
  Client client(ioc, options);
  Tally tally;
  std::vector<double> first, gaps, total;
  asio::co_spawn(ioc, sse_run(client, first, gaps, total, tally), [&](std::exception_ptr e) {
    if (e) tally.error("could not open the connection");
  });
  ioc.run();
  std::cout << "{\"mode\":\"sse\",\"streams\":" << first.size() << ",\"first_event\":{"
            << latency_json(first) << "},\"gap\":{" << latency_json(gaps) << "},\"total\":{"
            << latency_json(total) << "}," << tally.json() << "}" << std::endl;
  return 0;
}

awaitable<void> upload_run(Client& client, std::vector<double>& micros, Tally& tally) {
  const auto& options = client.options();
  auto stream = co_await client.open(options.target_host);
  beast::flat_buffer buffer;
  const auto request = client.request(options.target_host,
                                      wl::chat_body(wl::PromptKind::Benign, options.size, 0));
  for (int i = 0; i < options.requests; ++i) {
    const auto sent = Clock::now();
    try {
      if (!co_await client.exchange(*stream, buffer, request, wl::PromptKind::Benign, tally)) {
        stream = co_await client.open(options.target_host);
        buffer.clear();
      }
    } catch (const std::exception& e) {
      tally.error(e.what());
      co_return;
    }
    micros.push_back(micros_between(sent, Clock::now()));
  }
}

int run_upload(const Options& options) {
  asio::io_context ioc(1);
  Client client(ioc, options);
  Tally tally;
  std::vector<double> micros;
  asio::co_spawn(ioc, upload_run(client, micros, tally), [&](std::exception_ptr e) {
    if (e) tally.error("could not open the connection");
  });
  ioc.run();
  double sum = 0;
  for (double m : micros) sum += m;
  const double mb_per_s = sum > 0 ? static_cast<double>(options.size) * micros.size() / sum : 0;
  std::cout << "{\"mode\":\"upload\",\"bytes\":" << options.size << ",\"requests\":"
            << micros.size() << ",\"mb_per_s\":" << mb_per_s << "," << latency_json(micros) << ","
            << tally.json() << "}" << std::endl;
  return 0;
}

awaitable<void> handshake_worker(Client& client, int& next, int hosts, std::vector<double>& micros,
                                 Tally& tally) {
  const auto& options = client.options();
  beast::flat_buffer buffer;
  while (next < hosts) {
    const std::string host = "h" + std::to_string(next++) + "." + options.host_suffix;
    const auto start = Clock::now();
    try {
      auto stream = co_await client.open(host);
      buffer.clear();
      const auto request =
          client.request(host, wl::chat_body(wl::PromptKind::Benign, 256, 0));
      co_await client.exchange(*stream, buffer, request, wl::PromptKind::Benign, tally);
      micros.push_back(micros_between(start, Clock::now()));
      beast::get_lowest_layer(*stream).socket().close();
    } catch (const std::exception& e) {
      tally.error(e.what());
    }
  }
}

int run_handshakes(const Options& options) {
  asio::io_context ioc(1);
  Client client(ioc, options);
  std::cout << "{\"mode\":\"handshakes\",\"hosts\":" << options.hosts << ",\"rounds\":[";
  for (int round = 0; round < options.rounds; ++round) {
    Tally tally;
    std::vector<double> micros;
    int next = 0;
    const auto start = Clock::now();
    for (int i = 0; i < options.connections; ++i) {
      asio::co_spawn(ioc, handshake_worker(client, next, options.hosts, micros, tally),
                     asio::detached);
    }
    ioc.restart();
    ioc.run();
    const double elapsed = seconds_since(start);
    std::cout << (round ? "," : "") << "{\"connections_per_s\":" << micros.size() / elapsed << ","
              << latency_json(micros) << "," << tally.json() << "}";
  }
  std::cout << "]}" << std::endl;
  return 0;
}

awaitable<void> idle_opener(Client& client, int& next, std::vector<std::unique_ptr<Stream>>& kept,
                            Tally& tally) {
  const auto& options = client.options();
  beast::flat_buffer buffer;
  while (next < options.connections) {
    const std::size_t index = static_cast<std::size_t>(next++);
    try {
      auto stream = co_await client.open(options.target_host);
      buffer.clear();
      const auto request = client.request(options.target_host, client.body(index * 10));
      co_await client.exchange(*stream, buffer, request, wl::PromptKind::Benign, tally);
      kept.push_back(std::move(stream));
    } catch (const std::exception& e) {
      tally.error(e.what());
    }
  }
}

int run_idle(const Options& options) {
  asio::io_context ioc(1);
  Client client(ioc, options);
  Tally tally;
  std::vector<std::unique_ptr<Stream>> kept;
  int next = 0;
  for (int i = 0; i < 16; ++i) {
    asio::co_spawn(ioc, idle_opener(client, next, kept, tally), asio::detached);
  }
  ioc.run();
  std::cerr << "ready " << kept.size() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  std::cout << "{\"mode\":\"idle\",\"open\":" << kept.size() << "," << tally.json() << "}"
            << std::endl;
  return 0;
}

bool parse(int argc, char** argv, Options& options) {
  if (argc < 2) return false;
  options.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--proxy") options.proxy = split(value);
    else if (flag == "--target") std::tie(options.target_host, options.target_port) = split(value);
    else if (flag == "--connect") options.connect = split(value);
    else if (flag == "--ca") options.ca = value;
    else if (flag == "--path") options.path = value;
    else if (flag == "--connections") options.connections = std::stoi(value);
    else if (flag == "--duration") options.duration = std::stod(value);
    else if (flag == "--rate") options.rate = std::stod(value);
    else if (flag == "--requests") options.requests = std::stoi(value);
    else if (flag == "--size") options.size = std::stoul(value);
    else if (flag == "--hosts") options.hosts = std::stoi(value);
    else if (flag == "--rounds") options.rounds = std::stoi(value);
    else if (flag == "--host-suffix") options.host_suffix = value;
    else return false;
  }
  return argc % 2 == 0 && !options.ca.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::cerr << "usage: load_client saturate|rate|sse|upload|handshakes|idle --ca FILE\n"
                 "       [--proxy HOST:PORT] [--target HOST:PORT] [--connect ADDR:PORT]\n"
                 "       [--connections N] [--duration S] [--rate R] [--requests N] [--size B]\n"
                 "       [--hosts N] [--rounds N] [--host-suffix DOMAIN] [--path PATH]\n";
    return 2;
  }
  try {
    if (options.mode == "saturate") return run_load(options, false);
    if (options.mode == "rate") return run_load(options, true);
    if (options.mode == "sse") return run_sse(options);
    if (options.mode == "upload") return run_upload(options);
    if (options.mode == "handshakes") return run_handshakes(options);
    if (options.mode == "idle") return run_idle(options);
  } catch (const std::exception& e) {
    std::cerr << "load_client: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "load_client: unknown mode " << options.mode << "\n";
  return 2;
}
