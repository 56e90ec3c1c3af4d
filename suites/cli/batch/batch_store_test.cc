// The batch progress store: results survive closing and reopening (as after kill -9), a run
// without --resume refuses earlier progress, a resume with other settings is refused naming the
// setting, a second run on the same store is refused while the first holds it, and results come
// back in line order up to a limit.
#include "harness/batch/batch_store.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace echoes::harness::batch {
namespace {

class BatchStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("batch_store_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "out.jsonl.progress.sqlite").string();
  }
  std::filesystem::path dir_;
  std::string path_;
  RunIdentity identity_{"0/1", "m", false};
};

TEST_F(BatchStoreTest, RecordedResultsSurviveReopeningWithResume) {
  {
    auto store = BatchStore::open(path_, identity_, false);
    ASSERT_TRUE(store) << store.error().to_string();
    ASSERT_TRUE((*store)->record(3, "d3", "answer", R"({"line":3})"));
    ASSERT_TRUE((*store)->record(1, "d1", "invalid", R"({"line":1})"));
    ASSERT_TRUE((*store)->record(1, "d1b", "error", R"({"line":1,"again":true})"));  // replaces
  }
  auto store = BatchStore::open(path_, identity_, true);
  ASSERT_TRUE(store) << store.error().to_string();
  auto done = (*store)->completed();
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (std::map<std::int64_t, std::string>{{1, "d1b"}, {3, "d3"}}));
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)->for_each_result(10, [&](std::int64_t line, std::string_view outcome, std::string_view json) {
    seen.push_back(std::to_string(line) + " " + std::string(outcome) + " " + std::string(json));
    return ok_status();
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{R"(1 error {"line":1,"again":true})", R"(3 answer {"line":3})"}));
  seen.clear();
  ASSERT_TRUE((*store)->for_each_result(2, [&](std::int64_t line, std::string_view, std::string_view) {
    seen.push_back(std::to_string(line));
    return ok_status();
  }));
  EXPECT_EQ(seen, std::vector<std::string>{"1"});
}

TEST_F(BatchStoreTest, AGroupIsRecordedInOneTransaction) {
  {
    auto store = BatchStore::open(path_, identity_, false);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->record_all({{2, "d2", "answer", R"({"line":2})"}, {5, "d5", "error", R"({"line":5})"}}));
  }
  auto store = BatchStore::open(path_, identity_, true);
  ASSERT_TRUE(store);
  auto done = (*store)->completed();
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (std::map<std::int64_t, std::string>{{2, "d2"}, {5, "d5"}}));
}

TEST_F(BatchStoreTest, EarlierProgressWithoutResumeIsRefused) {
  ASSERT_TRUE(BatchStore::open(path_, identity_, false));
  auto again = BatchStore::open(path_, identity_, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("--resume"), std::string::npos);
}

TEST_F(BatchStoreTest, AResumeWithOtherSettingsIsRefusedNamingTheSetting) {
  ASSERT_TRUE(BatchStore::open(path_, identity_, false));
  auto other_shard = BatchStore::open(path_, RunIdentity{"1/2", "m", false}, true);
  ASSERT_FALSE(other_shard);
  EXPECT_EQ(other_shard.error().code, ErrorCode::kConflict);
  EXPECT_NE(other_shard.error().message.find("shard '0/1'"), std::string::npos) << other_shard.error().message;
  auto other_safety = BatchStore::open(path_, RunIdentity{"0/1", "m", true}, true);
  ASSERT_FALSE(other_safety);
  EXPECT_NE(other_safety.error().message.find("safety"), std::string::npos) << other_safety.error().message;
}

TEST_F(BatchStoreTest, ASecondRunIsRefusedWhileTheFirstHoldsTheStore) {
  auto first = BatchStore::open(path_, identity_, false);
  ASSERT_TRUE(first);
  auto second = BatchStore::open(path_, identity_, true);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict) << second.error().to_string();
}

TEST_F(BatchStoreTest, AFileThatIsNotAStoreIsRefused) {
  std::ofstream(path_) << "this is not a database, just some text that is long enough to have a header........";
  auto store = BatchStore::open(path_, identity_, true);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput) << store.error().to_string();
}

}  // namespace
}  // namespace echoes::harness::batch
