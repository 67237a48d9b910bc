# The few-classes micro-kernels and their run-time SIMD dispatch (fewclass.h).
# fewclass.c is compiled into the maxmargin._hinge extension (setup.py).

cdef extern from "fewclass.h" nogil:
    ctypedef struct fewclass_kernels:
        const char* name
        size_t (*panel_elements)(Py_ssize_t D, Py_ssize_t C, size_t itemsize) noexcept nogil
        size_t (*scratch_bytes)(Py_ssize_t rows, Py_ssize_t D, Py_ssize_t C,
                                size_t itemsize) noexcept nogil
        void (*pack_w_f32)(const float* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                           Py_ssize_t D, Py_ssize_t C, float* Wp) noexcept nogil
        void (*pack_w_f64)(const double* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                           Py_ssize_t D, Py_ssize_t C, double* Wp) noexcept nogil
        void (*scores_f32)(const float* X, Py_ssize_t ldx, Py_ssize_t rows, Py_ssize_t D,
                           const float* Wp, Py_ssize_t C, float* S, void* scratch) noexcept nogil
        void (*scores_f64)(const double* X, Py_ssize_t ldx, Py_ssize_t rows, Py_ssize_t D,
                           const double* Wp, Py_ssize_t C, double* S, void* scratch) noexcept nogil
        void (*grad_f32)(Py_ssize_t rows, Py_ssize_t D, const float* G, Py_ssize_t C,
                         float* dWp, int fresh, const float* next, Py_ssize_t next_ld,
                         Py_ssize_t next_rows, void* scratch) noexcept nogil
        void (*grad_f64)(Py_ssize_t rows, Py_ssize_t D, const double* G, Py_ssize_t C,
                         double* dWp, int fresh, const double* next, Py_ssize_t next_ld,
                         Py_ssize_t next_rows, void* scratch) noexcept nogil
        void (*finish_f32)(const float* acc, Py_ssize_t n_acc, Py_ssize_t acc_stride,
                           Py_ssize_t C, Py_ssize_t d_begin, Py_ssize_t d_end,
                           float* dW, int keep) noexcept nogil
        void (*finish_f64)(const double* acc, Py_ssize_t n_acc, Py_ssize_t acc_stride,
                           Py_ssize_t C, Py_ssize_t d_begin, Py_ssize_t d_end,
                           double* dW, int keep) noexcept nogil

    size_t fewclass_panel_elements(Py_ssize_t D, Py_ssize_t C, size_t itemsize)
    size_t fewclass_scratch_bytes(Py_ssize_t rows, Py_ssize_t D, Py_ssize_t C,
                                  size_t itemsize)
    void* fewclass_workspace_take(size_t bytes)
    void fewclass_workspace_give(void* workspace)
    const fewclass_kernels* fewclass_active()
    const char* const* fewclass_compiled_paths()
    double fewclass_l2_gradient_f32(const float* W, Py_ssize_t row_stride,
                                    Py_ssize_t col_stride, Py_ssize_t D, Py_ssize_t C,
                                    float two_reg, int accumulate, float* dW)
    double fewclass_l2_gradient_f64(const double* W, Py_ssize_t row_stride,
                                    Py_ssize_t col_stride, Py_ssize_t D, Py_ssize_t C,
                                    double two_reg, int accumulate, double* dW)
    int fewclass_cpu_supports(const char* name)
    int fewclass_select(const char* name)
