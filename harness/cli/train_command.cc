// `echoes train --detector NAME --data FILE... --out FILE [--seed N] [--c X...] [--bucket-bits B]`
//
// Trains the learned scorer of one detector (injection, harmful-request, harmful, toxicity) from
// labelled JSON Lines ({"text", "label", "source"}; see fixtures/datasets/README.md), writes the
// model file (core/safety/linear_text_model.h) and prints the validation and test metrics.
// Deterministic: the same files, in the same order, and options give a byte-identical model.
// Several values of --c: each is fitted and the validation part chooses one
// (safety::TrainingOptions::c_candidates); the model records them all.
//
//   echoes train --detector toxicity --out fixtures/models/toxicity.json
//                --data fixtures/datasets/davidson/data.jsonl
//
// Exit codes: 0 trained and written; 2 could not run (bad flag, unreadable or invalid data,
// unknown detector, unwritable output).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/eval/labelled_data.h"
#include "core/eval/sha256.h"
#include "core/safety/linear_text_trainer.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

struct TrainFlags {
  std::string detector;
  std::vector<std::string> data;
  std::string out;
  std::uint64_t seed = 20250101;
  std::vector<double> c = {16.0};
  std::uint32_t bucket_bits = 18;
};

int fail(const Error& error) {
  std::cerr << "echoes train: " << error.to_string() << "\n";
  return 2;
}

// A file's name with its folder ("gsm8k/data.jsonl"): stable across checkouts, unlike a path.
std::string recorded_name(const std::filesystem::path& path) {
  const std::filesystem::path parent = path.parent_path().filename();
  return (parent.empty() ? path.filename() : parent / path.filename()).generic_string();
}

int run_train(const TrainFlags& flags) {
  std::vector<eval::LabelledText> examples;
  eval::Sha256 hasher;
  safety::TrainingOptions options;
  options.detector = flags.detector;
  options.seed = flags.seed;
  if (flags.c.size() == 1) options.c = flags.c.front();
  else options.c_candidates = flags.c;
  options.features.bucket_bits = flags.bucket_bits;
  for (const std::string& file : flags.data) {
    Result<std::string> bytes = eval::read_file_bytes(file);
    if (!bytes) return fail(bytes.error());
    // The data hash covers each file's size and bytes, in the order given.
    hasher.update(std::to_string(bytes->size()) + ":");
    hasher.update(*bytes);
    Result<std::vector<eval::LabelledText>> rows =
        eval::parse_labelled_jsonl(*bytes, file, std::filesystem::path(file).stem().string());
    if (!rows) return fail(rows.error());
    examples.insert(examples.end(), std::make_move_iterator(rows->begin()),
                    std::make_move_iterator(rows->end()));
    options.data_names.push_back(recorded_name(file));
  }
  options.data_sha256 = hasher.hex_digest();

  Result<safety::TrainingResult> trained = safety::train_linear_text_model(examples, options);
  if (!trained) return fail(trained.error());

  // Write beside the target, then rename: a failed run never leaves half a model file.
  const std::filesystem::path out(flags.out);
  const std::filesystem::path partial = out.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << trained->model.to_json();
    if (!file.flush()) return fail(Error(ErrorCode::kInvalidInput, "cannot write file", partial.string()));
  }
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec) return fail(Error(ErrorCode::kInvalidInput, "cannot write file: " + ec.message(), out.string()));
  std::cout << trained->summary << "model written to " << flags.out << "\n";
  return 0;
}

}  // namespace

CommandRun add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* sub = app.add_subcommand("train", "Train a detector's learned scorer from labelled JSON Lines");
  sub->add_option("--detector", flags->detector, "injection, harmful-request, harmful or toxicity")
      ->required();
  sub->add_option("--data", flags->data, "labelled JSON Lines files ({\"text\", \"label\", \"source\"})")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", flags->out, "model file to write")->required();
  sub->add_option("--seed", flags->seed, "split seed")->capture_default_str();
  sub->add_option("--c", flags->c,
                  "inverse regularisation strength (liblinear C); several values: chosen on the validation part")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--bucket-bits", flags->bucket_bits, "2^B hashed feature buckets")
      ->capture_default_str()
      ->check(CLI::Range(10, 24));
  return [flags] { return run_train(*flags); };
}

}  // namespace echoes::cli
