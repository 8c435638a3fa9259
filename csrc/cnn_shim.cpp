// extern "C" shim between the Verilated cnn_top and Rust (src/rtl.rs).
//
// One CnnModel owns one VerilatedContext and one model. Which ports the clock, reset and
// pixels drive and how each tap is unpacked into plain integers (so Rust never sees Verilator
// types) is generated from the design's binding (rtl/binding.toml → cnn_glue.h, src/glue.rs). $stop/$fatal and Verilator-internal fatal errors are turned into an error
// string on the model instead of aborting the process.
//
// Compiled twice by build.rs: as the fast model's shim (functions cnn_*) and, with
// CNN_TRACED, as the FST-traced model's (functions cnn_trace_*).

#include "verilated.h"
#ifdef CNN_TRACED
#include "Vcnn_top_trace.h"
#include "verilated_fst_c.h"
#define CNN_TOP Vcnn_top_trace
#define CNN_API(name) cnn_trace_##name
#else
#include "Vcnn_top.h"
#define CNN_TOP Vcnn_top
#define CNN_API(name) cnn_##name
#endif

#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace {

struct SimStop : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string where(const char* filename, int linenum) {
    if (!filename || !filename[0]) return std::string();
    return std::string(filename) + ":" + std::to_string(linenum) + ": ";
}


// Bits [lsb, lsb+width) of a port of any Verilator width class, sign-extended when asked.
template <typename T>
int64_t field(const T& v, int lsb, int width, bool is_signed) {
    uint64_t raw = (static_cast<uint64_t>(v) >> lsb) & ((1ULL << width) - 1);
    if (is_signed && (raw >> (width - 1)) & 1) raw |= ~((1ULL << width) - 1);
    return static_cast<int64_t>(raw);
}
template <std::size_t N>
int64_t field(const VlWide<N>& v, int lsb, int width, bool is_signed) {
    uint64_t raw = 0;
    for (int b = 0; b < width; ++b) {
        const int bit = lsb + b;
        raw |= static_cast<uint64_t>((v[bit / 32] >> (bit % 32)) & 1U) << b;
    }
    if (is_signed && (raw >> (width - 1)) & 1) raw |= ~((1ULL << width) - 1);
    return static_cast<int64_t>(raw);
}

}  // namespace

// Serializes VerilatedContext construction, which writes a process-global pointer; shared by
// both models.
extern std::mutex cnn_construct_mutex;

#ifndef CNN_TRACED
std::mutex cnn_construct_mutex;

// Verilator calls these for $finish, $stop/$fatal and its own fatal errors (compiled with
// -DVL_USER_FINISH -DVL_USER_STOP -DVL_USER_FATAL so verilated.cpp leaves them to us).
void vl_finish(const char* filename, int linenum, const char*) VL_MT_UNSAFE {
    (void)filename;
    (void)linenum;
    Verilated::threadContextp()->gotFinish(true);
}
void vl_stop(const char* filename, int linenum, const char*) VL_MT_UNSAFE {
    Verilated::threadContextp()->gotFinish(true);
    throw SimStop(where(filename, linenum) + "the RTL called $stop/$fatal");
}
void vl_fatal(const char* filename, int linenum, const char*, const char* msg) VL_MT_UNSAFE {
    Verilated::threadContextp()->gotFinish(true);
    throw SimStop(where(filename, linenum) + msg);
}
#endif

extern "C" {

// A batch of cycles (cnn_run). The caller owns one beat buffer per tap: `len[i]` beats are
// already there, room for `cap[i]`; the shim appends each beat's values (the tap's lanes,
// int64 each). Keep in sync with `RunBuf` in src/rtl.rs.
#define CNN_MAX_TAPS 8
struct CnnRun {
    int64_t* tap[CNN_MAX_TAPS];
    uint32_t len[CNN_MAX_TAPS];
    uint32_t cap[CNN_MAX_TAPS];
    // Out: cycles run, and whether the last of them had class_valid (then class_id).
    uint32_t cycles;
    uint8_t class_valid;
    uint8_t class_id;
};

}  // extern "C"

namespace {

struct CnnModel {
    VerilatedContext* ctx = nullptr;
    CNN_TOP* top = nullptr;
    std::string error;
#ifdef CNN_TRACED
    VerilatedFstC* fst = nullptr;
    bool dumping = false;
    uint64_t time = 0;
#endif
};

void set_error(CnnModel* m, const std::string& msg) {
    if (m->error.empty()) m->error = msg;
}

void dump(CnnModel* m) {
#ifdef CNN_TRACED
    if (m->fst && m->dumping) m->fst->dump(m->time);
    m->time += 1;
#else
    (void)m;
#endif
}

#include "cnn_glue.h"

// A cycle: inputs applied with the clock low, then the rising edge; outputs read after it.
void cycle(CnnModel* m, bool in_reset, uint8_t valid, uint8_t pixel) {
    CNN_TOP* t = m->top;
    cnn_set_inputs(t, 0, in_reset, valid, pixel);
    t->eval();
    dump(m);
    cnn_set_inputs(t, 1, in_reset, valid, pixel);
    t->eval();
    dump(m);
    if (m->ctx->gotFinish()) throw SimStop("the RTL called $finish");
}

}  // namespace

extern "C" {

// Builds a model that loads its weights from `weights_dir` (+weights=DIR) and evaluates the
// initial blocks. Never returns null; check cnn_error().
// `fst_path` (traced model only) names the waveform file; dumping starts with
// cnn_trace_dump(m, 1).
CnnModel* CNN_API(new)(const char* weights_dir, uint64_t seed, const char* fst_path) {
    CnnModel* m = new CnnModel;
    try {
        {
            std::lock_guard<std::mutex> lock(cnn_construct_mutex);
            m->ctx = new VerilatedContext;
            const std::string plus = std::string("+weights=") + weights_dir;
            // Verilator takes seeds in 1..2^31-1.
            const std::string rs = "+verilator+seed+" + std::to_string(seed % 2147483646ULL + 1);
            // With --x-initial unique (the unique-init lane) every register starts random.
            const char* argv[] = {"cnn-cosim", plus.c_str(), rs.c_str(), "+verilator+rand+reset+2"};
            m->ctx->commandArgs(4, argv);
            m->ctx->fatalOnError(false);
#ifdef CNN_TRACED
            m->ctx->traceEverOn(true);
#endif
            m->top = new CNN_TOP(m->ctx, "top");
        }
        Verilated::threadContextp(m->ctx);
        cnn_set_inputs(m->top, 0, true, 0, 0);
        m->top->eval();  // runs the initial blocks: $readmemh and the file checks
        if (m->ctx->gotFinish()) throw SimStop("the RTL called $finish while loading weights");
#ifdef CNN_TRACED
        m->fst = new VerilatedFstC;
        m->top->trace(m->fst, 99);
        m->fst->open(fst_path);
        if (!m->fst->isOpen()) throw SimStop(std::string(fst_path) + ": cannot open for writing");
#else
        (void)fst_path;
#endif
    } catch (const std::exception& e) {
        set_error(m, e.what());
    }
    return m;
}

void CNN_API(free)(CnnModel* m) {
    if (!m) return;
#ifdef CNN_TRACED
    if (m->fst) {
        m->fst->close();
        delete m->fst;
    }
#endif
    if (m->top) {
        Verilated::threadContextp(m->ctx);
        delete m->top;
    }
    delete m->ctx;
    delete m;
}

// The first error the model hit, or null. After an error the model only returns errors.
const char* CNN_API(error)(const CnnModel* m) { return m->error.empty() ? nullptr : m->error.c_str(); }

// Holds rst_n low for `cycles` cycles. Returns 0, or -1 on error.
int CNN_API(reset)(CnnModel* m, uint32_t cycles) {
    if (!m->error.empty()) return -1;
    try {
        Verilated::threadContextp(m->ctx);
        for (uint32_t i = 0; i < cycles; ++i) cycle(m, true, 0, 0);
    } catch (const std::exception& e) {
        set_error(m, e.what());
        return -1;
    }
    return 0;
}

// Up to `n` clock cycles, cycle i with pixel valid = in[2i], pixel = in[2i+1] (out of reset),
// appending every tap beat to `r`. Stops after the first cycle with class_valid, or before a
// cycle when a beat buffer is full (the caller makes room and calls again), or after `n`.
// `r->cycles` says how many ran. Returns 0, or -1 on error (r->cycles still counts the cycles
// completed before it).
int CNN_API(run)(CnnModel* m, const uint8_t* in, uint32_t n, CnnRun* r) {
    r->cycles = 0;
    r->class_valid = 0;
    if (!m->error.empty()) return -1;
    try {
        Verilated::threadContextp(m->ctx);
        CNN_TOP* t = m->top;
        for (uint32_t i = 0; i < n; ++i) {
            for (int k = 0; k < CNN_NTAPS; ++k)
                if (r->len[k] == r->cap[k]) return 0;
            cycle(m, false, in[2 * i], in[2 * i + 1]);
            r->cycles = i + 1;
            cnn_append_taps(t, r);
            if (cnn_class_valid(t)) {
                r->class_valid = 1;
                r->class_id = cnn_class(t);
                return 0;
            }
        }
    } catch (const std::exception& e) {
        set_error(m, e.what());
        return -1;
    }
    return 0;
}

// Starts (1) or stops (0) writing cycles to the waveform; a no-op on the fast model.
void CNN_API(dump)(CnnModel* m, int on) {
#ifdef CNN_TRACED
    m->dumping = on != 0;
    if (m->fst && !m->dumping) m->fst->flush();
#else
    (void)m;
    (void)on;
#endif
}

#ifndef CNN_TRACED
const char* cnn_verilator_version(void) { return Verilated::productVersion(); }
// The taps the generated glue brings out (src/rtl.rs checks it against the binding).
int cnn_ntaps(void) { return CNN_NTAPS; }
#endif

}  // extern "C"
