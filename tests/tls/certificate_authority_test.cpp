#include "gatekeeper/tls/certificate_authority.hpp"

#include "support/tls_test_support.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <set>

namespace gatekeeper::tls {
namespace {

using test_support::TempDir;

mode_t file_mode(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string subject_entry(X509* cert, int nid) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid, buffer, sizeof(buffer));
  return buffer;
}

bool extension_is_critical(X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

// Verifies `leaf` against `ca` as a TLS server certificate (chain, purpose, validity).
int verify_server_leaf(X509* ca, X509* leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  const int ok = X509_verify_cert(ctx);
  const int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (error == X509_V_OK ? -1 : error);
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  std::shared_ptr<CertificateAuthority> make_ca() {
    Diagnostics diagnostics;
    auto ca = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
    EXPECT_TRUE(diagnostics.empty()) << diagnostics.front().to_string();
    EXPECT_TRUE(ca.has_value());
    return ca ? *ca : nullptr;
  }
  std::filesystem::path cert_path() const { return dir_.path() / kCaCertFileName; }
  std::filesystem::path key_path() const { return dir_.path() / kCaKeyFileName; }

  TempDir dir_;
};

TEST_F(CertificateAuthorityTest, FirstRunCreatesKeyWithMode0600EvenUnderAPermissiveUmask) {
  const mode_t previous = ::umask(0);
  auto ca = CertificateAuthority::load_or_create(dir_.path() / "nested" / "data");
  ::umask(previous);
  ASSERT_TRUE(ca.has_value());
  EXPECT_TRUE((*ca)->created());
  EXPECT_EQ(file_mode(dir_.path() / "nested" / "data" / kCaKeyFileName), 0600u);
  EXPECT_EQ(file_mode(dir_.path() / "nested" / "data" / kCaCertFileName), 0644u);
  // No temporary file is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(dir_.path() / "nested" / "data")) {
    ++files;
  }
  EXPECT_EQ(files, 2u);
}

TEST_F(CertificateAuthorityTest, CaCertificateHasTheRequiredProfile) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  X509* cert = ca->certificate();
  EXPECT_EQ(subject_entry(cert, NID_organizationName), "gatekeeper");
  const std::string cn = subject_entry(cert, NID_commonName);
  EXPECT_EQ(cn.rfind("gatekeeper local CA (", 0), 0u) << cn;
  EXPECT_EQ(cn.back(), ')');
  EXPECT_LE(cn.size(), 64u);
  EXPECT_EQ(X509_check_ca(cert), 1);
  EXPECT_EQ(X509_get_pathlen(cert), 0);
  EXPECT_TRUE(extension_is_critical(cert, NID_basic_constraints));
  EXPECT_TRUE(extension_is_critical(cert, NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  ASSERT_NE(X509_get0_subject_key_id(cert), nullptr);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);

  EVP_PKEY* key = X509_get0_pubkey(cert);
  char group[64] = {};
  size_t group_length = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof(group), &group_length), 1);
  EXPECT_STREQ(group, "prime256v1");

  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)),
            1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3653);

  // Random serial, positive.
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  EXPECT_FALSE(BN_is_negative(serial));
  EXPECT_GT(BN_num_bits(serial), 64);
  BN_free(serial);
}

TEST_F(CertificateAuthorityTest, ReloadGivesTheSameCertificateAndAFreshLeafKey) {
  auto first = make_ca();
  ASSERT_TRUE(first);
  const std::string pem_on_disk = read_file(cert_path());
  auto second = CertificateAuthority::load_or_create(dir_.path());
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE((*second)->created());
  EXPECT_EQ(X509_cmp(first->certificate(), (*second)->certificate()), 0);
  EXPECT_EQ((*second)->certificate_pem(), pem_on_disk);
  EXPECT_EQ((*second)->fingerprint_sha256(), first->fingerprint_sha256());
  EXPECT_EQ(first->fingerprint_sha256().size(), 32u * 3 - 1);
  // The leaf key is per process (start-up), never stored.
  EXPECT_NE(EVP_PKEY_eq(first->leaf_key(), (*second)->leaf_key()), 1);
  // A leaf minted by the reloaded CA verifies against the original certificate.
  auto leaf = (*second)->mint_leaf("claude.ai");
  ASSERT_TRUE(leaf.has_value());
  EXPECT_EQ(verify_server_leaf(first->certificate(), leaf->get()), X509_V_OK);
}

TEST_F(CertificateAuthorityTest, CorruptedKeyFileIsAClearErrorAndIsNotReplaced) {
  ASSERT_TRUE(make_ca());
  {
    std::ofstream out(key_path(), std::ios::binary | std::ios::trunc);
    out << "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n";
  }
  Diagnostics diagnostics;
  auto ca = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
  ASSERT_FALSE(ca.has_value());
  EXPECT_EQ(ca.error(), Errc::TlsSetupFailed);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, key_path().string());
  EXPECT_NE(diagnostics[0].message.find("private key"), std::string::npos)
      << diagnostics[0].message;
  EXPECT_NE(diagnostics[0].message.find("ca init --force"), std::string::npos);
  EXPECT_NE(read_file(key_path()).find("not base64"), std::string::npos);
}

TEST_F(CertificateAuthorityTest, CorruptedCertificateIsAClearError) {
  ASSERT_TRUE(make_ca());
  std::ofstream(cert_path(), std::ios::trunc) << "garbage\n";
  Diagnostics diagnostics;
  auto ca = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
  ASSERT_FALSE(ca.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, cert_path().string());
  EXPECT_NE(diagnostics[0].message.find("certificate"), std::string::npos);
}

TEST_F(CertificateAuthorityTest, KeyOfAnotherCaIsRejected) {
  ASSERT_TRUE(make_ca());
  TempDir other;
  ASSERT_TRUE(CertificateAuthority::load_or_create(other.path()).has_value());
  std::filesystem::copy_file(other.path() / kCaKeyFileName, key_path(),
                             std::filesystem::copy_options::overwrite_existing);
  Diagnostics diagnostics;
  auto ca = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
  ASSERT_FALSE(ca.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_NE(diagnostics[0].message.find("does not belong"), std::string::npos);
}

TEST_F(CertificateAuthorityTest, LoneCertificateIsAnErrorNotASilentNewCa) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  const std::string pem = read_file(cert_path());
  std::filesystem::remove(key_path());
  Diagnostics diagnostics;
  auto reloaded = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
  ASSERT_FALSE(reloaded.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].file, key_path().string());
  EXPECT_FALSE(std::filesystem::exists(key_path()));
  EXPECT_EQ(read_file(cert_path()), pem);
}

TEST_F(CertificateAuthorityTest, GroupReadableKeyLoadsWithAWarning) {
  ASSERT_TRUE(make_ca());
  ASSERT_EQ(::chmod(key_path().c_str(), 0640), 0);
  Diagnostics diagnostics;
  auto ca = CertificateAuthority::load_or_create(dir_.path(), &diagnostics);
  ASSERT_TRUE(ca.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].severity, Diagnostic::Severity::Warning);
  EXPECT_FALSE(has_errors(diagnostics));
}

TEST_F(CertificateAuthorityTest, CreateRefusesToReplaceWithoutForce) {
  auto first = make_ca();
  ASSERT_TRUE(first);
  Diagnostics diagnostics;
  auto again = CertificateAuthority::create(dir_.path(), false, &diagnostics);
  ASSERT_FALSE(again.has_value());
  EXPECT_TRUE(has_errors(diagnostics));

  auto replaced = CertificateAuthority::create(dir_.path(), true);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_TRUE((*replaced)->created());
  EXPECT_NE((*replaced)->fingerprint_sha256(), first->fingerprint_sha256());
  EXPECT_EQ(file_mode(key_path()), 0600u);
  auto reloaded = CertificateAuthority::load_or_create(dir_.path());
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ((*reloaded)->fingerprint_sha256(), (*replaced)->fingerprint_sha256());
}

TEST_F(CertificateAuthorityTest, LeafVerifiesForItsDnsNameOnly) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  auto leaf = ca->mint_leaf("API.OpenAI.com.");
  ASSERT_TRUE(leaf.has_value());
  X509* cert = leaf->get();
  EXPECT_EQ(verify_server_leaf(ca->certificate(), cert), X509_V_OK);
  EXPECT_EQ(X509_check_host(cert, "api.openai.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "chatgpt.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_host(cert, "evil.openai.com", 0, 0, nullptr), 0);
  EXPECT_EQ(subject_entry(cert, NID_commonName), "api.openai.com");
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_check_ca(cert), 0);
  EXPECT_NE(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE, 0u);
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert), ca->leaf_key()), 1);
}

TEST_F(CertificateAuthorityTest, LeafForIpLiteralsCarriesAnIpSan) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  auto v4 = ca->mint_leaf("192.0.2.7");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(verify_server_leaf(ca->certificate(), v4->get()), X509_V_OK);
  EXPECT_EQ(X509_check_ip_asc(v4->get(), "192.0.2.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(v4->get(), "192.0.2.8", 0), 0);
  // The SAN is an IP entry, not a DNS one (browsers never fall back to the CN).
  EXPECT_EQ(X509_check_host(v4->get(), "192.0.2.7", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                            nullptr),
            0);

  auto v6 = ca->mint_leaf("[2001:DB8::1]");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(X509_check_ip_asc(v6->get(), "2001:db8::1", 0), 1);
}

TEST_F(CertificateAuthorityTest, AuthorityKeyIdIsTheCaSubjectKeyId) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  auto leaf = ca->mint_leaf("gemini.google.com");
  ASSERT_TRUE(leaf.has_value());
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf->get());
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca->certificate());
  ASSERT_NE(aki, nullptr);
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, ski), 0);
}

TEST_F(CertificateAuthorityTest, LeafValidityIsShortAndBackdatedOneHour) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  auto leaf = ca->mint_leaf("chat.mistral.ai");
  ASSERT_TRUE(leaf.has_value());
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf->get()),
                           X509_get0_notAfter(leaf->get())),
            1);
  EXPECT_EQ(days, 7);
  EXPECT_EQ(seconds, 3600);
  // notBefore is about an hour ago.
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf->get()), nullptr), 1);
  EXPECT_EQ(days, 0);
  EXPECT_GE(seconds, 3600);
  EXPECT_LT(seconds, 3700);
}

TEST_F(CertificateAuthorityTest, SerialsArePositiveAndUniqueOverAThousandMints) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  std::set<std::string> serials;
  for (int i = 0; i < 1000; ++i) {
    auto leaf = ca->mint_leaf("same.example.org");
    ASSERT_TRUE(leaf.has_value());
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf->get()), nullptr);
    ASSERT_NE(serial, nullptr);
    EXPECT_FALSE(BN_is_negative(serial));
    EXPECT_FALSE(BN_is_zero(serial));
    EXPECT_LE(BN_num_bytes(serial), 16);
    char* hex = BN_bn2hex(serial);
    serials.insert(hex);
    OPENSSL_free(hex);
    BN_free(serial);
  }
  EXPECT_EQ(serials.size(), 1000u);
}

TEST_F(CertificateAuthorityTest, LongHostNameTruncatesTheCommonNameButNotTheSan) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  const std::string host = std::string(63, 'a') + ".very-long-subdomain.example.com";
  auto leaf = ca->mint_leaf(host);
  ASSERT_TRUE(leaf.has_value());
  EXPECT_EQ(subject_entry(leaf->get(), NID_commonName), host.substr(0, 64));
  EXPECT_EQ(X509_check_host(leaf->get(), host.c_str(), host.size(), 0, nullptr), 1);
}

TEST_F(CertificateAuthorityTest, HostileOrInvalidNamesAreRefused) {
  auto ca = make_ca();
  ASSERT_TRUE(ca);
  for (std::string_view bad : {"", ".", "a..b", "chatgpt.com,DNS:evil.com", "evil.com/x",
                               "spa ce.com", "*.openai.com", "ex\xC3\xA9.fr"}) {
    auto leaf = ca->mint_leaf(bad);
    ASSERT_FALSE(leaf.has_value()) << bad;
    EXPECT_EQ(leaf.error(), Errc::TlsSetupFailed);
  }
  EXPECT_FALSE(ca->mint_leaf(std::string(64, 'a') + ".com").has_value());  // label > 63
  EXPECT_FALSE(ca->mint_leaf(std::string_view("a.com\0b.com", 11)).has_value());
}

TEST(NormalizeHostTest, CanonicalFormsAndLiterals) {
  EXPECT_EQ(normalize_host("Chat.OpenAI.com.").value(), "chat.openai.com");
  EXPECT_EQ(normalize_host("[::1]").value(), "::1");
  EXPECT_EQ(normalize_host("2001:DB8::A").value(), "2001:db8::a");
  EXPECT_EQ(normalize_host("127.0.0.1").value(), "127.0.0.1");
  EXPECT_TRUE(is_ip_literal("[2001:db8::1]"));
  EXPECT_TRUE(is_ip_literal("10.1.2.3"));
  EXPECT_FALSE(is_ip_literal("10.1.2"));
  EXPECT_FALSE(is_ip_literal("api.openai.com"));
  EXPECT_FALSE(normalize_host("[]").has_value());
}

}  // namespace
}  // namespace gatekeeper::tls
