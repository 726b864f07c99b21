#include "gatekeeper/http/local_reply.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace gatekeeper::http {
namespace {

using nlohmann::json;

std::string join_labels(const std::vector<CategoryNotice>& categories, bool french) {
  std::string out;
  for (const auto& c : categories) {
    if (!out.empty()) out += ", ";
    const std::string& label = french ? c.label_fr : c.label_en;
    out += label.empty() ? c.id : label;
  }
  return out;
}

void category_details(std::string& out, const std::vector<CategoryNotice>& categories,
                      bool french) {
  for (const auto& c : categories) {
    const std::string& label = french ? c.label_fr : c.label_en;
    const std::string& reason = french ? c.reason_fr : c.reason_en;
    const std::string& alternative = french ? c.alternative_fr : c.alternative_en;
    out += "- " + (label.empty() ? c.id : label) + "\n";
    if (!reason.empty()) out += (french ? "  Motif : " : "  Reason: ") + reason + "\n";
    if (!alternative.empty())
      out += (french ? "  Que faire : " : "  What to do: ") + alternative + "\n";
  }
}

std::string message_in(const ReplyContent& c, bool french) {
  const std::string platform = c.platform_name.empty()
                                   ? (french ? "la plateforme d'IA" : "the AI platform")
                                   : c.platform_name;
  std::string out = "[Gatekeeper] ";
  switch (c.reason) {
    case ReplyReason::Blocked:
      out += french ? "Envoi bloqué : votre message à " + platform +
                          " contient des données sensibles (" + join_labels(c.categories, true) +
                          ").\n"
                    : "Request blocked: your message to " + platform +
                          " contains sensitive data (" + join_labels(c.categories, false) + ").\n";
      category_details(out, c.categories, french);
      break;
    case ReplyReason::NeedsJustification:
      out += french
                 ? "Avertissement : votre message à " + platform +
                       " semble contenir des données sensibles (" +
                       join_labels(c.categories, true) + ").\n"
                 : "Warning: your message to " + platform + " appears to contain sensitive data (" +
                       join_labels(c.categories, false) + ").\n";
      category_details(out, c.categories, french);
      out += french ? "Si cet envoi est justifié, renvoyez le message en le faisant commencer par "
                      "la ligne « " +
                          c.justification_prefix + " <raison> ». La raison est enregistrée.\n"
                    : "If sending it is justified, resend the message starting with the line \"" +
                          c.justification_prefix + " <reason>\". The reason is recorded.\n";
      break;
    case ReplyReason::Uninspectable:
      out += french
                 ? "Envoi bloqué : le message contient un contenu qui ne peut pas encore être "
                   "vérifié (" +
                       c.detail_fr +
                       "). Les fichiers doivent être contrôlés avant d'être envoyés à " + platform +
                       " ; copiez-en le texte dans le message ou utilisez un outil interne.\n"
                 : "Request blocked: the message contains content that cannot be checked yet (" +
                       c.detail_en + "). Files must be checked before they are sent to " +
                       platform + "; paste their text into the message or use an internal tool.\n";
      break;
    case ReplyReason::TooLarge:
      out += french
                 ? "Envoi bloqué : la requête dépasse la taille maximale vérifiable (" +
                       c.detail_fr + ").\n"
                 : "Request blocked: the request exceeds the largest size that can be checked (" +
                       c.detail_en + ").\n";
      break;
    case ReplyReason::Failure:
      out += french ? "Envoi bloqué par précaution : la vérification n'a pas pu être faite (" +
                          c.detail_fr + ").\n"
                    : "Request blocked as a precaution: it could not be checked (" + c.detail_en +
                          ").\n";
      break;
  }
  out += french ? "Référence : " + c.reference : "Reference: " + c.reference;
  if (!c.contact.empty())
    out += french ? " (à communiquer au DPO : " + c.contact + ")"
                  : " (give it to the DPO: " + c.contact + ")";
  else
    out += french ? " (à communiquer au DPO)" : " (give it to the DPO)";
  out += "\n";
  if (!c.report_url.empty()) {
    out += (french ? "Signaler un faux positif : " : "Report a false positive: ") + c.report_url +
           "\n";
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sse_event(std::string_view event, const json& data) {
  std::string out;
  if (!event.empty()) out += "event: " + std::string(event) + "\n";
  return out + "data: " + dump(data) + "\n\n";
}

bool accepts(std::string_view accept, std::string_view media) {
  return accept.find(media) != std::string_view::npos;
}

}  // namespace

std::string make_reference_id() {
  unsigned char random[3];
  if (RAND_bytes(random, sizeof random) != 1) {
    std::random_device device;
    for (auto& byte : random) byte = static_cast<unsigned char>(device());
  }
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "GK-%04d%02d%02d-%02X%02X%02X", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, random[0], random[1], random[2]);
  return buffer;
}

std::string reply_message(const ReplyContent& content) {
  return message_in(content, true) + "\n" + message_in(content, false);
}

LocalReply make_local_reply(extract::ReplyFamily family, std::string_view accept,
                            const ReplyContent& content) {
  using extract::ReplyFamily;
  LocalReply reply;
  const bool too_large = content.reason == ReplyReason::TooLarge;
  const int status = too_large ? 413 : 403;
  const std::string message = reply_message(content);
  const bool api = family == ReplyFamily::OpenAi || family == ReplyFamily::Anthropic ||
                   family == ReplyFamily::Gemini;
  std::string content_type = "application/json; charset=utf-8";
  reply.status = status;

  if (!api && accepts(accept, "text/event-stream")) {
    // Streaming web clients render an answer, not an HTTP error: reply 200 with one event.
    reply.status = 200;
    content_type = "text/event-stream; charset=utf-8";
    if (family == ReplyFamily::ChatGptWeb) {
      json event = {
          {"message",
           {{"id", "gatekeeper-" + content.reference},
            {"author", {{"role", "assistant"}, {"name", nullptr}, {"metadata", json::object()}}},
            {"create_time", static_cast<double>(std::time(nullptr))},
            {"content", {{"content_type", "text"}, {"parts", json::array({message})}}},
            {"status", "finished_successfully"},
            {"end_turn", true},
            {"weight", 1.0},
            {"metadata", json::object()},
            {"recipient", "all"}}},
          {"conversation_id", nullptr},
          {"error", nullptr}};
      reply.body = sse_event("", event) + "data: [DONE]\n\n";
    } else if (family == ReplyFamily::ClaudeWeb) {
      reply.body =
          sse_event("message_start", {{"type", "message_start"},
                                      {"message",
                                       {{"id", "gatekeeper-" + content.reference},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"content", json::array()}}}}) +
          sse_event("content_block_start", {{"type", "content_block_start"},
                                            {"index", 0},
                                            {"content_block", {{"type", "text"}, {"text", ""}}}}) +
          sse_event("content_block_delta",
                    {{"type", "content_block_delta"},
                     {"index", 0},
                     {"delta", {{"type", "text_delta"}, {"text", message}}}}) +
          sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}) +
          sse_event("message_delta",
                    {{"type", "message_delta"},
                     {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}}}) +
          sse_event("message_stop", {{"type", "message_stop"}});
    } else {
      reply.body = sse_event("", {{"error",
                                   {{"message", message},
                                    {"type", "gatekeeper_blocked"},
                                    {"reference", content.reference}}}});
    }
  } else if (!api && accepts(accept, "text/html")) {
    content_type = "text/html; charset=utf-8";
    reply.body =
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<title>Gatekeeper</title></head><body>\n<h1>Gatekeeper</h1>\n<pre>" +
        html_escape(message) + "</pre>\n" +
        (content.report_url.empty()
             ? std::string()
             : "<p><a href=\"" + html_escape(content.report_url) +
                   "\">Signaler un faux positif / Report a false positive</a></p>\n") +
        "</body></html>\n";
  } else if (family == ReplyFamily::Anthropic) {
    reply.body = dump(
        {{"type", "error"},
         {"error",
          {{"type", too_large ? "request_too_large" : "permission_error"}, {"message", message}}}});
  } else if (family == ReplyFamily::Gemini) {
    reply.body = dump({{"error",
                        {{"code", status},
                         {"message", message},
                         {"status", too_large ? "INVALID_ARGUMENT" : "PERMISSION_DENIED"}}}});
  } else {
    reply.body = dump({{"error",
                        {{"message", message},
                         {"type", "gatekeeper_blocked"},
                         {"code", too_large ? "request_too_large" : "blocked_by_policy"},
                         {"param", nullptr}}}});
  }
  reply.headers = {{"Content-Type", content_type},
                   {"Cache-Control", "no-store"},
                   {"X-Gatekeeper-Reference", content.reference}};
  return reply;
}

}  // namespace gatekeeper::http
