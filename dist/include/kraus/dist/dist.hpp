// kraus::dist: the one module that talks to MPI (nothing else includes mpi.h), for the programs
// that spread work over processes: `kraus simulate --method trajectories` and the experiment
// sweeps (docs/distributed.md), and optim's data-parallel trajectory batches
// (GradientOptions::data_parallel). The engine knows nothing of it.
//
// A program constructs one Session at the start of main(). Started by an MPI launcher (mpirun,
// mpiexec, srun), the process joins the job as one of size() ranks; started plainly, or built
// without KRAUS_MPI, it is rank 0 of 1 and no MPI runtime starts. Every function below works in
// both cases (with one rank they return at once). Collectives (gather, broadcast) must be called
// by every rank in the same order; a rank that cannot go on calls abort(), never returns early, so
// that no rank waits forever.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kraus::dist {

class Session {
 public:
  // Joins the MPI job (MPI_Init_thread with MPI_THREAD_SERIALIZED: one thread at a time calls
  // MPI) when the environment names a launcher's job (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK).
  // Throws std::runtime_error when this build has no MPI but a launcher started it with several
  // ranks, or when the MPI library lacks MPI_THREAD_SERIALIZED.
  Session(int* argc, char*** argv);
  ~Session();  // MPI_Finalize
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

int rank();  // this process's rank, 0 to size() - 1 (0 without a Session)
int size();  // the job's ranks (1 without a Session)

// Ends every rank of the job with `status` (MPI_Abort); with one rank, std::exit(status).
[[noreturn]] void abort(int status);

// On rank 0: every rank's `mine`, in rank order; elsewhere: empty.
std::vector<std::string> gather(const std::string& mine);
// Rank 0's `value`, on every rank.
std::string broadcast(const std::string& value);
// On every rank: every rank's `mine` (of any length), concatenated in rank order.
std::vector<double> all_gather(const std::vector<double>& mine);

// A dynamic work queue: rank 0 calls serve() (on any one thread, while no other thread of the
// process calls MPI), every other rank calls work(); a rank that finishes an item takes the next.
// serve() hands each idle rank the item next() returns and gives done(rank, item, result) each
// result (on serve's thread), until next() returns nothing; it returns when every other rank has
// been told to stop. work() runs run(item) for each item it is handed and sends back the string it
// returns; it returns when told to stop. With one rank serve() returns at once.
void serve(const std::function<std::optional<std::size_t>()>& next,
           const std::function<void(int rank, std::size_t item, std::string&& result)>& done);
void work(const std::function<std::string(std::size_t item)>& run);

}  // namespace kraus::dist
