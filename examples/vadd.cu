// vadd: the simplest 1D kernel -- global id from blockIdx/blockDim/threadIdx,
// bounds check against an int parameter, three float pointers.
#include "gpu.h"

__global__ void vadd(const float *a, const float *b, float *c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    c[i] = a[i] + b[i];
}
