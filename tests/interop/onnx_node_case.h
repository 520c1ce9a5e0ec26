// ONNX's backend node-test cases (written by tests/onnx_node_cases.py) and their mappings onto
// cuseg's entry points. A case's tensors stay in ONNX's layout (NCHW, row-major) as doubles here;
// each mapping permutes them into cuseg's (NHWC, channels last), runs the op, and permutes the
// result back, so that the comparison is against ONNX's expected output untouched.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg::onnx_node {

struct Array {
  std::string name, dtype;  // name "" : an optional input left out; dtype numpy's ("float32")
  std::vector<int64_t> shape;
  std::vector<double> values;
  bool has_data = false;  // false where the file could not carry it (dtype, rank)
};

struct Case {
  std::string op, name;
  nlohmann::json attrs;
  std::vector<Array> inputs, outputs;  // inputs by the node's input slots
  double rtol = 0, atol = 0;           // ONNX's own tolerance for the case
};

// Thrown by a mapping, before it computes, for a case cuseg's ops cannot express; `why` is the
// reason printed in the table and in docs/ONNX_NODE_TESTS.md.
struct NotExpressible {
  std::string why;
};

// How one run computes: the dtype of cuseg's tensors (F32, F64) and the backend asked for.
struct Run {
  DType dtype;
  Backend backend;
};

// Layout: permutations of an Array's axes (out axis d is in axis perm[d]).
using Perm = std::vector<int>;
extern const Perm kToNhwc;  // NCHW → NHWC; also ONNX's weights [K, C, R, S] → cuseg's KRSC
extern const Perm kToNchw;
Array permute(const Array& a, const Perm& perm);
// An Array, permuted, as a cuseg tensor of the run's dtype; and back.
Tensor tensor(const Array& a, const Run& r, const Perm& perm = {});
Array array(const Tensor& t, const Perm& perm = {});
[[noreturn]] void cannot(const std::string& why);  // throws NotExpressible

Perm inverse(const Perm& p);
Perm axis_last(size_t rank, int64_t axis);               // moves `axis` last (cuseg's channels)
int64_t normalize_axis(int64_t axis, size_t rank);       // ONNX's negative axes
// The case's attributes, ONNX's defaults where absent.
int64_t attr_int(const Case& c, const char* name, int64_t fallback);
double attr_float(const Case& c, const char* name, double fallback);
std::string attr_str(const Case& c, const char* name, const std::string& fallback);
std::vector<int64_t> attr_ints(const Case& c, const char* name, std::vector<int64_t> fallback);
bool present(const Case& c, size_t i);                       // the optional input slot i is given
const Array& input(const Case& c, size_t i);                 // input slot i, which has data
void need_floats(const Case& c, std::vector<size_t> except = {});  // else NotExpressible
void need_images(const Case& c, const char* what);           // input 0 is NCHW, else NotExpressible

// A case's outputs as cuseg computes them, in ONNX's layout, one per output of the case.
using Mapping = std::vector<Array> (*)(const Case&, const Run&);
// Every op type mapped, by ONNX name (onnx_node_ops.cpp); the other files add theirs.
const std::map<std::string, Mapping>& mappings();
void add_resize_mappings(std::map<std::string, Mapping>& m);  // onnx_node_resize.cpp
void add_tensor_mappings(std::map<std::string, Mapping>& m);  // onnx_node_tensor_ops.cpp

}  // namespace cuseg::onnx_node
