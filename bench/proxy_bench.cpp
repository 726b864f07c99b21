// Added latency of the intercepting proxy: 4 KB JSON prompts over CONNECT + TLS keep-alive,
// compared with the same requests sent straight to the TLS upstream. Reports p50/p99 per request.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "../tests/net/proxy_test_support.hpp"

namespace {

using namespace gatekeeper;
namespace test = gatekeeper::net::test;
namespace asio = test::asio;
namespace beast = test::beast;
namespace bhttp = test::bhttp;
using tcp = test::tcp;

std::string make_prompt(std::size_t size) {
  std::string text;
  const std::string sentence = "Summarise the attached methods section in plain language. ";
  while (text.size() < size) text += sentence;
  text.resize(size);
  return R"({"model":"gpt-4o","messages":[{"role":"user","content":")" + text + R"("}]})";
}

void run(benchmark::State& state, bool through_proxy) {
  auto upstream_ca = test::make_certificate("bench upstream CA", nullptr);
  auto proxy_ca = test::make_certificate("bench proxy CA", nullptr);
  auto upstream_leaf = test::make_certificate("api.openai.com", &upstream_ca);
  auto proxy_leaf = test::make_certificate("api.openai.com", &proxy_ca);
  test::Upstream upstream(
      [](test::UpstreamExchange& exchange) {
        test::reply_text(exchange, R"({"choices":[{"message":{"content":"ok"}}]})");
      },
      test::make_server_context(upstream_leaf, upstream_ca));

  config::Snapshot snapshot;
  snapshot.platforms = test::parse_platforms(test::kTestPlatforms);
  snapshot.rules = test::shipped_rules().rules;
  snapshot.policy = test::shipped_rules().policy;
  snapshot.settings.connect_to = {{"api.openai.com", 443, "127.0.0.1", upstream.port()}};
  net::ProxyContext context;
  context.sni_server_context = test::make_server_context(proxy_leaf, proxy_ca);
  context.upstream_context = test::make_client_context(upstream_ca);
  test::RunningProxy proxy(std::move(snapshot), std::move(context));

  tcp::socket socket(proxy.client_ioc());
  beast::flat_buffer buffer;
  if (through_proxy) {
    socket = proxy.connect();
    const std::string connect =
        "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n";
    asio::write(socket, asio::buffer(connect));
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);
    bhttp::read_header(socket, buffer, parser);
  } else {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream.port()));
  }
  socket.set_option(tcp::no_delay(true));
  auto client_context =
      test::wrap(test::make_client_context(through_proxy ? proxy_ca : upstream_ca));
  beast::ssl_stream<tcp::socket&> stream(socket, *client_context);
  SSL_set_tlsext_host_name(stream.native_handle(), "api.openai.com");
  SSL_set1_host(stream.native_handle(), "api.openai.com");
  stream.handshake(asio::ssl::stream_base::client);

  bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/v1/chat/completions", 11};
  request.set(bhttp::field::host, "api.openai.com");
  request.set(bhttp::field::content_type, "application/json");
  request.body() = make_prompt(4096);
  request.prepare_payload();

  std::vector<double> micros;
  micros.reserve(100'000);
  beast::flat_buffer tls_buffer;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    bhttp::write(stream, request);
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream, tls_buffer, response);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    if (response.result_int() != 200) {
      state.SkipWithError("unexpected status");
      break;
    }
  }
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request.body().size()));
}

BENCHMARK_CAPTURE(run, direct, false)
    ->UseRealTime()
    ->Iterations(3000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(run, through_proxy, true)
    ->UseRealTime()
    ->Iterations(3000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
