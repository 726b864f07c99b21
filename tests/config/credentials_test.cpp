#include "gatekeeper/config/settings.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include <memory>

namespace gatekeeper::config {
namespace {

// Hashes a password the way htpasswd or mkpasswd would, with a fresh random salt.
std::string make_hash(const char* prefix, const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // Low costs keep the test quick; the scheme is what is being exercised.
  const unsigned long cost = std::string_view(prefix).starts_with("$2") ? 4 : 0;
  if (crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting) == nullptr) return {};
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting, data.get());
  return hash != nullptr && hash[0] != '*' ? std::string(hash) : std::string();
}

TEST(Credentials, VerifiesEverySupportedScheme) {
  for (const char* prefix : {"$2b$", "$6$", "$y$"}) {
    const std::string hash = make_hash(prefix, "correct horse");
    ASSERT_FALSE(hash.empty()) << prefix;
    Diagnostics diagnostics;
    auto credentials = Credentials::parse("# users\n\nalice:" + hash + "\n", "users", diagnostics);
    ASSERT_TRUE(credentials) << prefix;
    EXPECT_TRUE(diagnostics.empty());
    EXPECT_TRUE((*credentials)->verify("alice", "correct horse")) << prefix;
    EXPECT_FALSE((*credentials)->verify("alice", "correct horsE")) << prefix;
    EXPECT_FALSE((*credentials)->verify("alice", "")) << prefix;
    EXPECT_FALSE((*credentials)->verify("bob", "correct horse")) << prefix;
  }
}

TEST(Credentials, RemembersSuccessOnlyForTheExactPassword) {
  const std::string hash = make_hash("$2b$", "s3cret");
  Diagnostics diagnostics;
  auto credentials = Credentials::parse("dave:" + hash + "\n", "users", diagnostics);
  ASSERT_TRUE(credentials);
  EXPECT_FALSE((*credentials)->verify("dave", "s3cre"));
  EXPECT_TRUE((*credentials)->verify("dave", "s3cret"));
  EXPECT_TRUE((*credentials)->verify("dave", "s3cret"));   // from the remembered digest
  EXPECT_FALSE((*credentials)->verify("dave", "s3cret "));
  EXPECT_FALSE((*credentials)->verify("dave2", "s3cret"));
  // A fresh object (a reload) starts with nothing remembered and still verifies.
  auto reloaded = Credentials::parse("dave:" + hash + "\n", "users", diagnostics);
  ASSERT_TRUE(reloaded);
  EXPECT_TRUE((*reloaded)->verify("dave", "s3cret"));
}

TEST(Credentials, AcceptsApacheBcryptPrefix) {
  std::string hash = make_hash("$2b$", "pw");
  ASSERT_FALSE(hash.empty());
  hash[2] = 'y';  // htpasswd -B writes $2y$, which is the same algorithm
  Diagnostics diagnostics;
  auto credentials = Credentials::parse("carol:" + hash + "\r\n", "users", diagnostics);
  ASSERT_TRUE(credentials);
  EXPECT_TRUE((*credentials)->verify("carol", "pw"));
}

TEST(Credentials, RejectsWeakOrPlainEntriesWithoutEchoingThem) {
  const std::string good = make_hash("$6$", "pw");
  const std::string text = "ok:" + good + "\n" +
                           "plain:hunter2secret\n"
                           "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
                           "md5:$apr1$abcdefgh$0123456789abcdefghijkl\n"
                           "broken:$6$\n"
                           "no colon here\n";
  Diagnostics diagnostics;
  auto credentials = Credentials::parse(text, "users", diagnostics);
  EXPECT_FALSE(credentials);
  EXPECT_EQ(credentials.error(), make_error_code(Errc::ConfigInvalid));
  ASSERT_EQ(diagnostics.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(diagnostics[i].line, i + 2);
    EXPECT_EQ(diagnostics[i].message.find("hunter2secret"), std::string::npos);
    EXPECT_EQ(diagnostics[i].message.find("W6ph5"), std::string::npos);
  }
  EXPECT_NE(diagnostics[0].message.find("not hashed"), std::string::npos);
}

TEST(Credentials, EmptyFileIsAnError) {
  Diagnostics diagnostics;
  EXPECT_FALSE(Credentials::parse("# nobody yet\n", "users", diagnostics));
  EXPECT_EQ(diagnostics.size(), 1u);
}

TEST(Credentials, DuplicateUserIsAnError) {
  const std::string hash = make_hash("$6$", "pw");
  Diagnostics diagnostics;
  EXPECT_FALSE(Credentials::parse("a:" + hash + "\na:" + hash + "\n", "users", diagnostics));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].line, 2);
}

TEST(Credentials, MissingFileIsConfigNotFound) {
  Diagnostics diagnostics;
  auto credentials = Credentials::load("/nonexistent/htpasswd", diagnostics);
  EXPECT_EQ(credentials.error(), make_error_code(Errc::ConfigNotFound));
}

}  // namespace
}  // namespace gatekeeper::config
