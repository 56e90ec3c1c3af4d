#include "harness/batch/batch_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <utility>

namespace echoes::harness::batch {
namespace {

constexpr int kStoreVersion = 1;

// A prepared statement, finalised on every path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  std::string_view column_text(int i) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return text == nullptr ? std::string_view() : std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

}  // namespace

std::string BatchStore::path_for(const std::string& output_path) { return output_path + ".progress.sqlite"; }

BatchStore::BatchStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

BatchStore::~BatchStore() { sqlite3_close(db_); }

Error BatchStore::sqlite_error(std::string_view what) const {
  const int code = sqlite3_errcode(db_);
  const ErrorCode ours = code == SQLITE_BUSY || code == SQLITE_LOCKED ? ErrorCode::kConflict : ErrorCode::kInvalidInput;
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db_);
  if (ours == ErrorCode::kConflict) message += " (another `echoes batch run` is using this output)";
  return Error(ours, std::move(message), path_);
}

Status BatchStore::exec(const char* sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    sqlite3_free(message);
    return sqlite_error(sql);
  }
  return ok_status();
}

Result<std::unique_ptr<BatchStore>> BatchStore::open(const std::string& path, const RunIdentity& identity,
                                                     bool resume) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  if (existed && !resume) {
    return Error(ErrorCode::kConflict,
                 "progress of an earlier run exists: pass --resume to finish it, or remove the file to start over",
                 path);
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<BatchStore> store(new BatchStore(db, path));
  if (rc != SQLITE_OK) return store->sqlite_error("cannot open the progress store");
  sqlite3_busy_timeout(db, 0);
  // Exclusive locking: the first write takes the lock and keeps it until the connection closes
  // (or the process dies), so two runs never share one store.
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
    if (Status s = store->exec(pragma); !s) return s.error();
  }
  if (Status s = store->exec("BEGIN IMMEDIATE"); !s) return s.error();
  if (Status s = store->exec(
          "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
          "CREATE TABLE IF NOT EXISTS results (line INTEGER PRIMARY KEY, input_digest TEXT NOT NULL,"
          " outcome TEXT NOT NULL, output TEXT NOT NULL)");
      !s) {
    store->exec("ROLLBACK").ok();
    return Error(ErrorCode::kInvalidInput, "not a batch progress store: " + s.error().message, path);
  }
  const std::pair<const char*, std::string> expected[] = {
      {"version", std::to_string(kStoreVersion)},
      {"shard", identity.shard},
      {"model", identity.model},
      {"safety", identity.safety ? "on" : "off"},
  };
  for (const auto& [key, value] : expected) {
    Statement select(db, "SELECT value FROM meta WHERE key = ?1");
    if (!select.ok()) return store->sqlite_error("cannot read the progress store");
    select.bind(1, std::string_view(key));
    const int step = sqlite3_step(select.get());
    if (step == SQLITE_ROW) {
      const std::string stored(select.column_text(0));
      if (stored != value) {
        store->exec("ROLLBACK").ok();
        return Error(ErrorCode::kConflict,
                     std::string("the progress was made with ") + key + " '" + stored + "', this run has '" + value +
                         "': resume with the same flags, or remove the file to start over",
                     path);
      }
    } else if (step == SQLITE_DONE) {
      Statement insert(db, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
      insert.bind(1, std::string_view(key));
      insert.bind(2, value);
      if (!insert.ok() || sqlite3_step(insert.get()) != SQLITE_DONE) return store->sqlite_error("cannot write the progress store");
    } else {
      return store->sqlite_error("cannot read the progress store");
    }
  }
  if (Status s = store->exec("COMMIT"); !s) return s.error();
  return store;
}

Result<std::map<std::int64_t, std::string>> BatchStore::completed() const {
  std::lock_guard lock(mutex_);
  Statement select(db_, "SELECT line, input_digest FROM results");
  if (!select.ok()) return sqlite_error("cannot read the progress store");
  std::map<std::int64_t, std::string> done;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(select.get())) == SQLITE_ROW) {
    done.emplace(sqlite3_column_int64(select.get(), 0), std::string(select.column_text(1)));
  }
  if (step != SQLITE_DONE) return sqlite_error("cannot read the progress store");
  return done;
}

Status BatchStore::record(std::int64_t line, std::string_view input_digest, std::string_view outcome,
                          std::string_view output_json) {
  std::lock_guard lock(mutex_);
  // One statement outside a transaction is one committed transaction.
  Statement insert(db_, "INSERT OR REPLACE INTO results (line, input_digest, outcome, output) VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) return sqlite_error("cannot record a result");
  insert.bind(1, line);
  insert.bind(2, input_digest);
  insert.bind(3, outcome);
  insert.bind(4, output_json);
  if (sqlite3_step(insert.get()) != SQLITE_DONE) return sqlite_error("cannot record line " + std::to_string(line));
  return ok_status();
}

Status BatchStore::record_all(const std::vector<Record>& records) {
  std::lock_guard lock(mutex_);
  if (Status s = exec("BEGIN IMMEDIATE"); !s) return s;
  Statement insert(db_, "INSERT OR REPLACE INTO results (line, input_digest, outcome, output) VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) {
    exec("ROLLBACK").ok();
    return sqlite_error("cannot record results");
  }
  for (const Record& r : records) {
    sqlite3_reset(insert.get());
    insert.bind(1, r.line);
    insert.bind(2, r.input_digest);
    insert.bind(3, r.outcome);
    insert.bind(4, r.output_json);
    if (sqlite3_step(insert.get()) != SQLITE_DONE) {
      Error e = sqlite_error("cannot record line " + std::to_string(r.line));
      exec("ROLLBACK").ok();
      return e;
    }
  }
  if (Status s = exec("COMMIT"); !s) {
    exec("ROLLBACK").ok();
    return s;
  }
  return ok_status();
}

Status BatchStore::for_each_result(
    std::int64_t last_line,
    const std::function<Status(std::int64_t, std::string_view, std::string_view)>& visit) const {
  std::lock_guard lock(mutex_);
  Statement select(db_, "SELECT line, outcome, output FROM results WHERE line <= ?1 ORDER BY line");
  if (!select.ok()) return sqlite_error("cannot read the progress store");
  select.bind(1, last_line);
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(select.get())) == SQLITE_ROW) {
    if (Status s = visit(sqlite3_column_int64(select.get(), 0), select.column_text(1), select.column_text(2)); !s) {
      return s;
    }
  }
  if (step != SQLITE_DONE) return sqlite_error("cannot read the progress store");
  return ok_status();
}

}  // namespace echoes::harness::batch
