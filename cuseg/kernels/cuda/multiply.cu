// The broadcast product: the elementwise parts are one grid-stride loop (map.cuh) that finds each
// element's s through the plan; ds is a column reduction (column_reduce.cuh) whose columns are
// s's elements and whose rows are their repeats.
#include <climits>

#include "cuseg/core/cuda/runtime.h"
#include "cuseg/core/error.h"
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/cuda/multiply.h"

namespace cuseg::cuda {

namespace {

// out[i] = a[i] · s[plan.s_index(i)]: the forward (a = x) and dx (a = dy).
struct ScaleByOp {
  const float* a;
  const float* s;
  float* out;
  MultiplyPlan plan;
  __device__ void operator()(int64_t i) const { out[i] = __ldg(a + i) * __ldg(s + plan.s_index(i)); }
};

struct ProductValue {
  const float* x;
  const float* dy;
  MultiplyPlan plan;
  __device__ Sums<1> operator()(int64_t r, int j) const {
    const int64_t i = plan.x_index(j, r);
    return {{__ldg(dy + i) * __ldg(x + i)}};
  }
};

struct StoreSum {
  float* ds;
  __device__ void operator()(int j, const double (&total)[1]) const { ds[j] = float(total[0]); }
};

int64_t numel(const MultiplyPlan& p) { return p.s_numel() * p.repeats(); }

}  // namespace

void multiply_forward(const float* x, const float* s, float* y, const MultiplyPlan& plan, int device) {
  launch_map(numel(plan), device, ScaleByOp{x, s, y, plan});
}

void multiply_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, const MultiplyPlan& plan,
                       int device) {
  // ds first: dx may alias dy.
  if (ds) {
    CUSEG_CHECK(plan.s_numel() <= INT_MAX, "multiply_backward: ", plan.s_numel(), " elements of s is too many for one call");
    column_reduce<1>(plan.repeats(), int(plan.s_numel()), ProductValue{x, dy, plan}, StoreSum{ds}, device);
  }
  if (dx) launch_map(numel(plan), device, ScaleByOp{dy, s, dx, plan});
}

}  // namespace cuseg::cuda
