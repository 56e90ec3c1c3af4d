// BatchStore: the progress of one `echoes batch run`, in SQLite (WAL mode) beside the output, so a
// run killed at any moment (kill -9 included) resumes without redoing a line that completed and
// without losing or duplicating one.
//
//   auto store = BatchStore::open("out.jsonl.progress.sqlite", {.shard = "0/1", .model = "m"}, resume);
//   std::map<std::int64_t, std::string> done = (*store)->completed();   // line -> input digest
//   (*store)->record(7, digest, "answer", R"({"line":7,"outcome":"answer",...})");
//   (*store)->for_each_result(total_lines, [&](std::int64_t line, std::string_view outcome,
//                                              std::string_view json) { ... });
//
// Contract: record() / record_all() return only after the results are committed (one transaction),
// so a line is either wholly recorded or not at all; a line not recorded when the process dies is
// sent again on resume (at least once towards the upstream). Each result keeps the digest of its
// input line: on resume a line whose input changed since (a fixed bad line) is run again.
// synchronous=NORMAL: a commit survives the process being killed; an operating-system crash or
// power cut may lose the last commits (those lines are then sent again, never duplicated).
// The database is opened in exclusive locking mode: a second run on the same output is refused
// while the first holds it. Thread-safe (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

struct sqlite3;

namespace echoes::harness::batch {

// What must agree between a run and its resumption: resuming with other settings would mix two
// different runs in one output.
struct RunIdentity {
  std::string shard;  // "I/N"
  std::string model;  // --model, empty when not given
  bool safety = false;
  friend bool operator==(const RunIdentity&, const RunIdentity&) = default;
};

class BatchStore {
 public:
  // The store's path for an output file: "<output>.progress.sqlite".
  static std::string path_for(const std::string& output_path);

  // Opens the store at `path`. resume = false: the store must not exist yet (kConflict naming it:
  // progress would be lost). resume = true: an existing store must have been made with the same
  // identity (kConflict naming the field that differs); a missing one is created (nothing done yet).
  // kConflict when another process holds it; kInvalidInput when the file is not a batch store.
  static Result<std::unique_ptr<BatchStore>> open(const std::string& path, const RunIdentity& identity,
                                                  bool resume);
  ~BatchStore();
  BatchStore(const BatchStore&) = delete;
  BatchStore& operator=(const BatchStore&) = delete;

  // Every recorded line and the digest of the input it was recorded for.
  Result<std::map<std::int64_t, std::string>> completed() const;
  // Records (or replaces) the result of `line`, committed before returning.
  Status record(std::int64_t line, std::string_view input_digest, std::string_view outcome,
                std::string_view output_json);
  struct Record {
    std::int64_t line = 0;
    std::string input_digest;
    std::string outcome;
    std::string output_json;
  };
  // Records several results in one transaction (group commit): all of them or none.
  Status record_all(const std::vector<Record>& records);
  // Calls visit(line, outcome, output_json) for each recorded line numbered 1..last_line, in
  // ascending order; an error from `visit` stops the walk and is returned.
  Status for_each_result(
      std::int64_t last_line,
      const std::function<Status(std::int64_t, std::string_view, std::string_view)>& visit) const;

  const std::string& path() const { return path_; }

 private:
  BatchStore(sqlite3* db, std::string path);
  Status exec(const char* sql) const;
  Error sqlite_error(std::string_view what) const;

  sqlite3* db_;
  std::string path_;
  mutable std::mutex mutex_;
};

}  // namespace echoes::harness::batch
