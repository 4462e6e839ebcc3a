// diffpool-convert: trained checkpoint (.safetensors) + config.json -> .dpm.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "converter/convert.h"
#include "converter/error.h"
#include "converter/model_writer.h"
#include "converter/runtime_check.h"

namespace {

using diffpool::converter::ConvertError;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRuntimeCheck = 3;

constexpr char kUsage[] =
    "usage: diffpool-convert (--config config.json | --preset NAME --max-nodes N)\n"
    "                        --weights model.pt|model.safetensors --out model.dpm\n"
    "                        [--test-vectors graphs.json] [--max-test-vectors N]\n"
    "                        [--tolerance T] [--description TEXT] [--no-runtime-check]\n"
    "\n"
    "Converts a DiffPool checkpoint (PyG's dense DiffPool example, its GCN, GIN and\n"
    "GraphConv variants, or the original DiffPool code; docs/converter.md) into a\n"
    "diffpool-rt model file. BatchNorm layers are folded in float64 into the ops that\n"
    "consume them; weights are stored as float32.\n"
    "\n"
    "  --config PATH          architecture config (config.json, docs/formats.md)\n"
    "  --preset NAME          instead of --config: a variant's architecture, sizes read off\n"
    "                         the checkpoint: pyg_dense_sage, pyg_dense_sage_rel_bias,\n"
    "                         pyg_dense_gcn, pyg_dense_gin, pyg_dense_graph_conv,\n"
    "                         rexying_diffpool\n"
    "  --max-nodes N          with --preset: largest graph (the original code's padding)\n"
    "  --task T               with --preset: classification (default) or regression\n"
    "  --weights PATH         the state_dict: torch.save file (.pt, .pth) or safetensors,\n"
    "                         recognized by content\n"
    "  --out PATH             model file to write (replaced atomically)\n"
    "  --test-vectors PATH    graphs.json; graphs with \"expected\" are checked against the\n"
    "                         lowered model in float64 and embedded as test vectors\n"
    "  --max-test-vectors N   embed at most N of them (default: all; all are still checked)\n"
    "  --tolerance T          max abs difference for the checks and the file (default 1e-4)\n"
    "  --description TEXT     stored in the model's metadata\n"
    "  --no-runtime-check     do not load and run the written file with the runtime\n"
    "  --help                 this text\n"
    "\n"
    "Exit status: 0 written and verified, 1 conversion failed, 2 bad arguments,\n"
    "3 written but the runtime rejected it or its self-test failed.\n";

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "diffpool-convert: %s\n(run with --help for usage)\n", message.c_str());
  std::exit(kExitUsage);
}

long long ParseInteger(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < 0 || value > 1000000000) {
    UsageError(flag + " needs a non-negative integer, got \"" + text + "\"");
  }
  return value;
}

double ParsePositive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !(value > 0) || value > 1e30) {
    UsageError(flag + " needs a positive number, got \"" + text + "\"");
  }
  return value;
}

struct Arguments {
  diffpool::converter::ConvertOptions convert;
  bool runtime_check = true;
};

Arguments ParseArguments(int argc, char** argv) {
  Arguments args;
  bool has_task = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (const size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) UsageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(kExitOk);
    } else if (flag == "--config") {
      args.convert.config_path = next();
    } else if (flag == "--preset") {
      args.convert.preset = next();
    } else if (flag == "--max-nodes") {
      args.convert.preset_max_nodes = static_cast<int32_t>(ParseInteger(flag, next()));
      if (args.convert.preset_max_nodes < 1) UsageError(flag + " needs at least 1");
    } else if (flag == "--task") {
      const std::string task = next();
      if (task != "classification" && task != "regression") {
        UsageError("--task is classification or regression, got \"" + task + "\"");
      }
      args.convert.preset_task = task == "classification"
                                     ? diffpool::converter::TaskKind::kClassification
                                     : diffpool::converter::TaskKind::kRegression;
      has_task = true;
    } else if (flag == "--weights") {
      args.convert.weights_path = next();
    } else if (flag == "--out") {
      args.convert.out_path = next();
    } else if (flag == "--test-vectors") {
      args.convert.test_vectors_path = next();
    } else if (flag == "--max-test-vectors") {
      args.convert.build.max_test_vectors = static_cast<int32_t>(ParseInteger(flag, next()));
    } else if (flag == "--tolerance") {
      args.convert.build.tolerance = ParsePositive(flag, next());
    } else if (flag == "--description") {
      args.convert.build.description = next();
    } else if (flag == "--no-runtime-check") {
      args.runtime_check = false;
    } else {
      UsageError("unknown argument \"" + flag + "\"");
    }
  }
  const bool preset = !args.convert.preset.empty();
  if (preset == !args.convert.config_path.empty()) UsageError("give --config or --preset");
  if (preset && args.convert.preset_max_nodes == 0) UsageError("--preset needs --max-nodes");
  if (!preset && (args.convert.preset_max_nodes != 0 || has_task)) {
    UsageError("--max-nodes and --task go with --preset (a config file has max_nodes and task)");
  }
  if (args.convert.weights_path.empty()) UsageError("--weights is required");
  if (args.convert.out_path.empty()) UsageError("--out is required");
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace diffpool::converter;  // NOLINT(google-build-using-namespace)
  const Arguments args = ParseArguments(argc, argv);
  ConvertReport report;
  std::vector<uint8_t> bytes;
  try {
    bytes = Convert(args.convert, &report);
  } catch (const ConvertError& e) {
    std::fprintf(stderr, "diffpool-convert: error: %s\n", e.what());
    return kExitFailed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diffpool-convert: internal error: %s\n", e.what());
    return kExitFailed;
  }
  for (const std::string& warning : report.warnings) {
    std::fprintf(stderr, "diffpool-convert: warning: %s\n", warning.c_str());
  }
  for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
  std::printf("wrote %s: %zu bytes (%s %s)\n", args.convert.out_path.c_str(), report.file_bytes,
              kProducerName, ConverterVersion());
  std::printf("  ops %d, tensors %d (%d constant), parameters %lld\n", report.ops, report.tensors,
              report.constants, static_cast<long long>(report.parameters));
  if (!args.convert.test_vectors_path.empty()) {
    std::printf(
        "  test vectors: %d embedded; %d graphs checked, %d skipped (no expected or "
        "too large)\n",
        report.test_vectors, report.graphs_checked, report.graphs_skipped);
    if (report.graphs_checked > 0) {
      std::printf(
          "  lowered model vs expected: max |diff| %.3g (float64 weights), %.3g (float32 "
          "weights as stored)\n",
          report.max_abs_diff_float64, report.max_abs_diff_float32);
    }
  }
  if (!args.runtime_check) return kExitOk;
  const RuntimeCheck check = CheckWithRuntime(bytes);
  if (!check.ran) {
    std::printf("  runtime check: skipped, %s\n", check.detail.c_str());
    return kExitOk;
  }
  if (!check.ok) {
    std::fprintf(stderr, "diffpool-convert: error: the runtime rejects the written file: %s\n",
                 check.detail.c_str());
    return kExitRuntimeCheck;
  }
  if (check.graphs_checked > 0) {
    std::printf(
        "  runtime check: loaded; self-test on %d graphs, max |diff| %.3g (tolerance "
        "%.3g), %d argmax mismatches\n",
        check.graphs_checked, static_cast<double>(check.max_abs_diff),
        static_cast<double>(check.tolerance), check.argmax_mismatches);
  } else {
    std::printf("  runtime check: loaded and ran a 1-node graph (no test vectors)\n");
  }
  return kExitOk;
}
