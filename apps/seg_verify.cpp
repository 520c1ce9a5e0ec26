// seg_verify: runs every kernel on random inputs, on the CPU and on each GPU implementation
// there is, against the float64 CPU reference, and prints one table. Exit code 1 if anything
// fails, 2 for a usage error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cuseg/config.h"
#include "cuseg/core/device.h"
#include "cuseg/kernels/compute.h"
#include "verify/registry.h"

int main(int argc, char** argv) {
  using namespace cuseg;
  CLI::App app{"seg_verify: every cuseg kernel against its float64 CPU reference"};
  uint64_t seed = 1;
  std::string only, json_path, device_choice = "all";
  bool unet_only = false, small_only = false;
  app.add_option("--seed", seed, "seed of the random inputs");
  app.add_option("--op", only, "check only ops whose name contains this text");
  app.add_option("--device", device_choice, "all, cpu or cuda")
      ->check(CLI::IsMember({"all", "cpu", "cuda"}));
  app.add_flag("--unet-only", unet_only, "check only the U-Net-sized case of each op");
  app.add_flag("--small-only", small_only, "leave out the U-Net-sized case of each op (a quick check)")
      ->excludes("--unet-only");
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  bool ops_table_only = false;
  app.add_flag("--ops-table", ops_table_only,
               "print the Markdown table of every op and the implementations it has (docs/OPS.md) and exit");
  CLI11_PARSE(app, argc, argv);
  if (ops_table_only) {
    std::fputs(ops_table().c_str(), stdout);
    return 0;
  }

  const bool gpu = cuda_available() && device_choice != "cpu";
  if (!cuda_available()) {
    std::printf("No GPU (%s): checking the CPU paths only.\n\n", cuda_status().c_str());
  } else {
    std::printf("GPU: %s; cuDNN %s\n\n", cuda_device_name(0).c_str(),
                CUSEG_HAS_CUDNN ? "built in" : "not built");
  }
  if (device_choice == "cuda" && !gpu) {
    std::fprintf(stderr, "seg_verify: --device cuda but %s\n", cuda_status().c_str());
    return 1;
  }

  // Every implementation each op's descriptor names and this build has (verify/registry.h).
  std::vector<OpTarget> targets;
  if (device_choice != "cuda")
    for (const OpTarget& t : op_targets(false))
      if (t.precision == cuseg::Precision::F32 || cuseg::cpu_has_bf16()) targets.push_back(t);  // CPU bf16
  if (gpu)
    for (const OpTarget& t : op_targets(true)) targets.push_back(t);

  std::printf("%-34s %-58s %-9s %11s %11s %5s %10s\n", "op", "shape", "impl", "max_abs", "rel_l2",
              "ok", "ms");
  int failures = 0, checks = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const OpSpec& op : op_registry()) {
    if (!only.empty() && op.name.find(only) == std::string::npos) continue;
    for (size_t i = 0; i < op.cases.size(); ++i) {
      if ((unet_only && !op.cases[i].unet_sized) || (small_only && op.cases[i].unet_sized)) continue;
      for (const OpTarget& t : targets) {
        if (t.op != &op) continue;
        const OpCheck r = check_op(op, int(i), t.impl, seed, t.precision);
        ++checks;
        failures += r.pass ? 0 : 1;
        const std::string impl = r.precision == "f32" ? r.impl : r.impl + " " + r.precision;
        std::printf("%-34s %-58s %-9s %11.3e %11.3e %5s %10.3f\n", r.op.c_str(),
                    r.case_label.c_str(), impl.c_str(), r.max_abs, r.rel_l2,
                    r.pass ? "pass" : "FAIL", r.milliseconds);
        if (!r.pass) std::printf("    %s\n", r.detail.c_str());
        results.push_back({{"op", r.op},
                           {"shape", r.case_label},
                           {"impl", r.impl},
                           {"precision", r.precision},
                           {"max_abs", r.max_abs},
                           {"rel_l2", r.rel_l2},
                           {"max_rel", r.max_rel},
                           {"tolerance", tolerance_of(op, t.precision)},
                           {"pass", r.pass},
                           {"ms", r.milliseconds},
                           {"detail", r.detail}});
      }
    }
  }
  std::printf("\n%d checks, %d failed%s\n", checks, failures, gpu ? "" : " (CPU only: no GPU)");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << nlohmann::json{{"seed", seed},
                          {"gpu", gpu ? cuda_device_name(0) : ""},
                          {"results", results}}
               .dump(2)
        << "\n";
    if (!out) {
      std::fprintf(stderr, "seg_verify: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
}
