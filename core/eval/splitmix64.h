// SplitMix64: a small pseudo-random generator whose output sequence is fixed by its definition
// (unlike std:: distributions, which differ between standard libraries), for the bootstrap and
// the synthetic data generator.
//
//   SplitMix64 rng(20250101);
//   std::uint64_t i = rng.below(10);   // uniform in [0, 10)
#pragma once

#include <algorithm>
#include <cstdint>

namespace echoes::eval {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n >= 1: the top 53 bits as a fraction, scaled (bias below n * 2^-53).
  std::uint64_t below(std::uint64_t n) {
    const double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return std::min(n - 1, static_cast<std::uint64_t>(unit * static_cast<double>(n)));
  }

 private:
  std::uint64_t state_;
};

}  // namespace echoes::eval
