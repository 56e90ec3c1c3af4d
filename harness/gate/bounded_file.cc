#include "harness/gate/bounded_file.h"

#include <fstream>
#include <system_error>

namespace echoes::gate {

Result<std::string> read_bounded_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return Error(ErrorCode::kNotFound, "no such file", path.string());
  if (!std::filesystem::is_regular_file(status)) {
    return Error(ErrorCode::kInvalidInput, "not a regular file", path.string());
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot read: " + ec.message(), path.string());
  if (size > max_bytes) {
    return Error(ErrorCode::kInvalidInput,
                 "file of " + std::to_string(size) + " bytes is larger than the limit of " +
                     std::to_string(max_bytes) + " bytes",
                 path.string());
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error(ErrorCode::kInvalidInput, "cannot open", path.string());
  std::string text(static_cast<std::size_t>(size), '\0');
  file.read(text.data(), static_cast<std::streamsize>(size));
  if (file.gcount() != static_cast<std::streamsize>(size)) {
    return Error(ErrorCode::kInvalidInput, "short read (the file changed while read)", path.string());
  }
  return text;
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot create folder: " + ec.message(), path.parent_path().string());
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file.flush()) return Error(ErrorCode::kInvalidInput, "cannot write file", partial.string());
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot write file: " + ec.message(), path.string());
  return {};
}

}  // namespace echoes::gate
