// Recorded BBQ answers as mock-server cassettes: a predictions file (BBQ examples, each with the
// recorded answer of a model in one of its fields, as UnifiedQA's results/UnifiedQA/preds_*.jsonl)
// becomes a cassette whose interactions are exactly the requests `echoes eval bbq` sends
// (eval::bbq_request) answered with the recorded text, so echoes-mock replays the model.
//
//   Result<std::vector<BbqExample>> rows = eval::load_bbq_jsonl("preds_Age.jsonl");
//   Result<std::string> cassette = bbq_cassette(*rows, "unifiedqa-t5-11b_pred_arc", "uqa-arc");
//   write("fixtures/cassettes/bbq/uqa-arc_Age.json", *cassette);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/eval/bbq.h"

namespace echoes::harness {

// The cassette (format echoes-cassette, version 1) for `model` answering every row with its
// `field`. kInvalidInput naming the example when a row lacks the field. Rows whose prompt repeats
// are recorded once (the first answer), since the mock would replay the first anyway.
Result<std::string> bbq_cassette(const std::vector<eval::BbqExample>& rows, std::string_view field,
                                 std::string_view model);

}  // namespace echoes::harness
