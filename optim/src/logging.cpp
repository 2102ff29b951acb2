// glog, which Ceres 2.1 logs through, is configured here and nowhere else (Ceres after 2.2 moved to
// Abseil logging: this file is the one place to port).
#include <ceres/version.h>
#include <glog/logging.h>

#include <mutex>

#include "kraus/optim/solver.hpp"

namespace kraus::optim {

void set_solver_log_level(SolverLogLevel level) {
#if CERES_VERSION_MAJOR == 2 && CERES_VERSION_MINOR <= 2
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = static_cast<int>(level);
#else
  (void)level;
#endif
}

void initialize_solver_logging(const char* program_name, SolverLogLevel level) {
  static std::once_flag once;
  std::call_once(once, [&] {
#if CERES_VERSION_MAJOR == 2 && CERES_VERSION_MINOR <= 2
    if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging(program_name ? program_name : "kraus");
#else
    (void)program_name;
#endif
  });
  set_solver_log_level(level);
}

}  // namespace kraus::optim
