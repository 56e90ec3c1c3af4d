// Properties of the token bucket: under any random sequence of try-acquires, acquires with a
// timeout, queries and clock advances it behaves exactly like a model that counts credit in whole
// units, and over any interval of length t it never admits more than rate * t + burst permits.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <vector>

#include "core/base/clock.h"
#include "core/safety/rate_limiter.h"

namespace echoes {

// Shown by RapidCheck for a failing case (found by argument-dependent lookup; internal linkage).
static void showValue(const RateLimit& limit, std::ostream& os) {
  os << limit.permits << " per " << limit.period.count() << "ns, burst " << limit.burst;
}

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

std::int64_t ns_of(TimePoint t) {
  return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The reference: a bucket of credit. One permit costs `period` credit units; each nanosecond earns
// `permits` units; the bucket holds at most `burst * period`. (Exact when period is a multiple of
// permits, which the generator below ensures.)
struct BucketModel {
  RateLimit limit;
  std::int64_t credit = 0;

  std::int64_t capacity() const { return limit.burst * limit.period.count(); }
  void advance(std::int64_t ns) { credit = std::min(capacity(), credit + limit.permits * ns); }
  // Nanoseconds until a permit is available.
  std::int64_t wait() const {
    return credit >= limit.period.count() ? 0
                                          : ceil_div(limit.period.count() - credit, limit.permits);
  }
};

struct BucketSut {
  FakeClock clock;
  TokenBucket bucket;
  explicit BucketSut(const RateLimit& limit) : bucket(limit, clock) {}
};

using BucketCommand = rc::state::Command<BucketModel, BucketSut>;

void assert_refusal(const Status& status, std::int64_t wait_ns) {
  RC_ASSERT(!status.ok());
  RC_ASSERT(status.error().code == ErrorCode::kRateLimitedLocally);
  RC_ASSERT(status.error().retry_after ==
            std::chrono::ceil<milliseconds>(nanoseconds(wait_ns)));
}

struct TryAcquire final : BucketCommand {
  void apply(BucketModel& model) const override {
    if (model.wait() == 0) model.credit -= model.limit.period.count();
  }
  void run(const BucketModel& model, BucketSut& sut) const override {
    const Status status = sut.bucket.try_acquire();
    if (model.wait() == 0) {
      RC_ASSERT(status.ok());
    } else {
      assert_refusal(status, model.wait());
    }
  }
  void show(std::ostream& os) const override { os << "TryAcquire"; }
};

struct AcquireWithTimeout final : BucketCommand {
  std::int64_t timeout_ns = *rc::gen::inRange<std::int64_t>(0, 3'000'000'000);
  void apply(BucketModel& model) const override {
    const std::int64_t wait = model.wait();
    if (wait > timeout_ns) return;
    model.advance(wait);  // the fake clock's sleep moves time forward
    model.credit -= model.limit.period.count();
  }
  void run(const BucketModel& model, BucketSut& sut) const override {
    const TimePoint before = sut.clock.now();
    const Status status = sut.bucket.acquire(nanoseconds(timeout_ns));
    const std::int64_t wait = model.wait();
    if (wait <= timeout_ns) {
      RC_ASSERT(status.ok());
      RC_ASSERT(ns_of(sut.clock.now()) - ns_of(before) == wait);
    } else {
      assert_refusal(status, wait);
      RC_ASSERT(sut.clock.now() == before);  // refused without waiting
    }
  }
  void show(std::ostream& os) const override { os << "Acquire(timeout " << timeout_ns << "ns)"; }
};

struct Advance final : BucketCommand {
  std::int64_t by_ns = *rc::gen::oneOf(rc::gen::inRange<std::int64_t>(0, 1'000),
                                       rc::gen::inRange<std::int64_t>(0, 2'000'000'000));
  void apply(BucketModel& model) const override { model.advance(by_ns); }
  void run(const BucketModel&, BucketSut& sut) const override { sut.clock.advance(nanoseconds(by_ns)); }
  void show(std::ostream& os) const override { os << "Advance(" << by_ns << "ns)"; }
};

struct Query final : BucketCommand {
  void run(const BucketModel& model, BucketSut& sut) const override {
    RC_ASSERT(sut.bucket.time_until_next_permit() == nanoseconds(model.wait()));
    RC_ASSERT(sut.bucket.next_permit_at() == sut.clock.now() + nanoseconds(model.wait()));
  }
  void show(std::ostream& os) const override { os << "Query"; }
};

// A limit whose period is a whole number of permit intervals, so the model's credit is exact.
rc::Gen<RateLimit> gen_exact_limit() {
  return rc::gen::exec([] {
    RateLimit limit;
    limit.permits = *rc::gen::inRange<std::int64_t>(1, 50);
    const std::int64_t interval_ns = *rc::gen::oneOf(
        rc::gen::inRange<std::int64_t>(1, 1'000), rc::gen::inRange<std::int64_t>(1, 1'000'000'000));
    limit.period = nanoseconds(interval_ns * limit.permits);
    limit.burst = *rc::gen::inRange<std::int64_t>(1, 20);
    return limit;
  });
}

RC_GTEST_PROP(RateLimiterProperty, TokenBucketBehavesLikeTheCreditModel, ()) {
  const RateLimit limit = *gen_exact_limit();
  BucketSut sut(limit);
  BucketModel model;
  model.limit = limit;
  model.credit = model.capacity();  // starts full
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<TryAcquire, TryAcquire, AcquireWithTimeout,
                                                     Advance, Advance, Query>());
}

// Any limit, including periods that do not divide evenly into permits.
rc::Gen<RateLimit> gen_any_limit() {
  return rc::gen::exec([] {
    RateLimit limit;
    limit.permits = *rc::gen::inRange<std::int64_t>(1, 1'000);
    limit.period = nanoseconds(*rc::gen::oneOf(rc::gen::inRange<std::int64_t>(1, 10'000),
                                               rc::gen::inRange<std::int64_t>(1, 60'000'000'000)));
    limit.burst = *rc::gen::inRange<std::int64_t>(1, 30);
    return limit;
  });
}

RC_GTEST_PROP(RateLimiterProperty, NeverAdmitsMoreThanRateTimesTPlusBurst, ()) {
  const RateLimit limit = *gen_any_limit();
  FakeClock clock;
  TokenBucket bucket(limit, clock);
  const std::int64_t period = limit.period.count();
  const std::int64_t max_step = std::max<std::int64_t>(1, period / limit.permits * 3);

  std::vector<std::int64_t> admitted_at;
  const int steps = *rc::gen::inRange(1, 200);
  for (int i = 0; i < steps; ++i) {
    const int kind = *rc::gen::inRange(0, 3);
    if (kind == 0) {
      clock.advance(nanoseconds(*rc::gen::inRange<std::int64_t>(0, max_step)));
    } else if (kind == 1) {
      const int attempts = *rc::gen::inRange(1, 10);
      for (int a = 0; a < attempts; ++a) {
        if (bucket.try_acquire().ok()) admitted_at.push_back(ns_of(clock.now()));
      }
    } else {
      const std::int64_t timeout = *rc::gen::inRange<std::int64_t>(0, max_step);
      if (bucket.acquire(nanoseconds(timeout)).ok()) admitted_at.push_back(ns_of(clock.now()));
    }
  }
  // The busiest window of any length begins and ends with an admission, so checking every pair
  // of admissions checks every window: count <= permits / period * t + burst.
  for (std::size_t i = 0; i < admitted_at.size(); ++i) {
    for (std::size_t j = i; j < admitted_at.size(); ++j) {
      const auto count = static_cast<std::int64_t>(j - i + 1);
      const std::int64_t t = admitted_at[j] - admitted_at[i];
      RC_ASSERT(t >= 0);
      RC_ASSERT((count - limit.burst) * period <= limit.permits * t);
    }
  }
  RC_TAG(admitted_at.size() > static_cast<std::size_t>(limit.burst) ? "refilled" : "burst only");
}

// The bound is tight: a patient caller gets exactly burst + floor(t / interval) permits.
RC_GTEST_PROP(RateLimiterProperty, PatientCallerGetsTheFullRate, ()) {
  const RateLimit limit = *gen_exact_limit();
  FakeClock clock;
  TokenBucket bucket(limit, clock);
  const std::int64_t interval = limit.permit_interval().count();
  const std::int64_t periods = *rc::gen::inRange<std::int64_t>(0, 50);
  const TimePoint start = clock.now();
  std::int64_t granted = 0;
  while (granted < limit.burst + periods) {
    RC_ASSERT(bucket.acquire(nanoseconds(interval)).ok());
    ++granted;
  }
  RC_ASSERT(clock.now() - start == nanoseconds(periods * interval));
  RC_ASSERT(!bucket.try_acquire().ok());
}

}  // namespace
}  // namespace echoes
