// Crash-safe, resumable result files.
//
// A study writes DIR/<study>.csv (the rows) and DIR/<study>.progress (the keys of the grid points
// whose rows are complete, one per line). Each grid point is recorded in two steps:
//   1. its rows are appended to the CSV in one write() and fsync'ed;
//   2. its key is appended to the progress file and fsync'ed.
// A point is done exactly when its key line is complete. On opening, the store
//   * drops a torn last line of the progress file (a kill during step 2),
//   * keeps the CSV rows of done points and truncates the CSV after them: any rows past that point
//     belong to the one point that was being written (a kill during step 1, or between 1 and 2,
//     including a torn last line), which is then run again;
// so a run killed at any instant (kill -9, power loss after fsync) and started again neither
// duplicates nor loses a row. Anything else (rows of a done point after rows of an unfinished one,
// a done point's rows in two places, a header that differs from the study's columns, a progress
// file without its CSV) is not something this protocol produces and is refused, naming the file.
//
// The progress file is locked (flock) while the store is open, so that two runs cannot write the
// same study's files at once.
#pragma once

#include <cstddef>
#include <set>
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

class ResultStore {
 public:
  // Opens (creating) DIR/<name>.csv and DIR/<name>.progress; DIR must exist. `key_columns` are the
  // columns whose values identify a grid point (a subset of `columns`). With `fresh`, both files
  // are emptied first. Throws std::runtime_error for I/O failures and for files this protocol
  // cannot have produced (message names the file and suggests --fresh).
  ResultStore(const std::string& dir, const std::string& name, std::vector<std::string> columns,
              std::vector<std::string> key_columns, bool fresh);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  // The key of a row (its key columns' values): "qubits=8 depth=4 ...", one line of the progress file.
  std::string key_of(const std::vector<std::string>& row) const;
  // A key from key-column values given in key_columns order.
  std::string make_key(const std::vector<std::string>& key_values) const;

  const std::set<std::string>& completed() const { return completed_; }
  std::size_t rows_kept() const { return rows_kept_; }        // rows of done points found on opening
  std::size_t rows_dropped() const { return rows_dropped_; }  // rows of an unfinished point removed
  bool torn_line_dropped() const { return torn_; }

  // Records a grid point: the rows (each with every column, in order) and then the key. Every row
  // must carry `key` in its key columns.
  void append(const std::string& key, const std::vector<std::vector<std::string>>& rows);

  const std::string& csv_path() const { return csv_path_; }
  const std::string& progress_path() const { return progress_path_; }

 private:
  void open_progress(bool fresh);
  void open_csv(bool fresh);

  std::vector<std::string> columns_;
  std::vector<std::size_t> key_index_;
  std::string csv_path_, progress_path_;
  int csv_fd_ = -1, progress_fd_ = -1;
  std::set<std::string> completed_;
  std::size_t rows_kept_ = 0, rows_dropped_ = 0;
  bool torn_ = false;
};

}  // namespace kraus::experiments
