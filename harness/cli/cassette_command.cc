// echoes cassette from-predictions --predictions FILE... --field NAME --model NAME --out DIR
//
// Turns a model's recorded answers to BBQ into mock-server cassettes (harness/bbq_cassettes.h):
// each predictions file (BBQ examples in JSON Lines, the answer in the string field --field)
// becomes <DIR>/<model>_<file stem without "preds_">.json, whose requests are exactly what
// `echoes eval bbq --model <model>` sends. UnifiedQA's answers (BBQ's results/UnifiedQA):
//
//   echoes cassette from-predictions --predictions preds/preds_*.jsonl
//       --field unifiedqa-t5-11b_pred_arc --model uqa-arc --out fixtures/cassettes/bbq
//
// Exit 0 when every file was converted, 2 when one could not be (the error names file:line).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "core/eval/bbq.h"
#include "harness/bbq_cassettes.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

struct FromPredictionsFlags {
  std::vector<std::string> predictions;
  std::string field;
  std::string model;
  std::string out;
};

int from_predictions(const FromPredictionsFlags& flags) {
  std::error_code ec;
  std::filesystem::create_directories(flags.out, ec);
  if (ec) return cannot_run(flags.out + ": cannot create: " + ec.message());
  for (const std::string& file : flags.predictions) {
    Result<std::vector<eval::BbqExample>> rows = eval::load_bbq_jsonl(file);
    if (!rows) return cannot_run(rows.error().to_string());
    Result<std::string> cassette = harness::bbq_cassette(*rows, flags.field, flags.model);
    if (!cassette) return cannot_run(file + ": " + cassette.error().to_string());
    std::string stem = std::filesystem::path(file).stem().string();
    if (stem.rfind("preds_", 0) == 0) stem.erase(0, 6);
    const std::filesystem::path target = std::filesystem::path(flags.out) / (flags.model + "_" + stem + ".json");
    const std::filesystem::path partial = target.string() + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << *cassette;
      if (!out.flush()) return cannot_run(partial.string() + ": cannot write");
    }
    std::filesystem::rename(partial, target, ec);
    if (ec) return cannot_run(target.string() + ": cannot write: " + ec.message());
    std::cout << target.string() << ": " << rows->size() << " answers of " << flags.model << "\n";
  }
  return kExitSuccess;
}

}  // namespace

CommandRun add_cassette_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("cassette", "Make mock-server cassettes");
  command->require_subcommand(1);
  auto flags = std::make_shared<FromPredictionsFlags>();
  CLI::App* convert = command->add_subcommand(
      "from-predictions",
      "Turn a model's recorded BBQ answers (JSON Lines of BBQ examples with the answer in one field) "
      "into cassettes that echoes-mock replays for `echoes eval bbq --model NAME`");
  convert->add_option("--predictions", flags->predictions, "Predictions files (JSON Lines)")
      ->required()
      ->check(CLI::ExistingFile);
  convert->add_option("--field", flags->field,
                      "The field holding the answer, e.g. unifiedqa-t5-11b_pred_arc")
      ->required();
  convert->add_option("--model", flags->model, "The model name the cassettes answer to, e.g. uqa-arc")
      ->required();
  convert->add_option("--out", flags->out, "Folder to write <model>_<Category>.json into")->required();
  return [flags] { return from_predictions(*flags); };
}

}  // namespace echoes::cli
