// The crash-safe result files: CSV quoting, atomic writes, and resuming after an interruption at
// any instant (torn lines, rows without their progress key), refusing what the protocol cannot
// produce.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/store.hpp"

using namespace kraus::experiments;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kraus_store_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void append_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

const std::vector<std::string> kColumns = {"study", "noise_model", "qubits", "value"};
const std::vector<std::string> kKeys = {"noise_model", "qubits"};

std::vector<std::string> row(const std::string& model, int qubits, const std::string& value) {
  return {"toy", model, std::to_string(qubits), value};
}

}  // namespace

TEST_CASE("CSV fields are quoted when needed and split back", "[experiments][store]") {
  CHECK(csv_line({"a", "b c", "1.5"}) == "a,b c,1.5\n");
  CHECK(csv_field("x,y") == "\"x,y\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field(" padded") == "\" padded\"");
  CHECK_THROWS_AS(csv_field("two\nlines"), std::invalid_argument);
  const std::vector<std::string> fields = {"plain", "x,y", "say \"hi\"", "", " padded"};
  std::string line = csv_line(fields);
  line.pop_back();
  CHECK(csv_split(line) == fields);
  CHECK(csv_split("a,,b,") == std::vector<std::string>{"a", "", "b", ""});
  CHECK_THROWS_AS(csv_split("\"open"), std::invalid_argument);
  CHECK_THROWS_AS(csv_split("\"a\"b"), std::invalid_argument);
  CHECK_THROWS_AS(csv_split("a\"b"), std::invalid_argument);
}

TEST_CASE("write_file_atomically replaces a file and leaves no temporary", "[experiments][store]") {
  TempDir dir;
  const fs::path p = dir.path / "x.json";
  write_file_atomically(p.string(), "one\n");
  write_file_atomically(p.string(), "two\n");
  CHECK(slurp(p) == "two\n");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  CHECK_THROWS_WITH(write_file_atomically((dir.path / "missing" / "x.json").string(), "x"),
                    Contains("cannot create"));
}

TEST_CASE("ResultStore appends points and finds them again", "[experiments][store]") {
  TempDir dir;
  {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(store.completed().empty());
    CHECK(slurp(store.csv_path()) == "study,noise_model,qubits,value\n");
    store.append(store.make_key({"ideal", "2"}), {row("ideal", 2, "0.5")});
    store.append(store.make_key({"ideal", "3"}), {row("ideal", 3, "0.25"), row("ideal", 3, "0.125")});
    store.append(store.make_key({"ideal", "4"}), {});  // a point may have no rows
    CHECK(store.make_key({"ideal", "2"}) == "noise_model=ideal qubits=2");
    CHECK_THROWS_AS(store.append(store.make_key({"ideal", "2"}), {row("ideal", 2, "1")}), std::logic_error);
    CHECK_THROWS_AS(store.append(store.make_key({"ideal", "5"}), {row("ideal", 6, "1")}), std::logic_error);
  }
  ResultStore again(dir.str(), "toy", kColumns, kKeys, false);
  CHECK(again.completed().size() == 3);
  CHECK(again.rows_kept() == 3);
  CHECK(again.rows_dropped() == 0);
  CHECK_FALSE(again.torn_line_dropped());
  CHECK(slurp(again.csv_path()) ==
        "study,noise_model,qubits,value\ntoy,ideal,2,0.5\ntoy,ideal,3,0.25\ntoy,ideal,3,0.125\n");
  CHECK(slurp(again.progress_path()) ==
        "noise_model=ideal qubits=2\nnoise_model=ideal qubits=3\nnoise_model=ideal qubits=4\n");
}

TEST_CASE("ResultStore drops the unfinished point of an interrupted run", "[experiments][store]") {
  TempDir dir;
  const std::string header = "study,noise_model,qubits,value\n";
  const std::string done = "toy,ideal,2,0.5\n";
  {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    store.append(store.make_key({"ideal", "2"}), {row("ideal", 2, "0.5")});
  }
  const fs::path csv = dir.path / "toy.csv";
  const fs::path progress = dir.path / "toy.progress";

  SECTION("killed in the middle of a row") {
    append_text(csv, "toy,ideal,3,0.2");
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(store.torn_line_dropped());
    CHECK(store.completed().size() == 1);
    CHECK(slurp(csv) == header + done);
  }
  SECTION("killed after the rows, before the key") {
    append_text(csv, "toy,ideal,3,0.25\ntoy,ideal,3,0.125\n");
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(store.rows_dropped() == 2);
    CHECK(slurp(csv) == header + done);
    store.append(store.make_key({"ideal", "3"}), {row("ideal", 3, "0.25")});
    CHECK(slurp(csv) == header + done + "toy,ideal,3,0.25\n");
  }
  SECTION("killed while writing the key") {
    append_text(csv, "toy,ideal,3,0.25\n");
    append_text(progress, "noise_model=ideal qu");
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(store.torn_line_dropped());
    CHECK(store.rows_dropped() == 1);
    CHECK(store.completed().size() == 1);
    CHECK(slurp(progress) == "noise_model=ideal qubits=2\n");
    CHECK(slurp(csv) == header + done);
  }
  SECTION("killed while writing the header of a new file") {
    fs::remove(csv);
    fs::remove(progress);
    append_text(csv, "study,noise_mo");
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(slurp(csv) == header);
  }
  SECTION("--fresh empties both files") {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, true);
    CHECK(store.completed().empty());
    CHECK(slurp(csv) == header);
    CHECK(slurp(progress).empty());
  }
}

TEST_CASE("ResultStore refuses files the protocol cannot produce", "[experiments][store]") {
  TempDir dir;
  {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    store.append(store.make_key({"ideal", "2"}), {row("ideal", 2, "0.5")});
    store.append(store.make_key({"ideal", "3"}), {row("ideal", 3, "0.5")});
  }
  const fs::path csv = dir.path / "toy.csv";
  const fs::path progress = dir.path / "toy.progress";
  auto open_error = [&]() {
    try {
      ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SECTION("other columns") {
    CHECK_THAT(open_error(), Equals("no error"));
    std::string text = slurp(csv);
    text.replace(0, 5, "STUDY");
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << text;
    CHECK_THAT(open_error(), Contains("toy.csv") && Contains("not this study's") && Contains("--fresh"));
  }
  SECTION("a done point's rows after an unfinished point's") {
    std::string text = slurp(csv);
    text.insert(text.find("toy,ideal,3"), "toy,ideal,9,1\n");
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << text;
    CHECK_THAT(open_error(), Contains("line 4 belongs to a completed point") && Contains("--fresh"));
  }
  SECTION("a point's rows twice") {
    append_text(csv, "toy,ideal,2,0.5\n");
    CHECK_THAT(open_error(), Contains("appear twice"));
  }
  SECTION("a key twice") {
    append_text(progress, "noise_model=ideal qubits=2\n");
    CHECK_THAT(open_error(), Contains("repeats the point"));
  }
  SECTION("a row with the wrong number of fields") {
    append_text(csv, "toy,ideal\n");
    CHECK_THAT(open_error(), Contains("line 4 has 2 fields"));
  }
  SECTION("progress without its CSV") {
    fs::remove(csv);
    CHECK_THAT(open_error(), Contains("has no rows") && Contains("2 completed points"));
  }
  SECTION("a second writer") {
    ResultStore first(dir.str(), "toy", kColumns, kKeys, false);
    CHECK_THAT(open_error(), Contains("another run of this study is writing"));
  }
}
