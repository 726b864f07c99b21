#include "gatekeeper/admin/ca_command.hpp"

#include "gatekeeper/tls/certificate_authority.hpp"
#include "support/tls_test_support.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace gatekeeper::admin {
namespace {

using test_support::TempDir;

struct CommandRun {
  int exit_code;
  std::string out;
  std::string err;
};

CommandRun run(const Args& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_ca_command(args, out, err);
  return {code, out.str(), err.str()};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(CaCommandTest, InitCreatesTheCaThenKeepsIt) {
  TempDir dir;
  const auto data = dir.path() / "data";
  CommandRun first = run({"init", "--data-dir", data.string()});
  ASSERT_EQ(first.exit_code, kExitOk) << first.err;
  EXPECT_NE(first.out.find("Created a new CA"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((data / tls::kCaKeyFileName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string pem = read_file(data / tls::kCaCertFileName);

  CommandRun second = run({"init", "--data-dir=" + data.string()});
  ASSERT_EQ(second.exit_code, kExitOk) << second.err;
  EXPECT_NE(second.out.find("already exists"), std::string::npos);
  EXPECT_EQ(read_file(data / tls::kCaCertFileName), pem);

  CommandRun forced = run({"init", "--data-dir", data.string(), "--force"});
  ASSERT_EQ(forced.exit_code, kExitOk) << forced.err;
  EXPECT_NE(read_file(data / tls::kCaCertFileName), pem);
}

TEST(CaCommandTest, ConfigFileNamesTheDataDirectoryLikeRunDoes) {
  TempDir dir;
  const auto config = dir.path() / "gatekeeper.yaml";
  std::ofstream(config) << "data_dir: state\n";
  CommandRun exported = run({"export", "--config", config.string()});
  ASSERT_EQ(exported.exit_code, kExitOk) << exported.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "state" / tls::kCaCertFileName));
  EXPECT_EQ(read_file(dir.path() / "state" / tls::kCaCertFileName), exported.out);

  // --data-dir wins over the configuration file.
  CommandRun direct = run({"init", "--config", config.string(), "--data-dir",
                           (dir.path() / "elsewhere").string()});
  ASSERT_EQ(direct.exit_code, kExitOk) << direct.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "elsewhere" / tls::kCaCertFileName));

  std::ofstream(config) << "data_dri: state\n";
  CommandRun broken = run({"export", "--config=" + config.string()});
  EXPECT_EQ(broken.exit_code, kExitInvalidRules);
  EXPECT_NE(broken.err.find("gatekeeper.yaml:1:1"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("did you mean 'data_dir'"), std::string::npos) << broken.err;
}

TEST(CaCommandTest, ExportPrintsOnlyThePemAndCreatesOnFirstUse) {
  TempDir dir;
  CommandRun exported = run({"export", "--data-dir", dir.path().string()});
  ASSERT_EQ(exported.exit_code, kExitOk) << exported.err;
  EXPECT_NE(exported.err.find("created one"), std::string::npos);
  EXPECT_EQ(exported.out, read_file(dir.path() / tls::kCaCertFileName));
  BIO* bio = BIO_new_mem_buf(exported.out.data(), static_cast<int>(exported.out.size()));
  tls::X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);

  CommandRun again = run({"export", "--data-dir", dir.path().string()});
  ASSERT_EQ(again.exit_code, kExitOk);
  EXPECT_EQ(again.err, "");
  EXPECT_EQ(again.out, exported.out);
}

TEST(CaCommandTest, UnusableCaFailsWithTheFileNamed) {
  TempDir dir;
  ASSERT_EQ(run({"init", "--data-dir", dir.path().string()}).exit_code, kExitOk);
  std::ofstream(dir.path() / tls::kCaKeyFileName, std::ios::trunc) << "garbage";
  CommandRun exported = run({"export", "--data-dir", dir.path().string()});
  EXPECT_EQ(exported.exit_code, kExitFailure);
  EXPECT_EQ(exported.out, "");
  EXPECT_NE(exported.err.find(tls::kCaKeyFileName), std::string::npos);
  CommandRun init = run({"init", "--data-dir", dir.path().string()});
  EXPECT_EQ(init.exit_code, kExitFailure);
  EXPECT_NE(init.err.find("--force"), std::string::npos);
}

TEST(CaCommandTest, BadUsageExitsWithTwo) {
  EXPECT_EQ(run({}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({"rotate"}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({"export", "--force"}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({"init", "--data-dir"}).exit_code, kExitInvalidRules);
  EXPECT_EQ(run({"--help"}).exit_code, kExitOk);
}

}  // namespace
}  // namespace gatekeeper::admin
