#pragma once
// Prompts shared by the side-by-side workload tools (bench/ai_upstream.cpp, bench/load_client.cpp):
// 4 KB chat-completions bodies, mostly benign, some carrying a value the shipped policy redacts
// (a cloud access key: secret -> redact) or blocks (a confidentiality stamp: confidential ->
// block). The upstream reports whether it saw a sensitive value, so the client can tell a
// redacted request from one that leaked. The key is made up. (A NIR is not used: next to this
// research prose it makes a research participant identifiable, which the policy blocks.)

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace gatekeeper::bench {

enum class PromptKind { Benign, Redacted, Blocked };

// Every `kSensitiveEvery`-th request carries a redacted value, the next one a blocked document.
inline constexpr std::size_t kSensitiveEvery = 10;

inline constexpr std::string_view kRedactedValue = "AKIAZ7Q4N2XK5RMV3TLB";
inline constexpr std::string_view kBlockedValue = "STRICTEMENT CONFIDENTIEL";

// What the upstream looks for.
inline constexpr std::array<std::string_view, 2> kSensitiveMarkers = {kRedactedValue,
                                                                      kBlockedValue};

inline PromptKind prompt_kind(std::size_t request_index) {
  const std::size_t slot = request_index % kSensitiveEvery;
  if (slot == 3) return PromptKind::Redacted;
  if (slot == 7) return PromptKind::Blocked;
  return PromptKind::Benign;
}

inline std::string_view kind_name(PromptKind kind) {
  switch (kind) {
    case PromptKind::Benign: return "benign";
    case PromptKind::Redacted: return "redacted";
    case PromptKind::Blocked: return "blocked";
  }
  return "?";
}

// Ordinary research prose in French and English, as most prompts are.
inline constexpr std::array<std::string_view, 6> kBenignSentences = {
    "Summarise the attached methods section in plain language for a lay audience. ",
    "Nous avons comparé deux protocoles d'immunomarquage sur des coupes de tissu murin. ",
    "Rewrite this paragraph so that the limitations of the cohort design are clearer. ",
    "Propose un plan pour la discussion : forces, limites et perspectives de l'étude. ",
    "The reviewers asked for a sensitivity analysis excluding the first recruitment wave. ",
    "Explain the difference between a fixed-effects and a random-effects meta-analysis. "};

// The user's text of a prompt of about `size` bytes (before JSON encoding).
inline std::string prompt_text(PromptKind kind, std::size_t size, std::size_t seed) {
  std::string text;
  if (kind == PromptKind::Blocked) text += "STRICTEMENT CONFIDENTIEL\\nNote au directeur. ";
  std::size_t i = seed;
  while (text.size() < size / 2) text += kBenignSentences[i++ % kBenignSentences.size()];
  if (kind == PromptKind::Redacted) {
    text += "Debug this: aws_access_key_id = ";
    text += kRedactedValue;
    text += " ";
  }
  while (text.size() < size) text += kBenignSentences[i++ % kBenignSentences.size()];
  // Cut on a space so that no UTF-8 sequence is split.
  const auto cut = text.rfind(' ', size);
  text.resize(cut == std::string::npos ? size : cut);
  return text;
}

// An OpenAI chat-completions body whose JSON is about `size` bytes.
inline std::string chat_body(PromptKind kind, std::size_t size, std::size_t seed,
                             bool stream = false) {
  std::string body = R"({"model":"gpt-4o",)";
  if (stream) body += R"("stream":true,)";
  body += R"("messages":[{"role":"user","content":")";
  const std::size_t overhead = body.size() + 4;
  body += prompt_text(kind, size > overhead ? size - overhead : 0, seed);
  body += R"("}]})";
  return body;
}

inline bool contains_sensitive(std::string_view body) {
  for (const auto marker : kSensitiveMarkers) {
    if (body.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace gatekeeper::bench
