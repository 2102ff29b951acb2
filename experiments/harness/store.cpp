#include "harness/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error("cannot create", tmp);
  try {
    write_all(fd, content, tmp);
    sync(fd, tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    io_error("cannot replace", path);
  }
  sync_directory(dir);
}

// ---- ResultStore -------------------------------------------------------------------------------

ResultStore::ResultStore(const std::string& dir, const std::string& name, std::vector<std::string> columns,
                         std::vector<std::string> key_columns, bool fresh)
    : columns_(std::move(columns)) {
  for (const std::string& k : key_columns) {
    const auto it = std::find(columns_.begin(), columns_.end(), k);
    if (it == columns_.end()) throw std::logic_error("key column '" + k + "' is not a column");
    key_index_.push_back(static_cast<std::size_t>(it - columns_.begin()));
  }
  csv_path_ = dir + "/" + name + ".csv";
  progress_path_ = dir + "/" + name + ".progress";
  try {
    open_progress(fresh);
    open_csv(fresh);
  } catch (...) {
    if (csv_fd_ >= 0) ::close(csv_fd_);
    if (progress_fd_ >= 0) ::close(progress_fd_);  // releases the lock
    throw;
  }
  sync_directory(dir);
}

ResultStore::~ResultStore() {
  if (csv_fd_ >= 0) ::close(csv_fd_);
  if (progress_fd_ >= 0) ::close(progress_fd_);
}

std::string ResultStore::make_key(const std::vector<std::string>& key_values) const {
  std::string key;
  for (std::size_t i = 0; i < key_index_.size(); ++i) {
    if (i > 0) key += ' ';
    key += columns_[key_index_[i]] + "=" + csv_field(key_values.at(i));
  }
  return key;
}

std::string ResultStore::key_of(const std::vector<std::string>& row) const {
  std::vector<std::string> values;
  for (std::size_t i : key_index_) values.push_back(row.at(i));
  return make_key(values);
}

void ResultStore::open_progress(bool fresh) {
  progress_fd_ = ::open(progress_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (progress_fd_ < 0) io_error("cannot open", progress_path_);
  if (::flock(progress_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw std::runtime_error(progress_path_ + ": another run of this study is writing into this folder (the file is "
                               "locked); wait for it or use another --out");
    }
    io_error("cannot lock", progress_path_);
  }
  if (fresh) truncate_to(progress_fd_, 0, progress_path_);
  const std::string text = read_all(progress_fd_, progress_path_);
  const std::size_t end = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (end < text.size()) {  // a torn last line: the point was not recorded
    torn_ = true;
    truncate_to(progress_fd_, end, progress_path_);
  }
  std::size_t start = 0, line = 1;
  while (start < end) {
    const std::size_t nl = text.find('\n', start);
    const std::string key = text.substr(start, nl - start);
    if (key.empty()) inconsistent(progress_path_, "line " + std::to_string(line) + " is empty");
    if (!completed_.insert(key).second) {
      inconsistent(progress_path_, "line " + std::to_string(line) + " repeats the point '" + key + "'");
    }
    start = nl + 1;
    ++line;
  }
}

void ResultStore::open_csv(bool fresh) {
  csv_fd_ = ::open(csv_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (csv_fd_ < 0) io_error("cannot open", csv_path_);
  if (fresh) truncate_to(csv_fd_, 0, csv_path_);
  const std::string text = read_all(csv_fd_, csv_path_);
  const std::string header = csv_line(columns_);

  const std::size_t header_end = text.find('\n');
  if (header_end == std::string::npos) {  // new, or killed while writing the header
    if (!completed_.empty()) {
      inconsistent(csv_path_, "has no rows, but " + progress_path_ + " lists " + std::to_string(completed_.size()) +
                                  " completed points");
    }
    truncate_to(csv_fd_, 0, csv_path_);
    write_all(csv_fd_, header, csv_path_);
    sync(csv_fd_, csv_path_);
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
  std::set<std::string> seen;
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
      if (key != previous_key && !seen.insert(key).second) {
        inconsistent(csv_path_, "line " + std::to_string(line_number) + ": the rows of point '" + key +
                                    "' appear twice");
      }
      previous_key = key;
      ++rows_kept_;
    } else {
      if (tail_start == std::string::npos) tail_start = pos;
      ++rows_dropped_;
    }
    pos = nl + 1;
    ++line_number;
  }
  if (tail_start != std::string::npos) truncate_to(csv_fd_, tail_start, csv_path_);
}

void ResultStore::append(const std::string& key, const std::vector<std::vector<std::string>>& rows) {
  if (completed_.count(key)) throw std::logic_error("point '" + key + "' is already recorded");
  std::string text;
  for (const auto& row : rows) {
    if (row.size() != columns_.size()) throw std::logic_error("a row has the wrong number of columns");
    if (key_of(row) != key) throw std::logic_error("a row of point '" + key + "' has the key '" + key_of(row) + "'");
    text += csv_line(row);
  }
  if (!text.empty()) {
    write_all(csv_fd_, text, csv_path_);
    sync(csv_fd_, csv_path_);
  }
  write_all(progress_fd_, key + "\n", progress_path_);
  sync(progress_fd_, progress_path_);
  completed_.insert(key);
}

}  // namespace kraus::experiments
