#include "gatekeeper/config/settings.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace gatekeeper::config {
namespace {

// Salted, deliberately slow schemes only: bcrypt, sha512-crypt, yescrypt.
bool accepted_scheme(std::string_view hash) {
  return hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$6$") ||
         hash.starts_with("$y$");
}

std::string scheme_hint(std::string_view hash) {
  if (hash.starts_with("$apr1$") || hash.starts_with("$1$")) {
    return "MD5 password hashes are too weak";
  }
  if (hash.starts_with("{SHA}")) return "unsalted SHA-1 password hashes are too weak";
  if (hash.starts_with("$5$")) return "sha256-crypt is not accepted";
  if (!hash.starts_with("$")) return "the password is not hashed (or uses an unsalted DES hash)";
  return "unknown password hash scheme";
}

// crypt_r() of `password` with the settings of `hash`; empty on failure.
std::string crypt_with(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed as crypt_r requires
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  // libxcrypt signals failure with a string starting with '*' rather than null.
  if (out == nullptr || out[0] == '*') return {};
  return std::string(out);
}

}  // namespace

struct Credentials::VerifiedCache {
  static constexpr std::size_t kMaxEntries = 4096;
  std::array<unsigned char, 32> key{};
  std::mutex mutex;
  std::set<std::string> digests;  // HMAC(key, user \0 password \0 hash)

  std::string digest(std::string_view user, std::string_view password, std::string_view hash) const {
    std::string message;
    message.reserve(user.size() + password.size() + hash.size() + 2);
    message.append(user).append(1, '\0').append(password).append(1, '\0').append(hash);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
             &length) == nullptr) {
      return {};
    }
    OPENSSL_cleanse(message.data(), message.size());
    return std::string(reinterpret_cast<const char*>(out), length);
  }
};

std::shared_ptr<Credentials::VerifiedCache> Credentials::make_verified_cache() {
  auto cache = std::make_shared<VerifiedCache>();
  if (RAND_bytes(cache->key.data(), static_cast<int>(cache->key.size())) != 1) {
    return nullptr;  // no cache: every check runs crypt(3)
  }
  return cache;
}

bool Credentials::verify(std::string_view user, std::string_view password) const {
  if (users.empty()) return false;
  const std::pair<std::string, std::string>* found = nullptr;
  for (const auto& entry : users) {
    if (entry.first == user) found = &entry;
  }
  // An unknown user still costs one hash computation, so timing does not reveal which names exist.
  const std::string& hash = found != nullptr ? found->second : users.front().second;
  std::string digest;
  if (found != nullptr && verified_) {
    digest = verified_->digest(user, password, hash);
    std::lock_guard lock(verified_->mutex);
    if (!digest.empty() && verified_->digests.count(digest) != 0) return true;
  }
  const std::string computed = crypt_with(std::string(password), hash);
  const bool same = !computed.empty() && computed.size() == hash.size() &&
                    CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
  if (found == nullptr || !same) return false;
  if (verified_ && !digest.empty()) {
    std::lock_guard lock(verified_->mutex);
    if (verified_->digests.size() >= VerifiedCache::kMaxEntries) verified_->digests.clear();
    verified_->digests.insert(std::move(digest));
  }
  return true;
}

Result<std::shared_ptr<const Credentials>> Credentials::parse(std::string_view text,
                                                              const std::string& file_name,
                                                              Diagnostics& diagnostics) {
  auto credentials = std::make_shared<Credentials>();
  bool ok = true;
  int line_number = 0;
  auto fail = [&](std::string message) {
    Diagnostic d;
    d.file = file_name;
    d.line = line_number;
    d.column = 1;
    d.message = std::move(message);
    diagnostics.push_back(std::move(d));
    ok = false;
  };
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      fail("expected 'user:hash' (create entries with: htpasswd -B FILE USER)");
      continue;
    }
    std::string user = line.substr(0, colon);
    std::string hash = line.substr(colon + 1);
    // Never echo the hash (or a plain password someone pasted) into the diagnostic.
    if (!accepted_scheme(hash)) {
      fail("user '" + user + "': " + scheme_hint(hash) +
           "; use bcrypt (htpasswd -B), sha512-crypt or yescrypt");
      continue;
    }
    // A truncated or mangled hash makes crypt(3) fail or produce a string of another length.
    if (crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK ||
        crypt_with(std::string(), hash).size() != hash.size()) {
      fail("user '" + user + "': the password hash is malformed; recreate it with htpasswd -B");
      continue;
    }
    for (const auto& existing : credentials->users) {
      if (existing.first == user) fail("user '" + user + "' appears more than once");
    }
    credentials->users.emplace_back(std::move(user), std::move(hash));
  }
  if (!ok) return Errc::ConfigInvalid;
  if (credentials->users.empty()) {
    line_number = 0;
    fail("the password file has no user: every client would be refused");
    return Errc::ConfigInvalid;
  }
  return std::shared_ptr<const Credentials>(std::move(credentials));
}

Result<std::shared_ptr<const Credentials>> Credentials::load(const std::filesystem::path& file,
                                                             Diagnostics& diagnostics) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    Diagnostic d;
    d.file = file.string();
    d.message = "password file (htpasswd) not found";
    diagnostics.push_back(std::move(d));
    return Errc::ConfigNotFound;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    Diagnostic d;
    d.file = file.string();
    d.message = "password file (htpasswd) cannot be read";
    diagnostics.push_back(std::move(d));
    return Errc::ConfigUnreadable;
  }
  return parse(text.str(), file.string(), diagnostics);
}

}  // namespace gatekeeper::config
