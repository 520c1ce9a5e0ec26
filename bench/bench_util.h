// Benchmark helpers. GPU benchmarks use manual time: each iteration is the op plus a
// synchronize, timed on the host, after the L2 cache was flushed by writing a buffer larger
// than it, so that a small tensor is read from HBM as it would be inside a training step.
// Benchmarks are registered at run time, only for the implementations this machine has.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <functional>
#include <string>

#include "cuseg/config.h"
#include "cuseg/core/device.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg::bench {

// Each benchmark binary defines this; the shared main() (bench_util.cpp) calls it after
// Google Benchmark has read its flags.
void register_benchmarks();

struct Impl {
  std::string name;  // "fast", "cuda", "cudnn"
  Device device;
  Backend backend;
};

// CPU always; CUDA and cuDNN where this machine has them.
std::vector<Impl> implementations(bool with_cudnn = true);

// Runs `op` once per iteration. On a GPU: L2 flushed before each run, time = op + synchronize.
void run(benchmark::State& state, const Impl& impl, const std::function<void()>& op);

// Counters: FLOP/s and bytes/s, both per iteration (rates over the measured time).
void set_flops(benchmark::State& state, double flops_per_iteration);
void set_bytes(benchmark::State& state, double bytes_per_iteration);

Tensor random(const Shape& shape, const Device& device, uint64_t seed = 1);

}  // namespace cuseg::bench
