// Writes a few request records, as the proxy records its decisions, into DATA_DIR/audit.db: the
// browser test of the console needs a trail to browse. Values are masked and HMACed with the
// same functions the proxy uses; no raw value is written.
//
// Usage: gatekeeper_seed_audit DATA_DIR INSTANCE
#include "gatekeeper/audit/record.hpp"
#include "gatekeeper/audit/store.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace gatekeeper;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR INSTANCE\n", argv[0]);
    return 2;
  }
  const std::filesystem::path data_dir = argv[1];
  std::filesystem::create_directories(data_dir);
  auto store = audit::open_sqlite_store((data_dir / "audit.db").string());
  auto pseudonymizer = audit::Pseudonymizer::load_or_create(data_dir);
  if (!store || !pseudonymizer) {
    std::fprintf(stderr, "cannot open the audit store or its key in %s\n", argv[1]);
    return 1;
  }
  auto last = (*store)->last_of_chain(argv[2]);
  audit::Chain chain(argv[2], last ? &*last : nullptr);

  struct Sample {
    const char* reference;
    const char* day;
    const char* platform;
    const char* host;
    const char* action;
    const char* category;
    const char* rule;
    const char* value;  // a made-up identifier, only ever stored masked and HMACed
    const char* user;
  };
  const std::vector<Sample> samples{
      {"GK-20261118-0A11C3", "2026-11-18", "chatgpt", "chatgpt.com", "block", "health_identifier",
       "fr.nir", "2 85 06 75 012 345 19", "alice"},
      {"GK-20261119-1B22D4", "2026-11-19", "claude", "claude.ai", "block",
       "confidential_document", "doc.confidential_marking", "STRICTEMENT CONFIDENTIEL", "bob"},
      {"GK-20261120-2C33E5", "2026-11-20", "chatgpt", "api.openai.com", "redact",
       "health_identifier", "fr.nir", "1 85 05 78 006 084 36", "alice"},
      {"GK-20261121-3D44F6", "2026-11-21", "mistral", "chat.mistral.ai", "warn", "secret",
       "secret.api_key", "sk-proj-4f9a8b7c6d5e4f3a2b1c", "carol"},
      {"GK-20261122-4E55A7", "2026-11-22", "chatgpt", "chatgpt.com", "block", "health_identifier",
       "fr.nir", "2 85 06 75 012 345 19", "bob"},
      {"GK-20261122-5F66B8", "2026-11-22", "gemini", "gemini.google.com", "log",
       "unpublished_results", "research.unpublished_results", "résultats préliminaires", "carol"},
  };
  std::vector<audit::Record> records;
  for (const auto& s : samples) {
    nlohmann::json body = {
        {"time", std::string(s.day) + "T09:30:00.000Z"},
        {"reference", s.reference},
        {"client", "127.0.0.1"},
        {"user", (*pseudonymizer)->user_pseudonym(s.user)},
        {"platform", s.platform},
        {"host", s.host},
        {"method", "POST"},
        {"path", "/backend-api/conversation"},
        {"tier", "external"},
        {"action", s.action},
        {"would_action", s.action},
        {"categories", {s.category}},
        {"findings",
         {{{"rule", s.rule},
           {"rule_version", 2},
           {"category", s.category},
           {"count", 1},
           {"max_score", 0.95},
           {"validated", true},
           // The shape http::inspect() writes: masked excerpt, matched context words, keyed HMAC.
           {"matches",
            {{{"excerpt", audit::mask_value(s.value)},
              {"context", {"patient"}},
              {"value_hmac",
               (*pseudonymizer)->value_hmac(audit::canonical_value(s.value))}}}}}}},
        {"rules", "3f2a9c0d5e7b1a4c3f2a9c0d5e7b1a4c3f2a9c0d5e7b1a4c3f2a9c0d5e7b1a4c"},
        {"revision", 1},
        {"bytes_inspected", 412},
        {"justification", nullptr},
        {"error", nullptr}};
    audit::Record record = audit::make_request_record(std::move(body));
    chain.stamp(record);
    records.push_back(std::move(record));
  }
  if (auto appended = (*store)->append(records); !appended) {
    std::fprintf(stderr, "append failed: %s\n", appended.error().message().c_str());
    return 1;
  }
  std::printf("%zu records\n", records.size());
  return 0;
}
