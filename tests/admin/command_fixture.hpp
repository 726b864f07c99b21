#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace gatekeeper::admin::testing {

// A fresh directory under the system temp dir, removed with the fixture.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gatekeeper-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& relative, const std::string& content) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// A small rule pack written for the command tests, independent of the shipped rules/.
// 184127512345640 is a NIR with a valid key (97 - 1841275123456 mod 97 = 40).
inline constexpr const char* kTestRules = R"yaml(
category: secret
rules:
  - id: test_api_key
    version: "1"
    description: Clé d'API de test.
    severity: high
    placeholder: SECRET
    case_sensitive: true
    patterns:
      - name: sk_key
        regex: '\b(sk-[A-Za-z0-9]{16,})\b'
        score: 0.9
    examples:
      match:
        - "export KEY=sk-abcdefghijklmnop1234"
      no_match:
        - "sk-short"
  - id: test_nir
    version: "1"
    category: health_identifier
    description: NIR de test.
    severity: critical
    placeholder: NIR
    patterns:
      - name: nir_compact
        regex: '\b([12][0-9]{14})\b'
        score: 0.5
    validator: nir
    examples:
      match:
        - "NIR 184127512345640"
      no_match:
        - "NIR 184127512345641"
  - id: test_confidential
    version: "1"
    category: confidential
    description: Mention de confidentialité de test.
    severity: high
    case_sensitive: true
    patterns:
      - name: stamp
        regex: '\b(CONFIDENTIEL)\b'
        score: 0.9
    examples:
      match:
        - "Document CONFIDENTIEL"
)yaml";

}  // namespace gatekeeper::admin::testing
