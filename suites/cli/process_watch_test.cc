// /proc parsing behind --watch-pid: CPU ticks from stat (a command name with spaces and ')'),
// resident memory from status, and a live reading of this test process.
#include "harness/load/process_watch.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace echoes::harness {
namespace {

TEST(ProcessWatchTest, ReadsCpuTicksAfterTheLastParenthesis) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const std::string stat = "42 (a) b) c) S 1 42 42 0 -1 4194304 100 7 3 9 250 50 11 13 20 0 1 0";
  EXPECT_EQ(cpu_ticks_from_stat(stat), 300u);
  EXPECT_FALSE(cpu_ticks_from_stat("42 (x) S 1 2").has_value());
  EXPECT_FALSE(cpu_ticks_from_stat("no parenthesis").has_value());
  EXPECT_FALSE(cpu_ticks_from_stat("42 (x) S 1 42 42 0 -1 4194304 100 0 0 0 ab 50").has_value());
}

TEST(ProcessWatchTest, ReadsResidentMemoryInBytes) {
  EXPECT_EQ(rss_bytes_from_status("Name:\tx\nVmRSS:\t    1024 kB\nThreads:\t1\n"), 1024 * 1024);
  EXPECT_FALSE(rss_bytes_from_status("Name:\tx\nThreads:\t1\n").has_value());
  EXPECT_FALSE(rss_bytes_from_status("Name:\tx\nVmRSS:\t12 MB\n").has_value());
}

TEST(ProcessWatchTest, SamplesThisProcessAndRefusesAMissingOne) {
  ProcessWatch self(static_cast<int>(getpid()));
  ASSERT_TRUE(self.ok()) << self.problem();
  self.sample(0.5);
  ASSERT_EQ(self.samples().size(), 1u);
  EXPECT_GT(self.samples()[0].rss_bytes, 0);
  EXPECT_GE(self.samples()[0].cpu_percent, 0.0);
  EXPECT_FALSE(ProcessWatch(0).ok());
  EXPECT_FALSE(ProcessWatch(-5).ok());
}

}  // namespace
}  // namespace echoes::harness
