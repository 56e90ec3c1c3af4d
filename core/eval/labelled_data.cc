#include "core/eval/labelled_data.h"

#include <fstream>
#include <sstream>

#include "core/openai/json.h"

namespace echoes::eval {

Result<std::string> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, "cannot open file", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Error(ErrorCode::kInvalidInput, "cannot read file", path.string());
  return std::move(buffer).str();
}

Result<std::vector<LabelledText>> parse_labelled_jsonl(std::string_view content,
                                                       std::string_view source_name,
                                                       std::string_view default_source) {
  openai::DecodeLimits limits;
  limits.max_depth = 32;
  limits.max_bytes = std::size_t{1} << 20;
  std::vector<LabelledText> rows;
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = std::string(source_name) + ":" + std::to_string(line_number);
    auto fail = [&](std::string message, std::string_view path) {
      return Error(ErrorCode::kInvalidInput, std::move(message), where + ": " + std::string(path));
    };
    Result<nlohmann::json> doc = openai::parse_json(line, limits);
    if (!doc) return fail(doc.error().message, doc.error().context);
    if (!doc->is_object()) return fail("expected a JSON object", "$");
    auto text = doc->find("text");
    if (text == doc->end() || !text->is_string()) return fail("expected a string", "text");
    auto label = doc->find("label");
    if (label == doc->end() || !label->is_number_integer() ||
        (label->get<std::int64_t>() != 0 && label->get<std::int64_t>() != 1)) {
      return fail("expected 0 or 1", "label");
    }
    LabelledText row;
    row.text = text->get<std::string>();
    row.label = static_cast<int>(label->get<std::int64_t>());
    auto source = doc->find("source");
    if (source != doc->end()) {
      if (!source->is_string()) return fail("expected a string", "source");
      row.source = source->get<std::string>();
    } else {
      row.source = std::string(default_source);
    }
    for (const auto& [key, value] : doc->items()) {
      if (key == "text" || key == "label" || key == "source") continue;
      if (value.is_string()) {
        row.fields.emplace(key, value.get<std::string>());
      } else if (value.is_number_integer()) {
        row.fields.emplace(key, std::to_string(value.get<std::int64_t>()));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<LabelledText>> read_labelled_jsonl(const std::filesystem::path& path) {
  Result<std::string> bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  return parse_labelled_jsonl(*bytes, path.string(), path.stem().string());
}

}  // namespace echoes::eval
