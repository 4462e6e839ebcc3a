// converter/tu_reader.h and graph_source.h: the TU text and raw formats give
// the same graphs (edges as the reference reads them), one-hot features from
// the config's tag_values, labels from output_names, published folds,
// evenly spread limits, and errors with file:line.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <string>
#include <sys/stat.h>

#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/graph_source.h"
#include "converter/tu_reader.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// DS with 3 graphs: a 3-node path (label 2), a 1-node graph (label 0), and a
// 2-node graph with a duplicate edge and a self loop (label 2). Tags 4..6.
std::string MakeText(const std::string& root) {
  const std::string folder = root + "/DS";
  ::mkdir(folder.c_str(), 0755);
  Write(folder + "/DS.txt",
        "3\n"
        "3 2\n"
        "4 1 1\n"
        "6 2 0 2\n"
        "4 1 1\n"
        "1 0\n"
        "5 0\n"
        "\n"
        "2 2\n"
        "5 3 1 1 0\n"
        "6 1 0\n");
  ::mkdir((folder + "/10fold_idx").c_str(), 0755);
  Write(folder + "/10fold_idx/train_idx-1.txt", "0\n2\n");
  Write(folder + "/10fold_idx/test_idx-1.txt", "1\n");
  return folder;
}

// The same dataset in the raw format (1-based node ids, edge row -> col: the
// text line of node i listing j is the edge j -> i).
std::string MakeRaw(const std::string& root) {
  const std::string folder = root + "/DS";
  ::mkdir(folder.c_str(), 0755);
  ::mkdir((folder + "/raw").c_str(), 0755);
  Write(folder + "/raw/DS_graph_indicator.txt", "1\n1\n1\n2\n3\n3\n");
  Write(folder + "/raw/DS_graph_labels.txt", "2\n0\n2\n");
  Write(folder + "/raw/DS_node_labels.txt", "4\n6\n4\n5\n5\n6\n");
  Write(folder + "/raw/DS_A.txt", "2, 1\n1, 2\n3, 2\n2, 3\n6, 5\n6, 5\n5, 5\n5, 6\n");
  return folder;
}

ModelConfig TagConfig() {
  ModelConfig config = testing::SmallConfig({2});
  config.feature_spec.encoding = "one_hot_tag";
  config.feature_spec.tag_values = {4, 5, 6};
  config.output_names = {"0", "2"};
  return config;
}

TEST_CASE("TU text and raw formats read the same graphs") {
  const TuDataset text = ReadTuDataset(MakeText(testing::MakeTempDir()));
  const TuDataset raw = ReadTuDataset(MakeRaw(testing::MakeTempDir()));
  CHECK(text.format == "text");
  CHECK(raw.format == "raw");
  CHECK(text.name == "DS");
  REQUIRE(text.graphs.size() == 3);
  REQUIRE(raw.graphs.size() == 3);
  const TuGraph& path = text.graphs[0];
  CHECK(path.num_nodes == 3);
  CHECK(path.label == 2);
  CHECK(path.tags == std::vector<int64_t>{4, 6, 4});
  CHECK(path.edge_src == std::vector<int32_t>{1, 0, 2, 1});
  CHECK(path.edge_dst == std::vector<int32_t>{0, 1, 1, 2});
  CHECK(text.graphs[1].edge_src.empty());
  CHECK(text.graphs[2].edge_src == std::vector<int32_t>{1, 1, 0, 0});
  CHECK(text.graphs[2].edge_dst == std::vector<int32_t>{0, 0, 0, 1});
  for (size_t g = 0; g < 3; ++g) {
    CAPTURE(g);
    CHECK(raw.graphs[g].num_nodes == text.graphs[g].num_nodes);
    CHECK(raw.graphs[g].label == text.graphs[g].label);
    CHECK(raw.graphs[g].tags == text.graphs[g].tags);
    CHECK(raw.graphs[g].edge_src.size() == text.graphs[g].edge_src.size());
    // Same edge multiset (the order of listing differs between the formats).
    std::multiset<std::pair<int32_t, int32_t>> a, b;
    for (size_t e = 0; e < raw.graphs[g].edge_src.size(); ++e) {
      a.emplace(raw.graphs[g].edge_src[e], raw.graphs[g].edge_dst[e]);
      b.emplace(text.graphs[g].edge_src[e], text.graphs[g].edge_dst[e]);
    }
    CHECK(a == b);
  }
}

TEST_CASE("features, labels, folds and limits") {
  const std::string folder = MakeText(testing::MakeTempDir());
  const ModelConfig config = TagConfig();
  LoadedGraphs all = LoadGraphs(folder, config, GraphSourceOptions());
  REQUIRE(all.set.graphs.size() == 3);
  CHECK(all.description == "DS (TU text), all, 3 of 3 graphs");
  const GraphRecord& path = all.set.graphs[0];
  CHECK(path.name == "DS/0");
  CHECK(path.features == std::vector<double>{1, 0, 0, 0, 0, 1, 1, 0, 0});
  CHECK(path.has_label);
  CHECK(path.label == 1);  // "2" is output_names[1]
  CHECK(all.set.graphs[1].label == 0);

  GraphSourceOptions train;
  train.split = "train-1";
  LoadedGraphs fold = LoadGraphs(folder, config, train);
  REQUIRE(fold.set.graphs.size() == 2);
  CHECK(fold.set.graphs[1].name == "DS/2");
  train.limit = 1;
  CHECK(LoadGraphs(folder, config, train).set.graphs.size() == 1);
  GraphSourceOptions test;
  test.split = "test-1";
  CHECK(LoadGraphs(folder, config, test).set.graphs.at(0).name == "DS/1");

  // Evenly spread, not the first N: 2 of 3 picks graphs 0 and 1 (i * 3 / 2).
  GraphSourceOptions two;
  two.limit = 2;
  const LoadedGraphs spread = LoadGraphs(folder, config, two);
  CHECK(spread.set.graphs[1].name == "DS/1");

  // Labels not among output_names are left unlabelled.
  ModelConfig other = config;
  other.output_names = {"a", "b"};
  CHECK_FALSE(LoadGraphs(folder, other, GraphSourceOptions()).set.graphs[0].has_label);

  GraphSourceOptions bad;
  bad.split = "train-11";
  CHECK_THROWS_WITH_AS(LoadGraphs(folder, config, bad), doctest::Contains("train-K"),
                       ConvertError);
  bad.split = "test-2";
  CHECK_THROWS_WITH_AS(LoadGraphs(folder, config, bad), doctest::Contains("test_idx-2.txt"),
                       ConvertError);
}

TEST_CASE("one_hot_tag_degree: tag columns, then the clipped in-degree") {
  ModelConfig config = TagConfig();
  config.feature_spec.encoding = "one_hot_tag_degree";
  config.feature_spec.max_degree = 2;  // columns degree=0, degree=1, degree>=2
  config.num_features = 6;
  for (const bool raw : {false, true}) {
    CAPTURE(raw);
    const std::string root = testing::MakeTempDir();
    const LoadedGraphs all =
        LoadGraphs(raw ? MakeRaw(root) : MakeText(root), config, GraphSourceOptions());
    REQUIRE(all.set.graphs.size() == 3);
    CHECK(all.set.num_features == 6);
    // the path: in-degrees 1, 2, 1
    CHECK(all.set.graphs[0].features ==
          std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0});
    CHECK(all.set.graphs[1].features == std::vector<double>{0, 1, 0, 1, 0, 0});  // no edge
    // a duplicate edge and a self-loop count as listed: in-degrees 3 (>= 2) and 1
    CHECK(all.set.graphs[2].features == std::vector<double>{0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0});
  }
  config.feature_spec.max_degree = 0;  // one column, always 1
  config.num_features = 4;
  CHECK(LoadGraphs(MakeText(testing::MakeTempDir()), config, GraphSourceOptions())
            .set.graphs[2]
            .features == std::vector<double>{0, 1, 0, 1, 0, 0, 1, 1});
  config.num_features = 5;  // the columns do not add up
  CHECK_THROWS_WITH_AS(LoadGraphs(MakeText(testing::MakeTempDir()), config, GraphSourceOptions()),
                       doctest::Contains("T + D + 1 = 5"), ConvertError);
}

TEST_CASE("TU errors name the file and line") {
  const std::string folder = MakeText(testing::MakeTempDir());
  ModelConfig config = TagConfig();
  config.feature_spec.tag_values = {4, 5, 7};
  CHECK_THROWS_WITH_AS(LoadGraphs(folder, config, GraphSourceOptions()),
                       doctest::Contains("DS/0: node 1 has tag 6"), ConvertError);
  config.feature_spec.encoding = "dense";
  CHECK_THROWS_WITH_AS(LoadGraphs(folder, config, GraphSourceOptions()),
                       doctest::Contains("one_hot_tag"), ConvertError);

  Write(folder + "/DS.txt", "1\n2 0\n4 1 5\n4 0\n");
  CHECK_THROWS_WITH_AS(ReadTuDataset(folder), doctest::Contains("DS.txt:3: neighbour 5"),
                       ConvertError);
  Write(folder + "/DS.txt", "2\n1 0\n4 0\n");
  CHECK_THROWS_WITH_AS(ReadTuDataset(folder), doctest::Contains("unexpected end of file"),
                       ConvertError);
  Write(folder + "/DS.txt", "1\n1 0\n4 0\n9 9\n");
  CHECK_THROWS_WITH_AS(ReadTuDataset(folder), doctest::Contains("DS.txt:4: data after"),
                       ConvertError);

  const std::string raw = MakeRaw(testing::MakeTempDir());
  Write(raw + "/raw/DS_A.txt", "1, 2\n3, 4\n");
  CHECK_THROWS_WITH_AS(ReadTuDataset(raw), doctest::Contains("DS_A.txt:2: edge joins graphs 1 and 2"),
                       ConvertError);
  Write(raw + "/raw/DS_graph_indicator.txt", "1\n2\n1\n2\n3\n3\n");
  CHECK_THROWS_WITH_AS(ReadTuDataset(raw), doctest::Contains("DS_graph_indicator.txt:3"),
                       ConvertError);
  CHECK_THROWS_WITH_AS(ReadTuDataset(testing::MakeTempDir()), doctest::Contains("neither"),
                       ConvertError);
}

TEST_CASE("graph sets: graphs.json and a limit") {
  const std::string dir = testing::MakeTempDir();
  Write(dir + "/graphs.json",
        R"({"format": "diffpool-graphs", "version": 1, "num_features": 3, "graphs": [
          {"name": "a", "num_nodes": 1, "x": [[1, 0, 0]], "edge_index": [[], []], "label": 1},
          {"name": "b", "num_nodes": 1, "x": [[0, 1, 0]], "edge_index": [[], []]},
          {"name": "c", "num_nodes": 1, "x": [[0, 0, 1]], "edge_index": [[], []]}]})");
  const ModelConfig config = TagConfig();
  GraphSourceOptions options;
  options.limit = 2;
  const LoadedGraphs loaded = LoadGraphs(dir + "/graphs.json", config, options);
  REQUIRE(loaded.set.graphs.size() == 2);
  CHECK(loaded.set.graphs[0].name == "a");
  CHECK(loaded.set.graphs[0].has_label);
  CHECK(loaded.set.graphs[1].name == "b");
  options.split = "test-1";
  CHECK_THROWS_WITH_AS(LoadGraphs(dir + "/graphs.json", config, options),
                       doctest::Contains("needs a TU dataset folder"), ConvertError);
}

}  // namespace
}  // namespace diffpool::converter
