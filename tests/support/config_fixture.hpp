#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace gatekeeper::test {

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

// A private copy of the shipped rules next to a configuration file that uses them, in a fresh
// temporary directory: tests may break and repair the copies without touching the repository.
//   <root>/config/gatekeeper.yaml, <root>/rules/*.yaml, <root>/data/
class ConfigFixture {
 public:
  explicit ConfigFixture(const std::string& extra_yaml = "") {
    namespace fs = std::filesystem;
    std::random_device random;
    root_ = fs::temp_directory_path() /
            ("gatekeeper-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    fs::create_directories(root_ / "config");
    const fs::path source(GATEKEEPER_SOURCE_DIR);
    fs::copy(source / "rules", root_ / "rules", fs::copy_options::recursive);
    write_text(config_file(),
               "listen: 127.0.0.1:0\n"
               "admin_listen: 127.0.0.1:0\n"
               "data_dir: ../data\n"
               "rules_dir: ../rules\n"
               "policy_file: " + (source / "config" / "policy.yaml").string() + "\n" +
               "platforms_file: " + (source / "config" / "platforms.yaml").string() + "\n" +
               extra_yaml);
  }
  ~ConfigFixture() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ConfigFixture(const ConfigFixture&) = delete;
  ConfigFixture& operator=(const ConfigFixture&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_file() const { return root_ / "config" / "gatekeeper.yaml"; }
  std::filesystem::path rules_dir() const { return root_ / "rules"; }
  std::filesystem::path data_dir() const { return root_ / "data"; }

  // The first rule file (by name), the one the tests break.
  std::filesystem::path first_rule_file() const {
    std::filesystem::path first;
    for (const auto& entry : std::filesystem::directory_iterator(rules_dir())) {
      if (entry.path().extension() == ".yaml" && (first.empty() || entry.path() < first)) {
        first = entry.path();
      }
    }
    return first;
  }

 private:
  std::filesystem::path root_;
};

}  // namespace gatekeeper::test
