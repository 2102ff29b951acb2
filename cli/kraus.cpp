// The `kraus` command: `kraus simulate` runs an OpenQASM 2 circuit under a noise model and prints
// one JSON object; `kraus gradient` prints observables' values and their derivatives by the
// circuit's parameters; `kraus noise convert` converts noise models and reads IBM device files; `kraus
// demo` simulates a small built-in noisy circuit. Errors print one message on stderr, nothing on
// stdout, and exit with status 2; a failed write to stdout exits with status 1. Under mpirun or srun
// `kraus simulate --method trajectories` spreads its trajectories over the ranks and rank 0 prints
// (docs/distributed.md); a failure on any rank ends them all with its exit status.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <new>
#include <string>

#include "common.hpp"
#include "kraus/dist/dist.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/text.hpp"

namespace {

using namespace kraus::cli;

constexpr const char* kUsage =
    "usage: kraus <command> [options]\n"
    "       kraus --version\n"
    "\n"
    "commands:\n"
    "  simulate   run an OpenQASM 2 circuit, optionally under a noise model, and print JSON\n"
    "  gradient   observables after a parametrised OpenQASM 2 circuit and their derivatives, as JSON\n"
    "  noise      convert noise models (kraus, Qiskit Aer) and read IBM device files\n"
    "  demo       simulate a built-in noisy GHZ circuit and print JSON\n"
    "\n"
    "Errors print one message on stderr, nothing on stdout, and exit with status 2; a failed write\n"
    "to stdout (a full disk, a closed pipe) prints a message and exits with status 1.\n"
    "`kraus <command> --help` prints one command's options; all of them follow.\n\n";

// The exit status of a failed command: prints its message (rank 0, and other ranks unless it is a
// usage error, which every rank meets alike) and, with several ranks, ends them all.
int fail(int status, const std::string& message, bool usage) {
  if (kraus::dist::rank() == 0) {
    std::cerr << "kraus: " << message << "\n";
  } else if (!usage) {
    std::cerr << "kraus: rank " << kraus::dist::rank() << ": " << message << "\n";
  }
  if (kraus::dist::size() > 1) kraus::dist::abort(status);
  return status;
}

int run_command(int argc, char** argv) {
  // OMP_NUM_THREADS above the available cores is capped like --threads (with a note).
  if (std::getenv("OMP_NUM_THREADS")) kraus::engine::set_num_threads(kraus::engine::num_threads());
  if (argc < 2) throw UsageError("missing command (simulate, gradient, noise or demo; see kraus --help)");
  const std::string command = argv[1];
  if (kraus::dist::size() > 1 && command != "simulate") {
    throw UsageError("kraus " + kraus::noise::printable(command) + " runs on one process; of the commands only "
                     "`kraus simulate --method trajectories` spreads over MPI ranks (docs/distributed.md)");
  }
  if (command == "--help" || command == "-h") {
    write_out(std::string(kUsage) + kSimulateUsage + "\n" + kGradientUsage + "\n" + kNoiseUsage + "\n" + kDemoUsage);
    finish_output();
    return 0;
  }
  if (command == "--version") {
    write_out(version_line() + "\n");
    finish_output();
    return 0;
  }
  if (command == "simulate") return run_simulate(argc - 2, argv + 2);
  if (command == "gradient") return run_gradient(argc - 2, argv + 2);
  if (command == "noise") return run_noise(argc - 2, argv + 2);
  if (command == "demo") return run_demo(argc - 2, argv + 2);
  throw UsageError("unknown command '" + kraus::noise::printable(command) + "' (see kraus --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // With stdout closed, a file opened later could take descriptor 1 and receive the output: hold it
  // with a read-only /dev/null, so that writes fail with EBADF and are reported.
  if (::fcntl(STDOUT_FILENO, F_GETFD) == -1) {
    const int fd = ::open("/dev/null", O_RDONLY);
    if (fd != -1 && fd != STDOUT_FILENO) ::close(fd);
  }
  try {
    const kraus::dist::Session session(&argc, &argv);
    try {
      return run_command(argc, argv);
    } catch (const UsageError& e) {
      return fail(2, kraus::noise::printable(e.what()), true);
    } catch (const WriteError& e) {
      return fail(1, e.what(), false);
    } catch (const std::bad_alloc&) {
      return fail(2, std::string("out of memory while ") + g_stage, false);
    } catch (const std::exception& e) {
      return fail(2, kraus::noise::printable(e.what()), false);
    }
  } catch (const std::exception& e) {  // MPI's start
    std::cerr << "kraus: " << kraus::noise::printable(e.what()) << "\n";
    return 2;
  }
}
