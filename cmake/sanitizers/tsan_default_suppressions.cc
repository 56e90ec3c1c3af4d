// ThreadSanitizer suppressions compiled into every executable of a `tsan` build (see
// cmake/CompilerOptions.cmake), so they apply however the program is started: ctest, a suite run
// by hand, or an echoes-mock spawned by a test.
//
// libcpp-httplib.so comes from Debian, built without ThreadSanitizer, and its sources are not
// part of the package, so it cannot be instrumented here. ThreadSanitizer does not see the
// acquire load that guards a function-local static in uninstrumented code: when one connection
// thread initialises such a static (Server::parse_request_line's `static const std::set` of
// method names) and a second connection thread, running at the same time, reads it, the read is
// reported as a race on the set's nodes, although the C++ runtime orders it. The errors suite's
// hang rows produce exactly that (the first connection hangs while the retry is served).
//
// The pattern matches a report only when one of its two stacks has a frame inside the library,
// which happens only when the library's own code makes that access: uninstrumented callers are
// missing from ThreadSanitizer's stacks, so a handler running below Server::process_request shows
// Echoes frames only. A race between two accesses made by Echoes code is still reported; one
// where the library makes one of the two accesses is not, which is the price of a library that
// cannot be instrumented.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libcpp-httplib.so\n";
}
