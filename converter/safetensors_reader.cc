#include "converter/safetensors_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "converter/error.h"
#include "converter/file_io.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

struct DTypeInfo {
  const char* name;
  TensorDType dtype;
  uint64_t size;
};
constexpr DTypeInfo kDTypes[] = {{"F64", TensorDType::kF64, 8},
                                 {"F32", TensorDType::kF32, 4},
                                 {"F16", TensorDType::kF16, 2},
                                 {"BF16", TensorDType::kBF16, 2},
                                 {"I64", TensorDType::kI64, 8}};

uint64_t LoadLittleEndian(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

double HalfToDouble(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) {
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  }
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

double Decode(const uint8_t* p, TensorDType dtype) {
  switch (dtype) {
    case TensorDType::kF64: {
      const uint64_t bits = LoadLittleEndian(p, 8);
      double v;
      std::memcpy(&v, &bits, 8);
      return v;
    }
    case TensorDType::kF32: {
      const auto bits = static_cast<uint32_t>(LoadLittleEndian(p, 4));
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    }
    case TensorDType::kF16:
      return HalfToDouble(static_cast<uint16_t>(LoadLittleEndian(p, 2)));
    case TensorDType::kBF16: {
      const auto bits = static_cast<uint32_t>(LoadLittleEndian(p, 2)) << 16;
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    }
    case TensorDType::kI64:
      return static_cast<double>(static_cast<int64_t>(LoadLittleEndian(p, 8)));
    default:  // the torch-only integer types never reach the safetensors reader
      break;
  }
  return 0.0;
}

// nlohmann keeps the last of duplicate keys silently; a checkpoint whose
// header names a tensor twice is ambiguous, so refuse it.
Json ParseHeaderJson(const uint8_t* begin, const uint8_t* end) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(begin, end, callback);
  } catch (const Json::exception& e) {
    throw ConvertError(std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) throw ConvertError("header names \"" + duplicate + "\" twice");
  if (!header.is_object()) throw ConvertError("header is not a JSON object");
  return header;
}

struct Entry {
  uint64_t begin;
  uint64_t end;
  std::string name;
  const DTypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t count;
};

Entry ParseEntry(const std::string& name, const Json& info, uint64_t data_size) {
  const std::string where = "tensor \"" + name + "\": ";
  if (name.empty()) throw ConvertError("header has a tensor with an empty name");
  if (!info.is_object() || info.size() != 3 || !info.contains("dtype") || !info.contains("shape") ||
      !info.contains("data_offsets")) {
    throw ConvertError(where + "entry must have exactly dtype, shape and data_offsets, got " +
                       info.dump());
  }
  Entry entry{0, 0, name, nullptr, {}, 1};
  const Json& dtype = info["dtype"];
  if (!dtype.is_string()) throw ConvertError(where + "dtype is not a string: " + dtype.dump());
  for (const DTypeInfo& candidate : kDTypes) {
    if (dtype.get<std::string>() == candidate.name) entry.dtype = &candidate;
  }
  if (entry.dtype == nullptr) {
    throw ConvertError(where + "unsupported dtype " + dtype.get<std::string>() +
                       " (supported: F64, F32, F16, BF16; I64 for counters)");
  }
  const Json& shape = info["shape"];
  if (!shape.is_array()) throw ConvertError(where + "shape is not an array: " + shape.dump());
  for (const Json& dim : shape) {
    if (!dim.is_number_unsigned()) {
      throw ConvertError(where + "shape " + shape.dump() + " has a dimension that is not a " +
                         "non-negative integer");
    }
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX) ||
        __builtin_mul_overflow(entry.count, d, &entry.count)) {
      throw ConvertError(where + "shape " + shape.dump() + " overflows 64 bits");
    }
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(entry.count, entry.dtype->size, &bytes)) {
    throw ConvertError(where + "shape " + shape.dump() + " overflows 64 bits in bytes");
  }
  const Json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw ConvertError(where + "data_offsets must be two non-negative integers, got " +
                       offsets.dump());
  }
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.begin > entry.end || entry.end > data_size) {
    throw ConvertError(where + "data_offsets [" + std::to_string(entry.begin) + ", " +
                       std::to_string(entry.end) + "] outside the " + std::to_string(data_size) +
                       "-byte data section");
  }
  if (entry.end - entry.begin != bytes) {
    throw ConvertError(where + "data_offsets span " + std::to_string(entry.end - entry.begin) +
                       " bytes, but shape " + shape.dump() + " of " + entry.dtype->name +
                       " needs " + std::to_string(bytes));
  }
  return entry;
}

std::map<std::string, std::string> ParseMetadata(const Json& metadata) {
  std::map<std::string, std::string> result;
  if (metadata.is_null()) return result;
  if (!metadata.is_object()) throw ConvertError("__metadata__ is not an object");
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) throw ConvertError("__metadata__." + key + " is not a string");
    result[key] = value.get<std::string>();
  }
  return result;
}

}  // namespace

const char* ToString(TensorDType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info.name;
  }
  switch (dtype) {
    case TensorDType::kI32: return "I32";
    case TensorDType::kI16: return "I16";
    case TensorDType::kI8: return "I8";
    case TensorDType::kU8: return "U8";
    case TensorDType::kBool: return "BOOL";
    default: return "?";
  }
}

bool IsFloating(TensorDType dtype) {
  return dtype == TensorDType::kF64 || dtype == TensorDType::kF32 || dtype == TensorDType::kF16 ||
         dtype == TensorDType::kBF16;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

SafetensorsFile ParseSafetensors(const uint8_t* data, size_t size) {
  if (size < 8) {
    throw ConvertError("file of " + std::to_string(size) +
                       " bytes is too short for the 8-byte header length");
  }
  const uint64_t header_size = LoadLittleEndian(data, 8);
  if (header_size > kMaxSafetensorsHeaderBytes || header_size > size - 8) {
    throw ConvertError("header length " + std::to_string(header_size) + " does not fit the " +
                       std::to_string(size) + "-byte file");
  }
  const Json header = ParseHeaderJson(data + 8, data + 8 + header_size);
  const uint8_t* body = data + 8 + header_size;
  const uint64_t body_size = size - 8 - header_size;

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      file.metadata = ParseMetadata(info);
    } else {
      entries.push_back(ParseEntry(name, info, body_size));
    }
  }

  std::vector<const Entry*> by_offset;
  by_offset.reserve(entries.size());
  for (const Entry& entry : entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  uint64_t position = 0;
  for (const Entry* entry : by_offset) {
    if (entry->begin != position) {
      throw ConvertError("tensor \"" + entry->name + "\": data starts at " +
                         std::to_string(entry->begin) + ", expected " + std::to_string(position) +
                         (entry->begin < position ? " (overlaps the previous tensor)"
                                                  : " (gap after the previous tensor)"));
    }
    position = entry->end;
  }
  if (position != body_size) {
    throw ConvertError("data section has " + std::to_string(body_size - position) +
                       " trailing bytes after the last tensor");
  }

  for (const Entry& entry : entries) {
    CheckpointTensor tensor;
    tensor.dtype = entry.dtype->dtype;
    tensor.shape = entry.shape;
    tensor.values.resize(entry.count);
    const uint8_t* p = body + entry.begin;
    for (uint64_t i = 0; i < entry.count; ++i, p += entry.dtype->size) {
      tensor.values[i] = Decode(p, tensor.dtype);
    }
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

SafetensorsFile ReadSafetensors(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  try {
    return ParseSafetensors(bytes.data(), bytes.size());
  } catch (const ConvertError& e) {
    throw ConvertError(path + ": " + e.what());
  }
}

}  // namespace diffpool::converter
