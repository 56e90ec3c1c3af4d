// Labelled texts in JSON Lines, the format of fixtures/datasets/ and of `echoes train --data`.
//
// One object a line: {"text": string, "label": 0 or 1, "source": string, ...}; other string and
// integer members are kept in `fields`, the rest ignored. A missing "source" defaults to the
// file's stem. Empty lines are skipped; CRLF is accepted.
//
//   Result<std::vector<LabelledText>> rows = read_labelled_jsonl("fixtures/datasets/gsm8k/data.jsonl");
//   if (!rows) return rows.error();   // context: "<file>:<line>: <JSON path>"
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace echoes::eval {

struct LabelledText {
  std::string text;
  int label = 0;  // 1 positive (the detector should flag it), 0 negative
  std::string source;
  // The line's other string and integer members, as text (e.g. Davidson's "class", a baseline's
  // prediction "baseline"): what an evaluation slices or compares by.
  std::map<std::string, std::string, std::less<>> fields;
};

// Errors: kInvalidInput naming the file, the line and the JSON path ("text", "label") or the
// byte offset of bad JSON; lines are limited to 1 MiB and 32 levels of nesting.
Result<std::vector<LabelledText>> parse_labelled_jsonl(std::string_view content,
                                                       std::string_view source_name,
                                                       std::string_view default_source);
Result<std::vector<LabelledText>> read_labelled_jsonl(const std::filesystem::path& path);

// Whole file as bytes; kInvalidInput naming the file when it cannot be read.
Result<std::string> read_file_bytes(const std::filesystem::path& path);

}  // namespace echoes::eval
