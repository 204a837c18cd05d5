// Rotary position embedding with the cos/sin table the host computes in double precision for the
// batch's positions (backend/RopeAngles, shared with the CPU backend), so both rotate alike.
#include "gantry.cuh"

// grid: rows; block: threads striding over heads * half pairs. x: [rows][heads * headDim], rotated
// in place; cos, sin: [rows][half], half = rotaryDim / 2. neox != 0: pair i is (i, i + half),
// else (2i, 2i + 1). Dimensions past rotaryDim pass through.
extern "C" __global__ void rope(float* x, const float* __restrict__ cos, const float* __restrict__ sin, int heads,
                                int headDim, int half, int neox) {
    int r = blockIdx.x;
    for (int p = threadIdx.x; p < heads * half; p += blockDim.x) {
        int h = p / half;
        int i = p % half;
        float* head = x + (static_cast<long long>(r) * heads + h) * headDim;
        int a = neox ? i : 2 * i;
        int b = neox ? i + half : 2 * i + 1;
        float c = cos[r * half + i];
        float s = sin[r * half + i];
        float x0 = head[a];
        float x1 = head[b];
        head[a] = x0 * c - x1 * s;
        head[b] = x0 * s + x1 * c;
    }
}
GANTRY_EXPORT(rope);
