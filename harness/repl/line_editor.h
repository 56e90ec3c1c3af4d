// LineEditor: line editing and history for `echoes repl` on a terminal, over libedit's readline
// interface (arrow keys, Emacs key bindings, history search). The history is read from a file at
// start and written back when the editor is destroyed.
//
//   LineEditor editor("/home/me/.echoes_history");
//   while (std::optional<std::string> line = editor.read_line("echoes> ")) run(*line);
//
// One LineEditor per process (libedit's readline interface keeps global state).
#pragma once

#include <optional>
#include <string>

namespace echoes::harness::repl {

class LineEditor {
 public:
  // `history_file` may be empty: no history is read or written (the session still has one).
  explicit LineEditor(std::string history_file, int max_history = 1000);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line (without its newline), or nullopt at end of input (Ctrl-D). A non-blank line
  // that differs from the previous one is added to the history.
  std::optional<std::string> read_line(const std::string& prompt);

 private:
  std::string history_file_;
  std::string previous_;
};

}  // namespace echoes::harness::repl
