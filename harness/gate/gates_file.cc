#include "harness/gate/gates_file.h"

#include <cmath>
#include <set>

#include "core/openai/json.h"
#include "harness/gate/bounded_file.h"

namespace echoes::gate {
namespace {

using Json = nlohmann::json;

// The committed file nests four levels (document, gates, gate, value); anything deeper is not a
// gates file.
constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxIdBytes = 100;
constexpr std::size_t kMaxTextBytes = 1000;
constexpr std::size_t kMaxArguments = 64;
constexpr std::size_t kMaxArgumentBytes = 4096;

Error bad(std::string_view where, std::string_view message, std::string_view origin) {
  return Error(ErrorCode::kInvalidInput, std::string(where) + ": " + std::string(message), std::string(origin));
}

// Ids: lower-case ASCII letters, digits, '.', '_' and '-', starting with a letter or digit.
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

bool valid_source(std::string_view source) {
  if (source == "junit" || source == "coverage" || source == "efficacy" || source == "bench") return true;
  constexpr std::string_view kLoad = "load/";
  return source.substr(0, kLoad.size()) == kLoad && valid_id(source.substr(kLoad.size()));
}

// A short, printable quotation of a value from the file for error messages.
std::string quoted(const Json& value) {
  std::string text = openai::dump_json(value);
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

Result<std::string> text_field(const Json& object, const char* name, std::string_view where,
                               std::string_view origin, std::size_t max_bytes) {
  const auto it = object.find(name);
  if (it == object.end()) return bad(where, std::string("missing field \"") + name + "\"", origin);
  if (!it->is_string()) return bad(where, std::string(name) + ": expected a string, got " + quoted(*it), origin);
  std::string text = it->get<std::string>();
  if (text.size() > max_bytes) {
    return bad(where, std::string(name) + ": longer than " + std::to_string(max_bytes) + " bytes", origin);
  }
  return text;
}

Status only_fields(const Json& object, std::initializer_list<std::string_view> allowed, std::string_view where,
                   std::string_view origin) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) return bad(where, "unknown field \"" + it.key().substr(0, 64) + "\"", origin);
  }
  return {};
}

Result<GateSpec> parse_gate(const Json& j, std::size_t index, std::string_view origin) {
  std::string where = "gates[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad(where, "expected an object, got " + quoted(j), origin);
  Result<std::string> id = text_field(j, "id", where, origin, kMaxIdBytes);
  if (!id) return id.error();
  if (!valid_id(*id)) {
    return bad(where, "id: \"" + *id + "\" is not an id (lower-case letters, digits, '.', '_', '-')", origin);
  }
  where += " (" + *id + ")";
  if (Status s = only_fields(j, {"id", "description", "kind", "source", "metric", "op", "value"}, where, origin); !s) {
    return s.error();
  }
  GateSpec gate;
  gate.id = *id;
  Result<std::string> description = text_field(j, "description", where, origin, kMaxTextBytes);
  if (!description) return description.error();
  gate.description = *description;

  Result<std::string> kind = text_field(j, "kind", where, origin, kMaxIdBytes);
  if (!kind) return kind.error();
  if (*kind == "binding") {
    gate.kind = GateKind::kBinding;
  } else if (*kind == "advisory") {
    gate.kind = GateKind::kAdvisory;
  } else {
    return bad(where, "kind: unknown kind \"" + *kind + "\" (binding or advisory)", origin);
  }

  Result<std::string> source = text_field(j, "source", where, origin, kMaxIdBytes);
  if (!source) return source.error();
  if (!valid_source(*source)) {
    return bad(where, "source: unknown source \"" + *source + "\" (junit, coverage, efficacy, bench, load/<profile>)",
               origin);
  }
  gate.source = *source;

  Result<std::string> metric = text_field(j, "metric", where, origin, kMaxIdBytes);
  if (!metric) return metric.error();
  if (metric->empty()) return bad(where, "metric: empty", origin);
  gate.metric = *metric;

  Result<std::string> op = text_field(j, "op", where, origin, 4);
  if (!op) return op.error();
  if (*op == ">=") {
    gate.op = GateOp::kAtLeast;
  } else if (*op == "<=") {
    gate.op = GateOp::kAtMost;
  } else if (*op == "==") {
    gate.op = GateOp::kEqual;
  } else if (*op == ">") {
    gate.op = GateOp::kGreater;
  } else if (*op == "<") {
    gate.op = GateOp::kLess;
  } else {
    return bad(where, "op: unknown operator \"" + *op + "\" (>=, <=, ==, >, <)", origin);
  }

  const auto value = j.find("value");
  if (value == j.end()) return bad(where, "missing field \"value\"", origin);
  if (!value->is_number() || !std::isfinite(value->get<double>())) {
    return bad(where, "value: expected a finite number, got " + quoted(*value), origin);
  }
  gate.value = value->get<double>();
  return gate;
}

Result<RunSpec> parse_run(const Json& j, std::size_t index, std::string_view origin) {
  std::string where = "runs[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad(where, "expected an object, got " + quoted(j), origin);
  Result<std::string> id = text_field(j, "id", where, origin, kMaxIdBytes);
  if (!id) return id.error();
  if (!valid_id(*id)) return bad(where, "id: \"" + *id + "\" is not an id", origin);
  where += " (" + *id + ")";
  if (Status s = only_fields(j, {"id", "argv"}, where, origin); !s) return s.error();
  const auto argv = j.find("argv");
  if (argv == j.end()) return bad(where, "missing field \"argv\"", origin);
  if (!argv->is_array() || argv->empty() || argv->size() > kMaxArguments) {
    return bad(where, "argv: expected 1 to " + std::to_string(kMaxArguments) + " strings", origin);
  }
  RunSpec run;
  run.id = *id;
  for (std::size_t k = 0; k < argv->size(); ++k) {
    const Json& a = (*argv)[k];
    if (!a.is_string() || a.get_ref<const std::string&>().size() > kMaxArgumentBytes) {
      return bad(where, "argv[" + std::to_string(k) + "]: expected a string of at most " +
                            std::to_string(kMaxArgumentBytes) + " bytes",
                 origin);
    }
    run.argv.push_back(a.get<std::string>());
  }
  return run;
}

}  // namespace

std::string_view to_string(GateKind kind) { return kind == GateKind::kBinding ? "binding" : "advisory"; }

std::string_view to_string(GateOp op) {
  switch (op) {
    case GateOp::kAtLeast: return ">=";
    case GateOp::kAtMost: return "<=";
    case GateOp::kEqual: return "==";
    case GateOp::kGreater: return ">";
    case GateOp::kLess: return "<";
  }
  return "?";
}

bool satisfies(double measured, GateOp op, double threshold) {
  switch (op) {
    case GateOp::kAtLeast: return measured >= threshold;
    case GateOp::kAtMost: return measured <= threshold;
    case GateOp::kEqual: return measured == threshold;
    case GateOp::kGreater: return measured > threshold;
    case GateOp::kLess: return measured < threshold;
  }
  return false;
}

Result<GatesFile> parse_gates_file(std::string_view text, std::string_view origin) {
  if (text.size() > kMaxGatesFileBytes) {
    return bad("document", "larger than " + std::to_string(kMaxGatesFileBytes) + " bytes", origin);
  }
  Result<Json> parsed = openai::parse_json(text, openai::DecodeLimits{kMaxDepth, kMaxGatesFileBytes});
  if (!parsed) {
    return Error(ErrorCode::kInvalidInput, "not valid JSON: " + parsed.error().message,
                 std::string(origin) + (parsed.error().context.empty() ? "" : ", " + parsed.error().context));
  }
  const Json& doc = *parsed;
  if (!doc.is_object()) return bad("document", "expected an object", origin);
  if (Status s = only_fields(doc, {"format", "version", "description", "runs", "gates"}, "document", origin); !s) {
    return s.error();
  }
  const auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || format->get<std::string>() != kGatesFormat) {
    return bad("format", "expected \"echoes-gates\"", origin);
  }
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || version->get<std::int64_t>() != kGatesVersion) {
    return bad("version", "expected 1", origin);
  }

  GatesFile file;
  std::set<std::string> ids;
  if (const auto runs = doc.find("runs"); runs != doc.end()) {
    if (!runs->is_array()) return bad("runs", "expected an array", origin);
    for (std::size_t i = 0; i < runs->size(); ++i) {
      Result<RunSpec> run = parse_run((*runs)[i], i, origin);
      if (!run) return run.error();
      if (!ids.insert("run:" + run->id).second) {
        return bad("runs[" + std::to_string(i) + "] (" + run->id + ")", "duplicate run id", origin);
      }
      file.runs.push_back(std::move(*run));
    }
  }
  const auto gates = doc.find("gates");
  if (gates == doc.end() || !gates->is_array()) return bad("gates", "expected an array of gates", origin);
  for (std::size_t i = 0; i < gates->size(); ++i) {
    Result<GateSpec> gate = parse_gate((*gates)[i], i, origin);
    if (!gate) return gate.error();
    if (!ids.insert("gate:" + gate->id).second) {
      return bad("gates[" + std::to_string(i) + "] (" + gate->id + ")", "duplicate gate id", origin);
    }
    file.gates.push_back(std::move(*gate));
  }
  return file;
}

Result<GatesFile> load_gates_file(const std::filesystem::path& path) {
  Result<std::string> text = read_bounded_file(path, kMaxGatesFileBytes);
  if (!text) return text.error();
  return parse_gates_file(*text, path.string());
}

std::vector<std::string> expand_run_arguments(const RunSpec& run, const std::string& reports_dir) {
  constexpr std::string_view kPlaceholder = "{reports}";
  std::vector<std::string> argv;
  for (std::string a : run.argv) {
    for (std::size_t at = a.find(kPlaceholder); at != std::string::npos;
         at = a.find(kPlaceholder, at + reports_dir.size())) {
      a.replace(at, kPlaceholder.size(), reports_dir);
    }
    argv.push_back(std::move(a));
  }
  return argv;
}

}  // namespace echoes::gate
