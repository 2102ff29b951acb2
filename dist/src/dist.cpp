#include "kraus/dist/dist.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <thread>

#ifdef KRAUS_MPI
#include <mpi.h>
#endif

namespace kraus::dist {
namespace {

int g_rank = 0, g_size = 1;
bool g_mpi = false;  // MPI_Init_thread ran

// Whether a launcher started this process as part of a job: Open MPI's mpirun, MPICH's Hydra and
// Slurm's PMI-2, PMIx (srun --mpi=pmix).
bool launched() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

#ifdef KRAUS_MPI
constexpr int kTagResult = 1, kTagItem = 2;
constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();

// An MPI count (of chars or doubles): at most INT_MAX.
int checked_count(std::size_t elements) {
  if (elements > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error("kraus::dist: a message of " + std::to_string(elements) + " elements (2^31 - 1 at most)");
  }
  return static_cast<int>(elements);
}
#endif

}  // namespace

Session::Session(int* argc, char*** argv) {
  if (!launched()) return;
#ifdef KRAUS_MPI
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw std::runtime_error("the MPI library does not provide MPI_THREAD_SERIALIZED");
  }
  g_mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#else
  (void)argc;
  (void)argv;
  const char* ranks = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!ranks) ranks = std::getenv("PMI_SIZE");
  if (ranks && std::strcmp(ranks, "1") != 0) {
    throw std::runtime_error("started as one of " + std::string(ranks) +
                             " MPI ranks, but this build has no MPI (configure with -DKRAUS_MPI=ON)");
  }
#endif
}

Session::~Session() {
#ifdef KRAUS_MPI
  if (g_mpi) MPI_Finalize();
#endif
  g_mpi = false;
  g_rank = 0;
  g_size = 1;
}

int rank() { return g_rank; }
int size() { return g_size; }

void abort(int status) {
#ifdef KRAUS_MPI
  if (g_mpi && g_size > 1) MPI_Abort(MPI_COMM_WORLD, status);
#endif
  std::exit(status);
}

std::vector<std::string> gather(const std::string& mine) {
  if (g_size == 1) return {mine};
#ifdef KRAUS_MPI
  const int count = checked_count(mine.size());
  std::vector<int> counts(g_rank == 0 ? static_cast<std::size_t>(g_size) : 0);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = checked_count(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  std::string all(total, '\0');
  MPI_Gatherv(mine.data(), count, MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    out.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(counts[r])));
  }
  return out;
#else
  return {mine};
#endif
}

std::string broadcast(const std::string& value) {
  if (g_size == 1) return value;
#ifdef KRAUS_MPI
  int count = g_rank == 0 ? checked_count(value.size()) : 0;
  MPI_Bcast(&count, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string out = g_rank == 0 ? value : std::string(static_cast<std::size_t>(count), '\0');
  MPI_Bcast(out.data(), count, MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
#else
  return value;
#endif
}

std::vector<double> all_gather(const std::vector<double>& mine) {
  if (g_size == 1) return mine;
#ifdef KRAUS_MPI
  const int count = checked_count(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(g_size));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::vector<int> offsets(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = checked_count(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  std::vector<double> all(total);
  MPI_Allgatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE,
                 MPI_COMM_WORLD);
  return all;
#else
  return mine;
#endif
}

// A worker's message: the item it finished (kNone in its first message) and the result's bytes.
// Rank 0's answer: the next item, or kNone to stop.
void serve(const std::function<std::optional<std::size_t>()>& next,
           const std::function<void(int rank, std::size_t item, std::string&& result)>& done) {
  if (g_size == 1) return;
#ifdef KRAUS_MPI
  int working = g_size - 1;
  while (working > 0) {
    // Polls with a short sleep: a blocking receive would keep a core busy that rank 0's own
    // measurements need.
    int ready = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &ready, &status);
    if (!ready) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    int bytes = 0;
    MPI_Get_count(&status, MPI_CHAR, &bytes);
    std::string message(static_cast<std::size_t>(bytes), '\0');
    MPI_Recv(message.data(), bytes, MPI_CHAR, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::uint64_t item = kNone;
    std::memcpy(&item, message.data(), sizeof item);
    if (item != kNone) done(status.MPI_SOURCE, static_cast<std::size_t>(item), message.substr(sizeof item));
    const std::optional<std::size_t> given = next();
    const std::uint64_t answer = given ? static_cast<std::uint64_t>(*given) : kNone;
    MPI_Send(&answer, 1, MPI_UINT64_T, status.MPI_SOURCE, kTagItem, MPI_COMM_WORLD);
    if (!given) --working;
  }
#else
  (void)next;
  (void)done;
#endif
}

void work(const std::function<std::string(std::size_t item)>& run) {
  if (g_rank == 0) throw std::logic_error("kraus::dist::work: rank 0 serves");
#ifdef KRAUS_MPI
  std::uint64_t item = kNone;
  std::string message(sizeof item, '\0');
  for (;;) {
    std::memcpy(message.data(), &item, sizeof item);
    MPI_Send(message.data(), checked_count(message.size()), MPI_CHAR, 0, kTagResult, MPI_COMM_WORLD);
    MPI_Recv(&item, 1, MPI_UINT64_T, 0, kTagItem, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (item == kNone) return;
    message.resize(sizeof item);
    message += run(static_cast<std::size_t>(item));
  }
#else
  (void)run;
#endif
}

}  // namespace kraus::dist
