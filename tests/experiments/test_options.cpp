// The shared command line of the experiment binaries: LIST syntax, defaults, --quick, study
// options and every error path.
#include <catch2/catch.hpp>

#include "harness/options.hpp"
#include "harness/study.hpp"

using namespace kraus::experiments;
using Catch::Matchers::Contains;

namespace {

StudySpec test_spec() {
  StudySpec s;
  s.name = "toy";
  s.program = "exp_toy";
  s.summary = "A toy study.";
  s.default_noise = {"ideal", "depolarizing"};
  s.quick_noise = {"ideal"};
  s.qubits = {"2:12", "2:4"};
  s.depth = {"1,2,4", "1"};
  s.noise_scale = {"1", ""};
  s.seeds = {"1:3", "1"};
  s.min_qubits = 1;
  s.max_qubits = 20;
  s.options = {{"repetitions", StudyOption::Kind::kInt, "N", "samples", "5", "2", 1, 100},
               {"tolerance", StudyOption::Kind::kDouble, "T", "tolerance", "1e-3", "", 0, 1},
               {"encoding", StudyOption::Kind::kString, "E", "encoding", "amp16", "", 0, 0},
               {"verbose", StudyOption::Kind::kFlag, "", "talk", "false", "", 0, 0}};
  s.columns = {"value"};
  return s;
}

Options parse(const StudySpec& spec, std::vector<std::string> args) {
  args.insert(args.begin(), spec.program);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(spec, static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("LIST syntax: numbers, ranges a:b and a:b:step, comma lists", "[experiments][options]") {
  CHECK(parse_int_list("--qubits", "2:12", 1, 30) == std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(parse_int_list("--qubits", "2:12:3", 1, 30) == std::vector<int>{2, 5, 8, 11});
  CHECK(parse_int_list("--qubits", "2,4,8", 1, 30) == std::vector<int>{2, 4, 8});
  CHECK(parse_int_list("--qubits", "2:4, 8 ,10:12:2", 1, 30) == std::vector<int>{2, 3, 4, 8, 10, 12});
  CHECK(parse_int_list("--depth", "7", 0, 30) == std::vector<int>{7});
  CHECK(parse_int_list("--depth", "5:5", 0, 30) == std::vector<int>{5});

  CHECK(parse_double_list("--noise-scale", "0,0.5,1,2", 0, 10) == std::vector<double>{0, 0.5, 1, 2});
  CHECK(parse_double_list("--noise-scale", "0:2:0.5", 0, 10) == std::vector<double>{0, 0.5, 1, 1.5, 2});
  // The end point is reached exactly despite rounding in a + i*step.
  const std::vector<double> tenths = parse_double_list("--noise-scale", "0:1:0.1", 0, 10);
  REQUIRE(tenths.size() == 11);
  CHECK(tenths.back() == 1.0);
  CHECK(parse_double_list("--noise-scale", "1:3", 0, 10) == std::vector<double>{1, 2, 3});
  CHECK(parse_double_list("--noise-scale", "1e-3", 0, 10) == std::vector<double>{1e-3});

  CHECK(parse_seed_list("--seeds", "1:5") == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(parse_seed_list("--seeds", "7,11,13") == std::vector<std::uint64_t>{7, 11, 13});
  CHECK(parse_seed_list("--seeds", "0:100:50") == std::vector<std::uint64_t>{0, 50, 100});
  CHECK(parse_seed_list("--seeds", "18446744073709551615") == std::vector<std::uint64_t>{18446744073709551615ULL});
  CHECK(parse_seed_list("--seeds", "18446744073709551614:18446744073709551615").size() == 2);
}

TEST_CASE("LIST errors name the option and the problem", "[experiments][options]") {
  auto int_error = [](const std::string& text) {
    try {
      parse_int_list("--qubits", text, 1, 30);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(int_error("2:x"), Contains("--qubits") && Contains("'2:x'") && Contains("range"));
  CHECK_THAT(int_error("x"), Contains("'x' is not an integer"));
  CHECK_THAT(int_error("2.5"), Contains("not an integer"));
  CHECK_THAT(int_error("12:2"), Contains("empty"));
  CHECK_THAT(int_error("2:12:0"), Contains("step must be positive"));
  CHECK_THAT(int_error("2:12:-1"), Contains("step must be positive"));
  CHECK_THAT(int_error("0:4"), Contains("0 is outside 1..30"));
  CHECK_THAT(int_error("31"), Contains("31 is outside 1..30"));
  CHECK_THAT(int_error("2,,4"), Contains("empty item"));
  CHECK_THAT(int_error(""), Contains("empty item"));
  CHECK_THAT(int_error("2:4,3"), Contains("3 is listed twice"));
  CHECK_THAT(int_error("1:2:3:4"), Contains("not a number or a range"));

  CHECK_THROWS_WITH(parse_double_list("--noise-scale", "0,abc", 0, 10), Contains("'abc' is not a number"));
  CHECK_THROWS_WITH(parse_double_list("--noise-scale", "-1", 0, 10), Contains("-1 is outside [0, 10]"));
  CHECK_THROWS_WITH(parse_double_list("--noise-scale", "nan", 0, 10), Contains("not a number"));
  CHECK_THROWS_WITH(parse_double_list("--noise-scale", "0:1:0", 0, 10), Contains("step must be positive"));
  CHECK_THROWS_WITH(parse_double_list("--noise-scale", "0:1e9:1e-3", 0, 1e10), Contains("more than"));
  CHECK_THROWS_WITH(parse_seed_list("--seeds", "-1"), Contains("'-1' is not a seed"));
  CHECK_THROWS_WITH(parse_seed_list("--seeds", "1:3,2"), Contains("2 is listed twice"));
  CHECK_THROWS_WITH(parse_seed_list("--seeds", "18446744073709551616"), Contains("is not a seed"));
}

TEST_CASE("parse_options: defaults, --quick, explicit values and study options", "[experiments][options]") {
  const StudySpec spec = test_spec();
  SECTION("defaults") {
    const Options o = parse(spec, {});
    CHECK(o.noise == std::vector<std::string>{"ideal", "depolarizing"});
    CHECK(o.qubits.size() == 11);
    CHECK(o.depth == std::vector<int>{1, 2, 4});
    CHECK(o.noise_scale == std::vector<double>{1});
    CHECK(o.seeds == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(o.threads == 0);
    CHECK(o.out_dir == "results/toy");
    CHECK_FALSE(o.quick);
    CHECK_FALSE(o.fresh);
    CHECK(o.get_int("repetitions") == 5);
    CHECK(o.get_double("tolerance") == 1e-3);
    CHECK(o.get_string("encoding") == "amp16");
    CHECK_FALSE(o.get_flag("verbose"));
  }
  SECTION("--quick takes the study's small grid; explicit options still win") {
    const Options o = parse(spec, {"--quick", "--depth", "3", "--seeds=5"});
    CHECK(o.quick);
    CHECK(o.noise == std::vector<std::string>{"ideal"});
    CHECK(o.qubits == std::vector<int>{2, 3, 4});
    CHECK(o.depth == std::vector<int>{3});
    CHECK(o.seeds == std::vector<std::uint64_t>{5});
    CHECK(o.noise_scale == std::vector<double>{1});  // no quick value: the default
    CHECK(o.get_int("repetitions") == 2);
  }
  SECTION("every option") {
    const Options o = parse(spec, {"--noise", "a.json", "--noise", "dir", "--qubits", "2,4", "--depth", "2:6:2",
                                   "--noise-scale", "0,0.5", "--seeds", "3", "--threads", "4", "--out", "/tmp/x",
                                   "--fresh", "--repetitions", "9", "--tolerance=0.5", "--encoding", "pca4",
                                   "--verbose"});
    CHECK(o.noise == std::vector<std::string>{"a.json", "dir"});
    CHECK(o.qubits == std::vector<int>{2, 4});
    CHECK(o.depth == std::vector<int>{2, 4, 6});
    CHECK(o.noise_scale == std::vector<double>{0, 0.5});
    CHECK(o.seeds == std::vector<std::uint64_t>{3});
    CHECK(o.threads == 4);
    CHECK(o.out_dir == "/tmp/x");
    CHECK(o.fresh);
    CHECK(o.get_int("repetitions") == 9);
    CHECK(o.get_double("tolerance") == 0.5);
    CHECK(o.get_string("encoding") == "pca4");
    CHECK(o.get_flag("verbose"));
    CHECK(o.argv.size() == 24);
  }
  SECTION("--help stops parsing") {
    CHECK(parse(spec, {"--qubits", "bad", "--help"}).help);  // lists are parsed after the scan: no error
    CHECK(parse(spec, {"--help"}).help);
    CHECK(parse(spec, {"-h", "--nonsense"}).help);
  }
}

TEST_CASE("parse_options errors", "[experiments][options]") {
  StudySpec spec = test_spec();
  auto error = [&](std::vector<std::string> args) {
    try {
      parse(spec, std::move(args));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error({"--nonsense"}), Contains("unknown option '--nonsense'") && Contains("exp_toy --help"));
  CHECK_THAT(error({"stray"}), Contains("unexpected argument 'stray'"));
  // --data-parallel only where the study offers it.
  CHECK_THAT(error({"--data-parallel"}), Contains("unknown option '--data-parallel'"));
  spec.data_parallel = true;
  CHECK(parse(spec, {"--data-parallel"}).data_parallel);
  CHECK_FALSE(parse(spec, {}).data_parallel);
  CHECK_THAT(usage(spec), Contains("--data-parallel"));
  spec.data_parallel = false;
  CHECK_THAT(usage(spec), !Contains("--data-parallel"));
  CHECK_THAT(error({"--qubits"}), Contains("--qubits: missing value"));
  // An option where a value belongs is a missing value (the option itself is not taken as the value).
  CHECK_THAT(error({"--out", "--fresh"}), Contains("--out: missing value (the next argument, '--fresh', is an option; "
                                                   "write --out=--fresh if it is the value)"));
  CHECK_THAT(error({"--threads", "--foo"}), Contains("--threads: missing value"));
  CHECK(parse(spec, {"--out=--odd"}).out_dir == "--odd");
  CHECK(parse(spec, {"--tolerance", "-0.0"}).get_double("tolerance") == 0.0);  // one dash: a value
  CHECK_THAT(error({"--qubits", "2", "--qubits", "3"}), Contains("given twice"));
  CHECK_THAT(error({"--qubits", "0:3"}), Contains("--qubits: 0 is outside 1..20"));
  CHECK_THAT(error({"--threads", "0"}), Contains("--threads: '0' is not a thread count"));
  CHECK_THAT(error({"--threads", "two"}), Contains("--threads"));
  CHECK_THAT(error({"--out", ""}), Contains("--out: empty value"));
  CHECK_THAT(error({"--noise="}), Contains("--noise: empty value"));
  CHECK_THAT(error({"--quick=yes"}), Contains("--quick: takes no value"));
  CHECK_THAT(error({"--repetitions", "0"}), Contains("--repetitions: 0 is outside 1..100"));
  CHECK_THAT(error({"--repetitions", "x"}), Contains("--repetitions: 'x' is not an integer"));
  CHECK_THAT(error({"--tolerance", "2"}), Contains("--tolerance: 2 is outside [0, 1]"));
  CHECK_THAT(error({"--verbose=1"}), Contains("--verbose: takes no value"));
  spec.depth = {};  // a study without a depth axis refuses --depth
  CHECK_THAT(error({"--depth", "2"}), Contains("exp_toy has no depth axis"));
  spec.default_noise.clear();
  CHECK_THAT(error({}), Contains("--noise: no noise model given"));
}

TEST_CASE("usage text lists every option with its defaults", "[experiments][options]") {
  const std::string u = usage(test_spec());
  for (const char* s : {"usage: exp_toy", "--noise MODEL", "--qubits LIST", "--depth LIST", "--noise-scale LIST",
                        "--seeds LIST", "--threads T", "--out DIR", "--quick", "--fresh", "--help",
                        "--repetitions N", "default 5; --quick: 2", "--verbose", "toy.csv", "status 2"}) {
    CHECK_THAT(u, Contains(s));
  }
}

TEST_CASE("format_number writes the shortest exact form", "[experiments][options]") {
  CHECK(format_number(1.0) == "1");
  CHECK(format_number(0.5) == "0.5");
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(1e-5) == "1e-05");
  CHECK(std::stod(format_number(1.0 / 3.0)) == 1.0 / 3.0);
}

TEST_CASE("grid and key columns follow the used axes", "[experiments][options]") {
  StudySpec spec = test_spec();
  CHECK(grid_columns(spec) == std::vector<std::string>{"study", "noise_model", "noise_scale", "qubits", "depth", "seed"});
  CHECK(key_columns(spec) == std::vector<std::string>{"noise_model", "noise_scale", "qubits", "depth", "seed"});
  spec.noise_scale = {};
  spec.depth = {};
  CHECK(grid_columns(spec) == std::vector<std::string>{"study", "noise_model", "qubits", "seed"});
}
