// Reading and writing the gate's files: whole files read with a size bound (a file larger than the
// bound is refused before it is read), written beside the target and renamed into place.
//
//   Result<std::string> text = read_bounded_file("reports/junit/unit.xml", 64 << 20);
//   Status written = write_file_atomically("reports/summary.json", json);
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace echoes::gate {

// Errors: kNotFound (no such file), kInvalidInput (not a regular file, larger than max_bytes, or
// unreadable), each with the path as context.
Result<std::string> read_bounded_file(const std::filesystem::path& path, std::size_t max_bytes);

// Creates the parent folders, writes `<path>.partial` and renames it: a failed write never leaves
// half a file under the final name.
Status write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace echoes::gate
