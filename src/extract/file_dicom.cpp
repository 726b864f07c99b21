// DICOM (PS3.10 files): the patient, study and institution attributes as text. The file itself is
// reported as a medical image, which the policy treats as patient data.
#include <algorithm>
#include <array>
#include <cstdint>

#include "gatekeeper/extract/file_extractor.hpp"

namespace gatekeeper::extract {
namespace {

constexpr std::size_t kPreamble = 128;
constexpr std::uint32_t kUndefinedLength = 0xFFFFFFFF;

struct KnownTag {
  std::uint16_t group;
  std::uint16_t element;
  std::string_view name;
};

// Attributes that identify a person, a place or a study (PS3.6 names).
constexpr std::array<KnownTag, 32> kKnownTags = {{
    {0x0008, 0x0020, "StudyDate"},
    {0x0008, 0x0021, "SeriesDate"},
    {0x0008, 0x0022, "AcquisitionDate"},
    {0x0008, 0x0023, "ContentDate"},
    {0x0008, 0x0030, "StudyTime"},
    {0x0008, 0x0050, "AccessionNumber"},
    {0x0008, 0x0060, "Modality"},
    {0x0008, 0x0080, "InstitutionName"},
    {0x0008, 0x0081, "InstitutionAddress"},
    {0x0008, 0x0090, "ReferringPhysicianName"},
    {0x0008, 0x1010, "StationName"},
    {0x0008, 0x1030, "StudyDescription"},
    {0x0008, 0x103E, "SeriesDescription"},
    {0x0008, 0x1040, "InstitutionalDepartmentName"},
    {0x0008, 0x1048, "PhysiciansOfRecord"},
    {0x0008, 0x1050, "PerformingPhysicianName"},
    {0x0008, 0x1060, "NameOfPhysiciansReadingStudy"},
    {0x0008, 0x1070, "OperatorsName"},
    {0x0010, 0x0010, "PatientName"},
    {0x0010, 0x0020, "PatientID"},
    {0x0010, 0x0021, "IssuerOfPatientID"},
    {0x0010, 0x0030, "PatientBirthDate"},
    {0x0010, 0x0040, "PatientSex"},
    {0x0010, 0x1000, "OtherPatientIDs"},
    {0x0010, 0x1001, "OtherPatientNames"},
    {0x0010, 0x1010, "PatientAge"},
    {0x0010, 0x1040, "PatientAddress"},
    {0x0010, 0x2154, "PatientTelephoneNumbers"},
    {0x0010, 0x21B0, "AdditionalPatientHistory"},
    {0x0010, 0x4000, "PatientComments"},
    {0x0020, 0x0010, "StudyID"},
    {0x0032, 0x1032, "RequestingPhysician"},
}};

constexpr std::array<std::string_view, 15> kTextVrs = {
    "AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"};
// Explicit VRs whose length field is 4 bytes after 2 reserved bytes.
constexpr std::array<std::string_view, 13> kLongVrs = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                                       "SV", "UC", "UN", "UR", "UT", "UV"};

std::uint16_t u16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    (static_cast<unsigned char>(b[at + 1]) << 8));
}
std::uint32_t u32(std::string_view b, std::size_t at) {
  return u16(b, at) | (static_cast<std::uint32_t>(u16(b, at + 2)) << 16);
}

std::string hex4(std::uint16_t value) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out(4, '0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xF];
    value >>= 4;
  }
  return out;
}

std::string_view trim_value(std::string_view value) {
  while (!value.empty() && (value.back() == ' ' || value.back() == '\0')) value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

}  // namespace

Result<void> extract_dicom(std::string_view bytes, ExtractionBudget& budget, FileExtraction& out) {
  out.opaque.push_back({OpaqueKind::MedicalImage, "dicom", "file"});
  auto broken = [&] {
    return budget.malformed("DICOM: truncated or corrupt header",
                            "DICOM : en-tête tronqué ou corrompu");
  };
  std::size_t at = kPreamble + 4;
  bool explicit_vr = true;  // the file meta group is always explicit VR little endian
  bool meta = true;
  std::string text;
  while (at + 8 <= bytes.size()) {
    const std::uint16_t group = u16(bytes, at);
    const std::uint16_t element = u16(bytes, at + 2);
    if (meta && group != 0x0002) meta = false;
    if (group == 0x7FE0) break;  // pixel data: nothing textual follows that matters
    if (group == 0xFFFE) {       // item and delimiters carry no VR: step into them
      at += 8;
      continue;
    }
    std::string_view vr;
    std::uint32_t length = 0;
    std::size_t value_at = 0;
    if (meta || explicit_vr) {
      vr = bytes.substr(at + 4, 2);
      if (std::find(kLongVrs.begin(), kLongVrs.end(), vr) != kLongVrs.end()) {
        if (at + 12 > bytes.size()) return broken();
        length = u32(bytes, at + 8);
        value_at = at + 12;
      } else {
        length = u16(bytes, at + 6);
        value_at = at + 8;
      }
    } else {
      length = u32(bytes, at + 4);
      value_at = at + 8;
    }
    if (vr == "SQ" || length == kUndefinedLength) {
      at = value_at;  // sequences are flattened: their items' attributes are read in turn
      continue;
    }
    if (value_at + length > bytes.size()) return broken();
    const std::string_view value = bytes.substr(value_at, length);
    if (meta && group == 0x0002 && element == 0x0010) {
      const std::string_view syntax = trim_value(value);
      explicit_vr = syntax != "1.2.840.10008.1.2";  // implicit VR little endian
      if (syntax == "1.2.840.10008.1.2.1.99" || syntax == "1.2.840.10008.1.2.2") {
        // Deflated or big-endian data sets: the attributes are not read, the file is still
        // reported as a medical image.
        break;
      }
    }
    const auto known = std::find_if(kKnownTags.begin(), kKnownTags.end(), [&](const KnownTag& t) {
      return t.group == group && t.element == element;
    });
    const bool textual =
        known != kKnownTags.end() ||
        (!vr.empty() && std::find(kTextVrs.begin(), kTextVrs.end(), vr) != kTextVrs.end());
    if (!meta && textual && !trim_value(value).empty()) {
      text += "(" + hex4(group) + "," + hex4(element) + ")";
      if (known != kKnownTags.end()) text += " " + std::string(known->name);
      text += ": ";
      text += trim_value(value);
      text += '\n';
    }
    at = value_at + length;
  }
  if (auto ok = budget.add_decoded(text.size()); !ok) return ok;
  if (!text.empty()) out.texts.push_back({std::move(text), "attributes"});
  return {};
}

}  // namespace gatekeeper::extract
