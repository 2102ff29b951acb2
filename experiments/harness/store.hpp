// Crash-safe, resumable result files.
//
// A study writes DIR/<study>.csv (the rows) and DIR/<study>.progress (one line per grid point whose
// rows are complete: its key, its row count and the FNV-1a 64-bit checksum of those rows' bytes as
// written, tab-separated: "noise_model=ideal qubits=2\trows=1\tfnv1a64=8c5f0b0e3d0a4b1f"). Each grid
// point is recorded in two steps:
//   1. its rows are appended to the CSV in one write() and fsync'ed;
//   2. its progress line is appended to the progress file and fsync'ed.
// A point is done exactly when its progress line is complete. On opening, the store
//   * drops a torn last line of the progress file (a kill during step 2),
//   * keeps the CSV rows of done points and truncates the CSV after them: any rows past that point
//     belong to the one point that was being written (a kill during step 1, or between 1 and 2,
//     including a torn last line), which is then run again,
//   * checks every done point's rows against its progress line: as many rows, the same checksum;
// so a run killed at any instant (kill -9, power loss after fsync) and started again neither
// duplicates nor loses a row. Anything else is not something this protocol produces and is refused
// with a message naming the file (and the point, and what differs): a done point with rows missing,
// extra, changed or truncated; rows of a done point after rows of an unfinished one, or in two
// places; a header that differs from the study's columns; a progress file without its CSV; a
// progress file of an earlier version (keys without row counts and checksums). Refusing rather
// than measuring such a point again: the rows were changed outside kraus, and only the user knows
// whether the rest of the file can be trusted.
//
// Opening only reads and checks (and locks); nothing is written until begin(), so that a caller
// can first record the run elsewhere (the study's JSON) and leave the files untouched if that fails.
//
// The progress file is locked (flock) while the store is open, so that two runs cannot write the
// same study's files at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kraus::experiments {

// RFC 4180 quoting: fields with a comma, quote or leading/trailing space are quoted. Newlines are
// refused (std::invalid_argument): one row is one line.
std::string csv_field(const std::string& value);
std::string csv_line(const std::vector<std::string>& fields);  // with the trailing '\n'
// Splits one line (without its '\n'); throws std::invalid_argument for bad quoting.
std::vector<std::string> csv_split(const std::string& line);

// Writes `content` to `path` through a temporary file in the same folder, fsync and rename (then
// fsyncs the folder): readers see the old file or the new one, never a mix. Throws
// std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

// A grid point's key from its key columns' names and values: "qubits=8 depth=4 ...", one line of
// the progress file.
std::string point_key(const std::vector<std::string>& key_columns, const std::vector<std::string>& key_values);

// FNV-1a, 64 bits: the checksum of a point's rows in the progress file. `hash` continues an earlier
// value (the offset basis starts it).
constexpr std::uint64_t kFnv1a64Basis = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(const std::string& bytes, std::uint64_t hash = kFnv1a64Basis);

// What the progress file records about a done point.
struct PointRecord {
  std::size_t rows = 0;
  std::uint64_t checksum = kFnv1a64Basis;
  bool operator==(const PointRecord& o) const { return rows == o.rows && checksum == o.checksum; }
};

class ResultStore {
 public:
  // Opens (creating, empty) DIR/<name>.csv and DIR/<name>.progress, locks them, reads and checks
  // them; DIR must exist. `key_columns` are the columns whose values identify a grid point (a
  // subset of `columns`). With `fresh`, the files' contents are ignored (begin() empties them).
  // Throws std::runtime_error for I/O failures and for files this protocol cannot have produced
  // (the message names the file and says how to go on).
  ResultStore(const std::string& dir, const std::string& name, std::vector<std::string> columns,
              std::vector<std::string> key_columns, bool fresh);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  // The key of a row (its key columns' values): "qubits=8 depth=4 ...", one line of the progress file.
  std::string key_of(const std::vector<std::string>& row) const;
  // A key from key-column values given in key_columns order.
  std::string make_key(const std::vector<std::string>& key_values) const;

  const std::map<std::string, PointRecord>& completed() const { return completed_; }
  std::size_t rows_kept() const { return rows_kept_; }        // rows of done points found on opening
  std::size_t rows_dropped() const { return rows_dropped_; }  // rows of an unfinished point (begin removes them)
  bool torn_line_dropped() const { return torn_; }

  // Applies what opening found: empties the files (fresh), drops the unfinished point's rows and a
  // torn progress line, writes the CSV header of a new file; everything fsync'ed. Call once,
  // before append.
  void begin();

  // Records a grid point: the rows (each with every column, in order) and then its progress line.
  // Every row must carry `key` in its key columns. Throws std::runtime_error naming the file when a
  // write or fsync fails; the point is then not recorded (a later run drops its rows).
  void append(const std::string& key, const std::vector<std::vector<std::string>>& rows);

  const std::string& csv_path() const { return csv_path_; }
  const std::string& progress_path() const { return progress_path_; }

 private:
  void open_progress();
  void open_csv();

  std::vector<std::string> columns_;
  std::vector<std::size_t> key_index_;
  std::string dir_, csv_path_, progress_path_;
  int csv_fd_ = -1, progress_fd_ = -1;
  bool fresh_ = false, begun_ = false;
  std::map<std::string, PointRecord> completed_;
  std::size_t rows_kept_ = 0, rows_dropped_ = 0;
  bool torn_ = false;
  std::size_t progress_keep_ = 0;  // bytes of the progress file to keep (all but a torn last line)
  std::size_t csv_keep_ = 0;       // bytes of the CSV to keep (0: rewrite the header)
};

}  // namespace kraus::experiments
