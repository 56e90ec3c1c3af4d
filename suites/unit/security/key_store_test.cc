// core/security/key_store: keys sealed at rest, listed by name and fingerprint only, rotated and
// removed; a file changed on disk or opened under another master key is refused naming the entry.
#include "core/security/key_store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "suites/unit/security/security_test_support.h"

namespace echoes::security {
namespace {

using testing::ScratchDir;
using testing::read_text;
using testing::write_text;

constexpr std::string_view kSecret = "sk-test-0123456789abcdefghijklmnopqrstuv";

TEST(KeyStore, AddSaveLoadGetRoundTripsAndTheFileHoldsNoKey) {
  ScratchDir dir;
  const MasterKey master = testing::test_master_key();
  Result<KeyStore> store = KeyStore::load(dir.file("keys.json"), master);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->add("openai", kSecret));
  ASSERT_TRUE(store->save());
  const std::string text = read_text(dir.file("keys.json"));
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_EQ(text.find(to_base64(kSecret)), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Result<KeyStore> again = KeyStore::load(dir.file("keys.json"), master);
  ASSERT_TRUE(again);
  Result<std::string> key = again->get("openai");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*key, kSecret);
  ASSERT_EQ(again->list().size(), 1u);
  EXPECT_EQ(again->list()[0].fingerprint, secret_fingerprint(master, kSecret));
}

TEST(KeyStore, AnotherMasterKeyOrAChangedEntryDoesNotOpenAndTheErrorHoldsNoKey) {
  ScratchDir dir;
  KeyStore store = *KeyStore::load(dir.file("keys.json"), testing::test_master_key());
  ASSERT_TRUE(store.add("openai", kSecret));
  ASSERT_TRUE(store.save());
  Result<KeyStore> other = KeyStore::load(dir.file("keys.json"), testing::test_master_key(8));
  ASSERT_TRUE(other);
  Result<std::string> key = other->get("openai");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("'openai' does not decrypt"), std::string::npos);
  EXPECT_EQ(key.error().message.find(kSecret), std::string::npos);
}

TEST(KeyStore, AnEntryMovedUnderAnotherNameDoesNotOpen) {
  const MasterKey master = testing::test_master_key();
  const std::string sealed = seal_secret(master, "prod", kSecret);
  Result<std::string> moved = open_secret(master, "dev", sealed);
  ASSERT_FALSE(moved);
  EXPECT_TRUE(open_secret(master, "prod", sealed));
}

TEST(KeyStore, RotateReplacesRemoveDeletesAndDuplicatesAreRefused) {
  ScratchDir dir;
  KeyStore store = *KeyStore::load(dir.file("keys.json"), testing::test_master_key());
  ASSERT_TRUE(store.add("openai", kSecret));
  EXPECT_EQ(store.add("openai", "other").error().code, ErrorCode::kConflict);
  const std::string before = store.list()[0].fingerprint;
  ASSERT_TRUE(store.rotate("openai", "sk-rotated-key-000000000000"));
  EXPECT_EQ(*store.get("openai"), "sk-rotated-key-000000000000");
  EXPECT_NE(store.list()[0].fingerprint, before);
  EXPECT_EQ(store.list()[0].generation, 2);
  EXPECT_EQ(store.rotate("absent", "x").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store.remove("openai"));
  EXPECT_TRUE(store.list().empty());
  EXPECT_EQ(store.remove("openai").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store.add("Bad Name", "x"));
  EXPECT_FALSE(store.add("empty", ""));
}

TEST(KeyStore, AFileThatIsNotAKeyFileIsRefused) {
  ScratchDir dir;
  write_text(dir.file("keys.json"), "{\"format\":\"other\"}");
  Result<KeyStore> store = KeyStore::load(dir.file("keys.json"), testing::test_master_key());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput);
}

TEST(MasterKey, AFileReadableByOthersIsRefusedNamingItsMode) {
  ScratchDir dir;
  const std::string path = dir.file("master.key");
  write_text(path, to_base64(std::string(32, 'm')) + "\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  Result<MasterKey> key = read_master_key_file(path);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("mode 0644"), std::string::npos) << key.error().message;
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(read_master_key_file(path));
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(read_master_key_file(path));
}

TEST(MasterKey, TextThatIsNotBase64Of32BytesIsRefusedWithoutQuotingIt) {
  Result<MasterKey> short_key = parse_master_key(to_base64("short"), "ECHOES_MASTER_KEY");
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message.find("32 bytes, got 5"), std::string::npos);
  Result<MasterKey> junk = parse_master_key("not base64 !!", "ECHOES_MASTER_KEY");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message.find("!!"), std::string::npos);
}

}  // namespace
}  // namespace echoes::security
