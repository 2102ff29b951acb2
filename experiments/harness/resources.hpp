// What a measurement costs: wall-clock timing and the process's memory (resident set size).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kraus::experiments {

// The process's resident set size now (VmRSS of /proc/self/status; 0 where unavailable).
std::uint64_t current_rss_bytes();

// The process's peak resident set size: the kernel's high-water mark VmHWM (/proc/self/status),
// the figure getrusage(RUSAGE_SELF).ru_maxrss also reports, which however takes the maximum with
// the peak of the process image replaced by exec and so cannot be reset; getrusage where /proc is
// unavailable. Since Linux 4.0 the peak can be reset to the current RSS (reset_peak_rss), so that
// it measures one phase of a run.
std::uint64_t peak_rss_bytes();

// Resets the peak RSS to the current RSS by writing "5" to /proc/self/clear_refs; false when the
// kernel does not allow it (then peak_rss_bytes() is the peak since the process started).
bool reset_peak_rss();

// Total physical memory (MemTotal) and memory available now (MemAvailable), from /proc/meminfo.
std::uint64_t total_memory_bytes();
std::uint64_t available_memory_bytes();

// The median of a non-empty sample (the mean of the two middle values for an even count).
double median(std::vector<double> values);

// Seconds since construction on a monotonic clock.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// "1.2 s", "35 ms", "2 min 5 s": a duration for progress lines.
std::string format_duration(double seconds);

}  // namespace kraus::experiments
