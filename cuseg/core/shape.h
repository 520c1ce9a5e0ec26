// Shape of a tensor: rank 0 to 4. Images are NHWC, so dims[3] is the channel count.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace cuseg {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  Shape(const int64_t* dims, int rank);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t numel() const;    // 1 for rank 0
  std::string str() const;  // "[2,3,4]"
  bool operator==(const Shape& other) const;

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace cuseg
