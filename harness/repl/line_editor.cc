#include "harness/repl/line_editor.h"

#include <cstdlib>
#include <cstdio>

#include <editline/readline.h>

namespace echoes::harness::repl {

LineEditor::LineEditor(std::string history_file, int max_history) : history_file_(std::move(history_file)) {
  using_history();
  stifle_history(max_history);
  if (!history_file_.empty()) read_history(history_file_.c_str());  // a missing file is an empty history
}

LineEditor::~LineEditor() {
  if (!history_file_.empty()) write_history(history_file_.c_str());
}

std::optional<std::string> LineEditor::read_line(const std::string& prompt) {
  char* raw = readline(prompt.c_str());
  if (raw == nullptr) return std::nullopt;
  std::string line(raw);
  std::free(raw);
  if (line.find_first_not_of(" \t") != std::string::npos && line != previous_) {
    add_history(line.c_str());
    previous_ = line;
  }
  return line;
}

}  // namespace echoes::harness::repl
