#include "harness/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace kraus::experiments {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::string& path) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", path);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void sync(int fd, const std::string& path) {
  if (::fsync(fd) != 0) io_error("cannot fsync", path);
}

std::string read_all(int fd, const std::string& path) {
  std::string data;
  char buf[1 << 16];
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("cannot read", path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  return data;
}

void truncate_to(int fd, std::size_t size, const std::string& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) io_error("cannot truncate", path);
  sync(fd, path);
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the files themselves are synced
  ::fsync(fd);
  ::close(fd);
}

std::string parent_dir(const std::string& path) {
  const std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

[[noreturn]] void inconsistent(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what +
                           "; this is not how kraus writes results (edited by hand?): use --fresh to discard the "
                           "study's results, or another --out");
}

std::string hex64(std::uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
  return s;
}

std::string progress_line(const std::string& key, const PointRecord& r) {
  return key + "\trows=" + std::to_string(r.rows) + "\tfnv1a64=" + hex64(r.checksum) + "\n";
}

// Parses "KEY\trows=N\tfnv1a64=HEX" (without the '\n'); false when the line is not of that form.
bool parse_progress_line(const std::string& line, std::string* key, PointRecord* r) {
  const std::size_t t2 = line.rfind('\t');
  if (t2 == std::string::npos || t2 == 0) return false;
  const std::size_t t1 = line.rfind('\t', t2 - 1);
  if (t1 == std::string::npos || t1 == 0) return false;
  *key = line.substr(0, t1);
  const std::string rows = line.substr(t1 + 1, t2 - t1 - 1), sum = line.substr(t2 + 1);
  if (rows.rfind("rows=", 0) != 0 || sum.rfind("fnv1a64=", 0) != 0 || sum.size() != 8 + 16) return false;
  const char* first = rows.data() + 5;
  const char* last = rows.data() + rows.size();
  const auto [p1, e1] = std::from_chars(first, last, r->rows);
  if (first == last || e1 != std::errc() || p1 != last) return false;
  for (std::size_t i = 8; i < sum.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(sum[i])) || std::isupper(static_cast<unsigned char>(sum[i]))) {
      return false;
    }
  }
  r->checksum = std::stoull(sum.substr(8), nullptr, 16);
  return true;
}

}  // namespace

std::string csv_field(const std::string& value) {
  if (value.find_first_of("\r\n") != std::string::npos) {
    throw std::invalid_argument("a CSV value may not contain a line break: '" + value + "'");
  }
  const bool quote = value.find_first_of(",\"") != std::string::npos ||
                     (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote) return value;
  std::string q = "\"";
  for (char c : value) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\n";
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) throw std::invalid_argument("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') throw std::invalid_argument("text after a closing quote");
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') throw std::invalid_argument("a quote inside an unquoted field");
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string dir = parent_dir(path);
  const std::string tmp = dir + "/." + std::filesystem::path(path).filename().string() + ".tmp." +
                          std::to_string(::getpid());
  // Errors name `path`, the file the caller asked for, and the temporary in passing.
  auto fail = [&](const std::string& what) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    io_error(what + " (through the temporary file " + tmp + ")", path);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create");
  try {
    write_all(fd, content, tmp);
    sync(fd, tmp);
  } catch (const std::runtime_error& e) {  // names the temporary and the error
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot write it: " + e.what());
  }
  if (::close(fd) != 0) fail("cannot write");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot replace");
  sync_directory(dir);
}

std::uint64_t fnv1a64(const std::string& bytes, std::uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// ---- ResultStore -------------------------------------------------------------------------------

ResultStore::ResultStore(const std::string& dir, const std::string& name, std::vector<std::string> columns,
                         std::vector<std::string> key_columns, bool fresh)
    : columns_(std::move(columns)), dir_(dir), fresh_(fresh) {
  for (const std::string& k : key_columns) {
    const auto it = std::find(columns_.begin(), columns_.end(), k);
    if (it == columns_.end()) throw std::logic_error("key column '" + k + "' is not a column");
    key_index_.push_back(static_cast<std::size_t>(it - columns_.begin()));
  }
  csv_path_ = dir + "/" + name + ".csv";
  progress_path_ = dir + "/" + name + ".progress";
  try {
    open_progress();
    open_csv();
  } catch (...) {
    if (csv_fd_ >= 0) ::close(csv_fd_);
    if (progress_fd_ >= 0) ::close(progress_fd_);  // releases the lock
    throw;
  }
}

ResultStore::~ResultStore() {
  if (csv_fd_ >= 0) ::close(csv_fd_);
  if (progress_fd_ >= 0) ::close(progress_fd_);
}

std::string point_key(const std::vector<std::string>& key_columns, const std::vector<std::string>& key_values) {
  std::string key;
  for (std::size_t i = 0; i < key_columns.size(); ++i) {
    if (i > 0) key += ' ';
    key += key_columns[i] + "=" + csv_field(key_values.at(i));
  }
  return key;
}

std::string ResultStore::make_key(const std::vector<std::string>& key_values) const {
  std::vector<std::string> names;
  for (std::size_t i : key_index_) names.push_back(columns_[i]);
  return point_key(names, key_values);
}

std::string ResultStore::key_of(const std::vector<std::string>& row) const {
  std::vector<std::string> values;
  for (std::size_t i : key_index_) values.push_back(row.at(i));
  return make_key(values);
}

void ResultStore::open_progress() {
  progress_fd_ = ::open(progress_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (progress_fd_ < 0) io_error("cannot open", progress_path_);
  if (::flock(progress_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw std::runtime_error(progress_path_ + ": another run of this study is writing into this folder (the file is "
                               "locked); wait for it or use another --out");
    }
    io_error("cannot lock", progress_path_);
  }
  if (fresh_) return;
  const std::string text = read_all(progress_fd_, progress_path_);
  const std::size_t end = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  torn_ = end < text.size();  // a torn last line: the point was not recorded
  progress_keep_ = end;
  std::size_t start = 0, line = 1;
  while (start < end) {
    const std::size_t nl = text.find('\n', start);
    const std::string where = "line " + std::to_string(line);
    const std::string content = text.substr(start, nl - start);
    std::string key;
    PointRecord record;
    if (content.find('\t') == std::string::npos && !content.empty()) {
      throw std::runtime_error(progress_path_ + ": " + where + " has no row count and checksum: it was written by " +
                               "an earlier version of kraus, whose results cannot be checked; use --fresh to measure " +
                               "the study again, or another --out");
    }
    if (!parse_progress_line(content, &key, &record)) {
      inconsistent(progress_path_, where + " is not KEY<tab>rows=N<tab>fnv1a64=HEX");
    }
    if (!completed_.emplace(key, record).second) {
      inconsistent(progress_path_, where + " repeats the point '" + key + "'");
    }
    start = nl + 1;
    ++line;
  }
}

void ResultStore::open_csv() {
  csv_fd_ = ::open(csv_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (csv_fd_ < 0) io_error("cannot open", csv_path_);
  if (fresh_) return;  // csv_keep_ = 0: begin() rewrites it
  const std::string text = read_all(csv_fd_, csv_path_);
  const std::string header = csv_line(columns_);

  const std::size_t header_end = text.find('\n');
  if (header_end == std::string::npos) {  // new, or killed while writing the header
    if (!completed_.empty()) {
      inconsistent(csv_path_, "has no rows, but " + progress_path_ + " lists " + std::to_string(completed_.size()) +
                                  " completed points");
    }
    return;
  }
  if (text.compare(0, header_end + 1, header) != 0) {
    throw std::runtime_error(csv_path_ + ": its columns (" + text.substr(0, header_end) +
                             ") are not this study's (" + header.substr(0, header.size() - 1) +
                             "): use --fresh to discard it, or another --out");
  }

  std::size_t pos = header_end + 1;
  std::size_t line_number = 2;
  std::size_t tail_start = std::string::npos;  // first byte of the unfinished point's rows
  std::map<std::string, PointRecord> found;    // what the CSV holds of each done point
  std::string previous_key;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // a torn last line
      torn_ = true;
      if (tail_start == std::string::npos) tail_start = pos;
      break;
    }
    std::vector<std::string> fields;
    try {
      fields = csv_split(text.substr(pos, nl - pos));
    } catch (const std::invalid_argument& e) {
      inconsistent(csv_path_, "line " + std::to_string(line_number) + ": " + e.what());
    }
    if (fields.size() != columns_.size()) {
      inconsistent(csv_path_, "line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                                  " fields, the header " + std::to_string(columns_.size()));
    }
    const std::string key = key_of(fields);
    if (completed_.count(key)) {
      if (tail_start != std::string::npos) {
        inconsistent(csv_path_, "line " + std::to_string(line_number) + " belongs to a completed point but follows rows "
                                                                         "of an unfinished one");
      }
      if (key != previous_key && found.count(key)) {
        inconsistent(csv_path_, "line " + std::to_string(line_number) + ": the rows of point '" + key +
                                    "' appear twice");
      }
      PointRecord& f = found[key];
      ++f.rows;
      f.checksum = fnv1a64(text.substr(pos, nl + 1 - pos), f.checksum);
      previous_key = key;
      ++rows_kept_;
    } else {
      if (tail_start == std::string::npos) tail_start = pos;
      ++rows_dropped_;
    }
    pos = nl + 1;
    ++line_number;
  }

  // Every done point must have exactly the rows that were written.
  std::vector<std::string> differences;
  for (const auto& [key, recorded] : completed_) {
    const auto it = found.find(key);
    const PointRecord got = it == found.end() ? PointRecord{} : it->second;
    if (got.rows != recorded.rows) {
      auto rows = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); };
      differences.push_back("point '" + key + "' has " + rows(got.rows) + ", " + progress_path_ + " records " +
                            rows(recorded.rows));
    } else if (got.checksum != recorded.checksum) {
      differences.push_back("the rows of point '" + key + "' are not those written (their checksum fnv1a64=" +
                            hex64(got.checksum) + " differs from the recorded " + hex64(recorded.checksum) + ")");
    }
  }
  if (!differences.empty()) {
    std::string msg = csv_path_ + ": " + differences.front();
    if (torn_) msg += " (the file ends in an incomplete line)";
    if (differences.size() > 1) msg += ", and " + std::to_string(differences.size() - 1) + " more points differ";
    throw std::runtime_error(msg + "; the results were changed after they were written: use --fresh to measure the "
                                   "study again, or delete the point's line from " +
                             progress_path_ + " and its rows from the CSV to measure that point again");
  }
  csv_keep_ = tail_start == std::string::npos ? text.size() : tail_start;
}

void ResultStore::begin() {
  if (begun_) throw std::logic_error("ResultStore::begin called twice");
  truncate_to(progress_fd_, progress_keep_, progress_path_);
  if (csv_keep_ == 0) {
    truncate_to(csv_fd_, 0, csv_path_);
    write_all(csv_fd_, csv_line(columns_), csv_path_);
    sync(csv_fd_, csv_path_);
  } else {
    truncate_to(csv_fd_, csv_keep_, csv_path_);
  }
  sync_directory(dir_);
  begun_ = true;
}

void ResultStore::append(const std::string& key, const std::vector<std::vector<std::string>>& rows) {
  if (!begun_) throw std::logic_error("ResultStore::append before begin");
  if (completed_.count(key)) throw std::logic_error("point '" + key + "' is already recorded");
  std::string text;
  for (const auto& row : rows) {
    if (row.size() != columns_.size()) throw std::logic_error("a row has the wrong number of columns");
    if (key_of(row) != key) throw std::logic_error("a row of point '" + key + "' has the key '" + key_of(row) + "'");
    text += csv_line(row);
  }
  if (key.empty() || key.find_first_of("\t\n") != std::string::npos) {
    throw std::logic_error("a point's key may not be empty or hold a tab or line break: '" + key + "'");
  }
  const PointRecord record{rows.size(), fnv1a64(text)};
  if (!text.empty()) {
    write_all(csv_fd_, text, csv_path_);
    sync(csv_fd_, csv_path_);
  }
  write_all(progress_fd_, progress_line(key, record), progress_path_);
  sync(progress_fd_, progress_path_);
  completed_.emplace(key, record);
}

}  // namespace kraus::experiments
