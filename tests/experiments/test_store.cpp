// The crash-safe result files: CSV quoting, atomic writes, and resuming after an interruption at
// any instant (torn lines, rows without their progress line), refusing what the protocol cannot
// produce: done points whose rows were deleted, duplicated, truncated or changed, progress files
// of an earlier version.
#include <catch2/catch.hpp>

#include <cstdio>
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

// A store opened and begun, as run_study uses it.
struct OpenStore {
  ResultStore store;
  OpenStore(const TempDir& dir, bool fresh) : store(dir.str(), "toy", kColumns, kKeys, fresh) { store.begin(); }
};

// The progress line of a point, computed here from the published FNV-1a definition.
std::string progress_line(const std::string& key, std::size_t rows, const std::string& csv_rows) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : csv_rows) h = (h ^ c) * 0x100000001b3ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return key + "\trows=" + std::to_string(rows) + "\tfnv1a64=" + hex + "\n";
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

TEST_CASE("fnv1a64 gives the published FNV-1a 64-bit values", "[experiments][store]") {
  // Test vectors of the FNV reference (Fowler, Noll, Vo: draft-eastlake-fnv, "a" and "foobar").
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
  CHECK(fnv1a64("bar", fnv1a64("foo")) == fnv1a64("foobar"));
}

TEST_CASE("ResultStore writes nothing until begin", "[experiments][store]") {
  TempDir dir;
  {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    CHECK(slurp(store.csv_path()).empty());
    CHECK(slurp(store.progress_path()).empty());
    CHECK_THROWS_AS(store.append(store.make_key({"ideal", "2"}), {row("ideal", 2, "0.5")}), std::logic_error);
  }
  ResultStore store(dir.str(), "toy", kColumns, kKeys, false);  // empty files: a new study
  store.begin();
  CHECK(slurp(store.csv_path()) == "study,noise_model,qubits,value\n");
}

TEST_CASE("ResultStore appends points and finds them again", "[experiments][store]") {
  TempDir dir;
  {
    OpenStore open(dir, false);
    ResultStore& store = open.store;
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
  CHECK(again.completed().at("noise_model=ideal qubits=3") ==
        PointRecord{2, fnv1a64("toy,ideal,3,0.25\ntoy,ideal,3,0.125\n")});
  CHECK(again.rows_kept() == 3);
  CHECK(again.rows_dropped() == 0);
  CHECK_FALSE(again.torn_line_dropped());
  CHECK(slurp(again.csv_path()) ==
        "study,noise_model,qubits,value\ntoy,ideal,2,0.5\ntoy,ideal,3,0.25\ntoy,ideal,3,0.125\n");
  CHECK(slurp(again.progress_path()) ==
        progress_line("noise_model=ideal qubits=2", 1, "toy,ideal,2,0.5\n") +
            progress_line("noise_model=ideal qubits=3", 2, "toy,ideal,3,0.25\ntoy,ideal,3,0.125\n") +
            progress_line("noise_model=ideal qubits=4", 0, ""));
}

TEST_CASE("ResultStore drops the unfinished point of an interrupted run", "[experiments][store]") {
  TempDir dir;
  const std::string header = "study,noise_model,qubits,value\n";
  const std::string done = "toy,ideal,2,0.5\n";
  { OpenStore(dir, false).store.append("noise_model=ideal qubits=2", {row("ideal", 2, "0.5")}); }
  const fs::path csv = dir.path / "toy.csv";
  const fs::path progress = dir.path / "toy.progress";
  const std::string recorded = slurp(progress);

  SECTION("killed in the middle of a row") {
    append_text(csv, "toy,ideal,3,0.2");
    OpenStore open(dir, false);
    CHECK(open.store.torn_line_dropped());
    CHECK(open.store.completed().size() == 1);
    CHECK(slurp(csv) == header + done);
  }
  SECTION("killed after the rows, before the progress line") {
    append_text(csv, "toy,ideal,3,0.25\ntoy,ideal,3,0.125\n");
    OpenStore open(dir, false);
    CHECK(open.store.rows_dropped() == 2);
    CHECK(slurp(csv) == header + done);
    open.store.append(open.store.make_key({"ideal", "3"}), {row("ideal", 3, "0.25")});
    CHECK(slurp(csv) == header + done + "toy,ideal,3,0.25\n");
  }
  SECTION("killed while writing the progress line") {
    append_text(csv, "toy,ideal,3,0.25\n");
    append_text(progress, "noise_model=ideal qubits=3\trows=1\tfnv1");
    OpenStore open(dir, false);
    CHECK(open.store.torn_line_dropped());
    CHECK(open.store.rows_dropped() == 1);
    CHECK(open.store.completed().size() == 1);
    CHECK(slurp(progress) == recorded);
    CHECK(slurp(csv) == header + done);
  }
  SECTION("killed while writing the header of a new file") {
    fs::remove(csv);
    fs::remove(progress);
    append_text(csv, "study,noise_mo");
    OpenStore open(dir, false);
    CHECK(slurp(csv) == header);
  }
  SECTION("--fresh empties both files, without reading them") {
    append_text(progress, "not a progress line\n");
    OpenStore open(dir, true);
    CHECK(open.store.completed().empty());
    CHECK(slurp(csv) == header);
    CHECK(slurp(progress).empty());
  }
}

TEST_CASE("ResultStore refuses files the protocol cannot produce", "[experiments][store]") {
  TempDir dir;
  {
    OpenStore open(dir, false);
    open.store.append("noise_model=ideal qubits=2", {row("ideal", 2, "0.5")});
    open.store.append("noise_model=ideal qubits=3", {row("ideal", 3, "0.5")});
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
    append_text(progress, progress_line("noise_model=ideal qubits=2", 1, "toy,ideal,2,0.5\n"));
    CHECK_THAT(open_error(), Contains("line 3 repeats the point"));
  }
  SECTION("a progress line without its row count") {
    append_text(progress, "noise_model=ideal qubits=4\trows=x\tfnv1a64=0123456789abcdef\n");
    CHECK_THAT(open_error(), Contains("toy.progress: line 3 is not KEY<tab>rows=N<tab>fnv1a64=HEX"));
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

TEST_CASE("ResultStore refuses a done point whose rows were changed, and changes nothing", "[experiments][store]") {
  // Points of 1, 13 and 2 rows, as a study with several rows per point writes them.
  TempDir dir;
  const std::string p2 = "noise_model=ideal qubits=2", p3 = "noise_model=ideal qubits=3",
                    p4 = "noise_model=ideal qubits=4";
  {
    OpenStore open(dir, false);
    open.store.append(p2, {row("ideal", 2, "0.5")});
    std::vector<std::vector<std::string>> thirteen;
    for (int i = 0; i < 13; ++i) thirteen.push_back(row("ideal", 3, std::to_string(i)));
    open.store.append(p3, thirteen);
    open.store.append(p4, {row("ideal", 4, "0.25"), row("ideal", 4, "0.125")});
  }
  const fs::path csv = dir.path / "toy.csv";
  const fs::path progress = dir.path / "toy.progress";
  const std::string text = slurp(csv);
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const std::size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << t;
  };
  auto open_error = [&]() {
    const std::string csv_before = slurp(csv), progress_before = slurp(progress);
    std::string message = "no error";
    try {
      ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(slurp(csv) == csv_before);  // refused: nothing truncated or rewritten
    CHECK(slurp(progress) == progress_before);
    return message;
  };
  // Every refusal names the CSV and says how to go on.
  auto refused = [&](const std::string& message) {
    CHECK_THAT(message, Contains(csv.string() + ": ") && Contains("--fresh") &&
                            Contains("delete the point's line from " + progress.string()));
    return message;
  };

  CHECK_THAT(open_error(), Equals("no error"));
  SECTION("one row deleted") {
    edit("toy,ideal,3,7\n", "");
    CHECK_THAT(refused(open_error()),
               Contains("point '" + p3 + "' has 12 rows, " + progress.string() + " records 13 rows"));
  }
  SECTION("a whole point deleted") {
    std::string rows;
    for (int i = 0; i < 13; ++i) rows += "toy,ideal,3," + std::to_string(i) + "\n";
    edit(rows, "");
    CHECK_THAT(refused(open_error()), Contains("point '" + p3 + "' has 0 rows") && Contains("records 13"));
  }
  SECTION("a row doubled") {
    edit("toy,ideal,3,7\n", "toy,ideal,3,7\ntoy,ideal,3,7\n");
    CHECK_THAT(refused(open_error()), Contains("point '" + p3 + "' has 14 rows"));
  }
  SECTION("the last row truncated in the middle") {
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << text.substr(0, text.size() - 4);
    CHECK_THAT(refused(open_error()), Contains("point '" + p4 + "' has 1 row,") && Contains("records 2 rows") &&
                                 Contains("ends in an incomplete line"));
  }
  SECTION("a value changed") {
    edit("toy,ideal,3,7\n", "toy,ideal,3,8\n");
    CHECK_THAT(refused(open_error()), Contains("the rows of point '" + p3 + "' are not those written"));
  }
  SECTION("two points damaged") {
    edit("toy,ideal,2,0.5\ntoy,ideal,3,0\n", "toy,ideal,3,0\n");
    const std::string t = slurp(csv);
    std::ofstream(csv, std::ios::binary | std::ios::trunc) << t.substr(0, t.size() - 4);
    CHECK_THAT(open_error(), Contains("point '" + p2 + "' has 0 rows") && Contains("and 1 more points differ"));
  }
  SECTION("deleting the point's line and its rows measures it again") {
    std::string rows;
    for (int i = 0; i < 13; ++i) rows += "toy,ideal,3," + std::to_string(i) + "\n";
    edit(rows, "");
    std::string lines = slurp(progress);
    const std::size_t at = lines.find(p3 + "\t");
    lines.erase(at, lines.find('\n', at) + 1 - at);
    std::ofstream(progress, std::ios::binary | std::ios::trunc) << lines;
    OpenStore open(dir, false);
    CHECK(open.store.completed().size() == 2);
    CHECK(open.store.completed().count(p3) == 0);
  }
}

TEST_CASE("ResultStore refuses a progress file of an earlier version", "[experiments][store]") {
  // tests/data/experiments/store_v1: keys only, as kraus wrote them before row counts and checksums.
  TempDir dir;
  for (const char* f : {"toy.csv", "toy.progress"}) {
    fs::copy_file(fs::path(KRAUS_TEST_DATA_DIR) / "experiments" / "store_v1" / f, dir.path / f);
  }
  const std::string csv = slurp(dir.path / "toy.csv"), progress = slurp(dir.path / "toy.progress");
  std::string message = "no error";
  try {
    ResultStore store(dir.str(), "toy", kColumns, kKeys, false);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK_THAT(message, Contains((dir.path / "toy.progress").string() + ": line 1 has no row count and checksum") &&
                          Contains("earlier version of kraus") && Contains("--fresh"));
  CHECK(slurp(dir.path / "toy.csv") == csv);
  CHECK(slurp(dir.path / "toy.progress") == progress);
  OpenStore fresh(dir, true);  // --fresh starts over
  CHECK(fresh.store.completed().empty());
}
