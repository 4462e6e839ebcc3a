// diffpool-convert: trained checkpoint (.safetensors) + config.json -> .dpm.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "converter/convert.h"
#include "converter/error.h"
#include "converter/model_writer.h"
#include "converter/quantized_convert.h"
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
    "                        [--quantize int8 --calibration SOURCE [int8 options]]\n"
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
    "  --dense-test-vectors   store test vector features as float32 even when all are 0/1\n"
    "                         and edges as int32 pairs, for runtime versions 1-3 (default:\n"
    "                         features as bits, edges as varints: runtime version 4)\n"
    "  --no-tensor-names      leave tensor names out of the file (runtime errors name\n"
    "                         tensors by index; names only label debugging views)\n"
    "  --description TEXT     stored in the model's metadata\n"
    "  --no-runtime-check     do not load and run the written file with the runtime\n"
    "\n"
    "int8 (docs/quantization.md): weights int8 per output channel, activations int8 per\n"
    "tensor with ranges calibrated by running the fp32 model with the runtime.\n"
    "  --quantize int8              write an int8 model\n"
    "  --calibration SOURCE         calibration graphs (repeatable): graphs.json, a .dpm\n"
    "                               (its test vectors), a TU dataset folder (DS/DS.txt or\n"
    "                               DS_A.txt ...), test-vectors (the --test-vectors file), or\n"
    "                               SMILES (.csv with a smiles column, .smi/.txt) for models\n"
    "                               with a molecule featurizer (docs/molecules.md)\n"
    "  --calibration-split S        TU folders: all (default), train-K or test-K (10fold_idx)\n"
    "  --calibration-limit N        keep N graphs, evenly spread over the selection\n"
    "  --calibration-ranges M       how each tensor's range is chosen: search (default: the\n"
    "                               best of min/max, percentiles and mse, first for all\n"
    "                               tensors, then tensor by tensor, judged by the int8\n"
    "                               output error on <= 256 calibration graphs), minmax, or\n"
    "                               mse (least squared int8 error over the values' histogram)\n"
    "  --search-objective O         the search's output error for classifiers: probabilities\n"
    "                               (default: mean total variation of the class\n"
    "                               probabilities) or flips (graphs whose class changes, then\n"
    "                               that mean; the objective before 2026-11-26)\n"
    "  --calibration-percentile P   instead: clip every range to percentiles 100-P and P\n"
    "  --evaluate SOURCE            also report fp32 vs int8 accuracy and argmax agreement\n"
    "                               on these labelled graphs (e.g. a held-out TU fold)\n"
    "  --evaluate-split S, --evaluate-limit N   as for --calibration\n"
    "  --float-pooling              keep DIFF_POOL in fp32 (DEQUANTIZE Z, QUANTIZE H)\n"
    "  --float-readout              READOUT in fp32, its graph vector quantized with its own\n"
    "                               range (default); --int8-readout: an int8 READOUT in its\n"
    "                               input's quantization (docs/quantization.md)\n"
    "  --integer-affine             give a GEMM output its BatchNorm's scale where that is at\n"
    "                               most 2x coarser: integer BatchNorm ops; implies\n"
    "                               --explicit-batchnorm (docs/quantization.md)\n"
    "  --no-exact-rewrites          skip moving BatchNorm scales into the GEMMs and centering\n"
    "                               the logits (exact in fp32; for measurements)\n"
    "  --fold-batchnorm             fold each BatchNorm into the ops that read it (default;\n"
    "                               int8 GRAPH_CONV gated_bias, needs runtime version 3);\n"
    "                               --explicit-batchnorm: an int8 CHANNEL_AFFINE op each\n"
    "                               (docs/quantization.md)\n"
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

double ParsePercentile(const std::string& flag, const std::string& text) {
  const double value = ParsePositive(flag, text);
  if (!(value > 50.0 && value < 100.0)) {
    UsageError(flag + " needs a percentile in (50, 100), got \"" + text + "\"");
  }
  return value;
}

struct Arguments {
  diffpool::converter::ConvertOptions convert;
  bool runtime_check = true;
  bool int8 = false;
  bool int8_flags = false;  // any int8-only flag given
  diffpool::converter::Int8ConvertOptions int8_options;
};

Arguments ParseArguments(int argc, char** argv) {
  Arguments args;
  std::string batchnorm_flag;  // --fold-batchnorm / --explicit-batchnorm, if given
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
    } else if (flag == "--dense-test-vectors") {
      args.convert.build.dense_test_features = true;
    } else if (flag == "--no-tensor-names") {
      args.convert.build.omit_tensor_names = true;
    } else if (flag == "--description") {
      args.convert.build.description = next();
    } else if (flag == "--no-runtime-check") {
      args.runtime_check = false;
    } else if (flag == "--quantize") {
      const std::string mode = next();
      if (mode != "int8") UsageError("--quantize supports int8, got \"" + mode + "\"");
      args.int8 = true;
    } else if (flag == "--calibration") {
      args.int8_options.calibration_paths.push_back(next());
      args.int8_flags = true;
    } else if (flag == "--calibration-split") {
      args.int8_options.calibration.split = next();
      args.int8_flags = true;
    } else if (flag == "--calibration-limit") {
      args.int8_options.calibration.limit = static_cast<int32_t>(ParseInteger(flag, next()));
      if (args.int8_options.calibration.limit < 1) UsageError(flag + " needs at least 1");
      args.int8_flags = true;
    } else if (flag == "--calibration-percentile") {
      args.int8_options.int8.ranges.kind = diffpool::converter::RangeMethod::Kind::kPercentile;
      args.int8_options.int8.ranges.percentile = ParsePercentile(flag, next());
      args.int8_options.int8.search = false;
      args.int8_flags = true;
    } else if (flag == "--calibration-ranges") {
      const std::string method = next();
      using Kind = diffpool::converter::RangeMethod::Kind;
      args.int8_options.int8.ranges.kind = Kind::kMinMax;
      args.int8_options.int8.search = method == "search";
      if (method == "mse") {
        args.int8_options.int8.ranges.kind = Kind::kMse;
      } else if (method != "minmax" && method != "search") {
        UsageError(flag + " is minmax, mse or search (or use --calibration-percentile), got \"" +
                   method + "\"");
      }
      args.int8_flags = true;
    } else if (flag == "--evaluate") {
      args.int8_options.evaluation_path = next();
      args.int8_flags = true;
    } else if (flag == "--evaluate-split") {
      args.int8_options.evaluation.split = next();
      args.int8_flags = true;
    } else if (flag == "--evaluate-limit") {
      args.int8_options.evaluation.limit = static_cast<int32_t>(ParseInteger(flag, next()));
      if (args.int8_options.evaluation.limit < 1) UsageError(flag + " needs at least 1");
      args.int8_flags = true;
    } else if (flag == "--no-exact-rewrites") {
      args.int8_options.int8.center_logits = false;
      args.int8_options.int8.move_batchnorm_scales = false;
      args.int8_flags = true;
    } else if (flag == "--explicit-batchnorm" || flag == "--fold-batchnorm") {
      args.int8_options.int8.fold_batchnorm = flag == "--fold-batchnorm";
      batchnorm_flag = flag;
      args.int8_flags = true;
    } else if (flag == "--search-objective") {
      const std::string objective = next();
      if (objective == "probabilities") {
        args.int8_options.int8.objective = diffpool::converter::SearchObjective::kProbabilities;
      } else if (objective == "flips") {
        args.int8_options.int8.objective =
            diffpool::converter::SearchObjective::kFlipsThenProbabilities;
      } else {
        UsageError(flag + " is probabilities or flips, got \"" + objective + "\"");
      }
      args.int8_flags = true;
    } else if (flag == "--float-pooling") {
      args.int8_options.int8.float_pooling = true;
      args.int8_flags = true;
    } else if (flag == "--float-readout" || flag == "--int8-readout") {
      args.int8_options.int8.float_readout = flag == "--float-readout";
      args.int8_flags = true;
    } else if (flag == "--integer-affine") {
      args.int8_options.int8.integer_affine = true;
      args.int8_flags = true;
    } else {
      UsageError("unknown argument \"" + flag + "\"");
    }
  }
  if (args.int8_options.int8.integer_affine) {
    if (batchnorm_flag == "--fold-batchnorm") {
      UsageError("--integer-affine needs --explicit-batchnorm (folding leaves no BatchNorm op)");
    }
    args.int8_options.int8.fold_batchnorm = false;  // --integer-affine implies it
  }
  const bool preset = !args.convert.preset.empty();
  if (preset == !args.convert.config_path.empty()) UsageError("give --config or --preset");
  if (preset && args.convert.preset_max_nodes == 0) UsageError("--preset needs --max-nodes");
  if (!preset && (args.convert.preset_max_nodes != 0 || has_task)) {
    UsageError("--max-nodes and --task go with --preset (a config file has max_nodes and task)");
  }
  if (args.convert.weights_path.empty()) UsageError("--weights is required");
  if (args.convert.out_path.empty()) UsageError("--out is required");
  if (args.int8_flags && !args.int8) UsageError("calibration and evaluation flags need --quantize int8");
  if (args.int8 && args.int8_options.calibration_paths.empty()) {
    UsageError("--quantize int8 needs --calibration SOURCE");
  }
  return args;
}

double Percent(int32_t part, int32_t whole) {
  return whole > 0 ? 100.0 * part / whole : 0.0;
}

void PrintComparison(const char* what, const diffpool::converter::ModelComparison& c) {
  std::printf("  %s: %d graphs run", what, c.graphs);
  if (c.skipped > 0) std::printf(" (%d skipped: more than max_nodes)", c.skipped);
  std::printf(", max |output diff| %.3g\n", c.max_output_diff);
  if (!c.classification || c.graphs == 0) return;
  std::printf("    argmax agreement int8 vs fp32: %d/%d (%.1f%%)\n", c.argmax_agreement, c.graphs,
              Percent(c.argmax_agreement, c.graphs));
  if (c.labelled > 0) {
    std::printf("    accuracy: fp32 %d/%d (%.2f%%), int8 %d/%d (%.2f%%), difference %+.2f points\n",
                c.correct_reference, c.labelled, Percent(c.correct_reference, c.labelled),
                c.correct_candidate, c.labelled, Percent(c.correct_candidate, c.labelled),
                Percent(c.correct_candidate, c.labelled) - Percent(c.correct_reference, c.labelled));
  }
}

void PrintInt8Report(const diffpool::converter::Int8Report& r) {
  std::printf("  int8: calibrated on %s (%d run, %d skipped: more than max_nodes), ranges %s\n",
              r.calibration_source.c_str(), r.calibration.graphs_run, r.calibration.graphs_skipped,
              r.ranges.c_str());
  if (r.search.ran) {
    std::printf("    range search: %d int8 models tried; start %s, %d range(s) changed; output "
                "error (%s) %.4g -> %.4g\n", r.search.evaluations, r.search.start.c_str(),
                r.search.changed, r.search.objective.c_str(), r.search.error_before,
                r.search.error_after);
    for (const auto& [name, candidate] : r.search.choices) {
      std::printf("      %-36s %s\n", name.c_str(), candidate.c_str());
    }
  }
  if (r.widened_scales > 0) {
    std::printf("    %d GEMM output range(s) widened to keep requantization below 255\n",
                r.widened_scales);
  }
  if (r.folded_batchnorm) {
    std::printf("    BatchNorms folded into the GEMMs (no CHANNEL_AFFINE ops)\n");
  } else {
    std::printf("    %d of the BatchNorm CHANNEL_AFFINEs integer (their GEMM output shares their "
                "scale)\n", r.integer_affines);
  }
  std::printf("  int8 test vectors: expected = this machine's int8 outputs, tolerance %.3g\n",
              r.test_vector_tolerance);
  std::printf("  size: fp32 %zu bytes, int8 %zu bytes (%.1f%% of fp32)\n", r.fp32_bytes,
              r.int8_bytes, r.fp32_bytes > 0 ? 100.0 * r.int8_bytes / r.fp32_bytes : 0.0);
  std::printf("  per-tensor error, int8 (dequantized) vs fp32 on the calibration graphs:\n");
  std::printf("    %-36s %6s %10s %10s %10s %10s\n", "tensor", "type", "max|err|", "mean|err|",
              "fp32 rms", "int8 step");
  for (const auto& layer : r.on_calibration.layers) {
    std::printf("    %-36s %6s %10.3g %10.3g %10.3g ", layer.name.c_str(),
                layer.int8 ? "int8" : "fp32", layer.max_abs, layer.mean_abs, layer.reference_rms);
    if (layer.int8) {
      std::printf("%10.3g\n", layer.scale);
    } else {
      std::printf("%10s\n", "-");
    }
  }
  PrintComparison("calibration graphs", r.on_calibration);
  if (r.evaluated) {
    PrintComparison(("evaluation on " + r.evaluation_source).c_str(), r.on_evaluation);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace diffpool::converter;  // NOLINT(google-build-using-namespace)
  const Arguments args = ParseArguments(argc, argv);
  ConvertReport report;
  std::vector<uint8_t> bytes;
  Int8Report int8_report;
  try {
    bytes = args.int8 ? ConvertInt8(args.convert, args.int8_options, &report, &int8_report)
                      : Convert(args.convert, &report);
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
  if (args.int8) PrintInt8Report(int8_report);
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
