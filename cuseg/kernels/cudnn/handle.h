// Internal: cuDNN as cuseg uses it — one handle per device, bound to cuseg's stream, and every
// call checked.
#pragma once

#include <cudnn.h>

#include "cuseg/core/error.h"

namespace cuseg::cudnn {

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* what, const char* file,
                                    int line);

cudnnHandle_t handle(int device);

// A cuDNN descriptor that destroys itself.
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() {
    cudnnStatus_t s = Create(&d_);
    if (s != CUDNN_STATUS_SUCCESS) throw_cudnn_error(s, "create descriptor", __FILE__, __LINE__);
  }
  ~Descriptor() { Destroy(d_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator T() const { return d_; }

 private:
  T d_{};
};

using TensorDesc =
    Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc =
    Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                            cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor,
                            cudnnDestroyPoolingDescriptor>;

}  // namespace cuseg::cudnn

#define CUSEG_CUDNN_CHECK(expr)                                                    \
  do {                                                                             \
    cudnnStatus_t cuseg_status_ = (expr);                                          \
    if (cuseg_status_ != CUDNN_STATUS_SUCCESS)                                     \
      ::cuseg::cudnn::throw_cudnn_error(cuseg_status_, #expr, __FILE__, __LINE__); \
  } while (0)
