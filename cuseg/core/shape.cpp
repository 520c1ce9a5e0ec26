#include "cuseg/core/shape.h"

#include "cuseg/core/error.h"

namespace cuseg {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(dims.begin(), int(dims.size())) {}

Shape::Shape(const int64_t* dims, int rank) {
  CUSEG_CHECK(rank >= 0 && rank <= kMaxRank, "Shape: rank ", rank, " is not in [0, ", kMaxRank,
              "]");
  for (int i = 0; i < rank; ++i) {
    CUSEG_CHECK(dims[i] >= 0, "Shape: negative dimension ", dims[i]);
    dims_[rank_++] = dims[i];
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ',';
    s += std::to_string(dims_[i]);
  }
  s += ']';
  return s;
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

}  // namespace cuseg
