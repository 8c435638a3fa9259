// extern "C" shim between a Verilated design and Rust (src/sim/model.rs).
//
// One CnnModel owns one VerilatedContext and one model. Which signals the clock, reset and
// pixels drive, whether the input has a ready, and how each tap is read and unpacked into
// plain integers (so Rust never sees Verilator types) is generated from the design's binding
// (binding.toml → cnn_glue.h, src/sim/glue.rs); the design is always Verilated with
// `--prefix Vcnn_top`, whatever its top is called. $stop/$fatal, Verilator-internal fatal
// errors and a $readmem file that is not found are turned into an error string on the model
// instead of aborting the process or running on zeros.
//
// Compiled twice: as the fast model's shim (functions cnn_*) and, with CNN_TRACED, as the
// FST-traced model's (functions cnn_trace_*) — by build.rs for the compiled-in RTL, by
// src/sim/verilate.rs into a shared library for a design Verilated at run time.

#include "verilated.h"
// The root class holds the design's internal signals, which the glue may read.
#ifdef CNN_TRACED
#include "Vcnn_top_trace.h"
#include "Vcnn_top_trace___024root.h"
#include "verilated_fst_c.h"
#define CNN_TOP Vcnn_top_trace
#define CNN_API(name) cnn_trace_##name
#else
#include "Vcnn_top.h"
#include "Vcnn_top___024root.h"
#define CNN_TOP Vcnn_top
#define CNN_API(name) cnn_##name
#endif

#if VM_COVERAGE
#include "verilated_cov.h"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct SimStop : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string where(const char* filename, int linenum) {
    if (!filename || !filename[0]) return std::string();
    return std::string(filename) + ":" + std::to_string(linenum) + ": ";
}


// Bits [lsb, lsb+width) of a port of any Verilator width class, sign-extended when asked.
inline uint64_t low_bits(int width) { return width >= 64 ? ~0ULL : (1ULL << width) - 1; }
template <typename T>
int64_t field(const T& v, int lsb, int width, bool is_signed) {
    uint64_t raw = (static_cast<uint64_t>(v) >> lsb) & low_bits(width);
    if (is_signed && (raw >> (width - 1)) & 1) raw |= ~low_bits(width);
    return static_cast<int64_t>(raw);
}
template <std::size_t N>
int64_t field(const VlWide<N>& v, int lsb, int width, bool is_signed) {
    uint64_t raw = 0;
    for (int b = 0; b < width; ++b) {
        const int bit = lsb + b;
        raw |= static_cast<uint64_t>((v[bit / 32] >> (bit % 32)) & 1U) << b;
    }
    if (is_signed && (raw >> (width - 1)) & 1) raw |= ~low_bits(width);
    return static_cast<int64_t>(raw);
}

}  // namespace

// Serializes VerilatedContext construction, which writes a process-global pointer; shared by
// both models.
extern std::mutex cnn_construct_mutex;

// Defined once: by the fast model's shim, or by each library built on its own
// (CNN_STANDALONE: src/sim/verilate.rs builds the traced model as a library of its own).
#if !defined(CNN_TRACED) || defined(CNN_STANDALONE)
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

// Where a weight-loading problem of the model whose initial blocks are running on this
// thread goes (set while cnn_new evaluates them); shared by both models.
extern thread_local std::string* cnn_loading_error;

#if !defined(CNN_TRACED) || defined(CNN_STANDALONE)
thread_local std::string* cnn_loading_error = nullptr;

// Verilator calls this for run-time warnings (-DVL_USER_WARN). A $readmem file that is not
// found is only a warning to Verilator, and the design would then run on zeros: here it is
// an error of the model being built.
void vl_warn(const char* filename, int linenum, const char*, const char* msg) VL_MT_UNSAFE {
    const std::string m(msg);
    if (cnn_loading_error && m.find("$readmem") != std::string::npos && cnn_loading_error->empty()) {
        *cnn_loading_error = std::string(filename) + ": " + m +
                             " (the design's $readmemh found no weights there)";
        return;
    }
    VL_PRINTF("%%Warning: %s%s\n", where(filename, linenum).c_str(), msg);
}
#endif

extern "C" {

// A batch of cycles (cnn_run). The caller owns one beat buffer per tap: `len[i]` beats are
// already there, room for `cap[i]`; the shim appends each beat's values (the tap's lanes,
// int64 each). Keep in sync with `RunBuf` in src/sim/model.rs.
#define CNN_MAX_TAPS 8
struct CnnRun {
    int64_t* tap[CNN_MAX_TAPS];
    uint32_t len[CNN_MAX_TAPS];
    uint32_t cap[CNN_MAX_TAPS];
    // In: with a ready, the most cycles in a row a pixel may wait for it; whether to return
    // right after the cycle that accepts the first pixel (valid input); whether tap beats
    // are dropped instead of appended (a bare loop: `bench`'s ceiling of a run-time design).
    uint32_t stall_limit;
    uint8_t stop_at_accept;
    uint8_t drop_taps;
    // Out: cycles run, inputs consumed (with a ready, a pixel is consumed in the cycle it is
    // accepted), the cycle (1-based, within this call) in which the first and the last
    // consumed pixel (valid input) were accepted (0: none), whether a pixel waited longer
    // than stall_limit, and whether the last cycle had class_valid (then class_id).
    uint32_t cycles;
    uint32_t consumed;
    uint32_t first_accept;
    uint32_t last_accept;
    uint8_t stalled;
    uint8_t class_valid;
    uint8_t class_id;
};

}  // extern "C"

namespace {

struct CnnModel {
    VerilatedContext* ctx = nullptr;
    CNN_TOP* top = nullptr;
    std::string error;
    // Whether ready has been high since the last reset (for CNN_WAIT_READY).
    bool ready_seen = false;
    // The last sampled value of each rising-edge tap valid (the class's at CNN_MAX_TAPS).
    bool edge_q[CNN_MAX_TAPS + 1] = {};
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

// Bytes per input (src/sim/model.rs `Input`): valid, then up to 8 pixels of one beat.
#define CNN_IN_STRIDE 9
const uint8_t cnn_no_pixels[CNN_IN_STRIDE - 1] = {0};

#include "cnn_glue.h"

// A cycle: inputs applied with the clock low, then the rising edge; outputs read after it.
// Returns whether the input was accepted at the edge: ready as it was before the edge (a
// design without ready accepts every cycle). Inlined into the run loop: a call per cycle
// cost the seed's harness 1.5 % of its time.
__attribute__((always_inline)) inline bool cycle(CnnModel* m, bool in_reset, uint8_t valid, const uint8_t* pixel) {
    CNN_TOP* t = m->top;
    cnn_set_inputs(t, 0, in_reset, valid, pixel);
    t->eval();
    dump(m);
#if CNN_HAS_READY
    const bool ready = cnn_ready(t);
#else
    const bool ready = true;
#endif
    cnn_set_inputs(t, 1, in_reset, valid, pixel);
    t->eval();
    dump(m);
    if (m->ctx->gotFinish()) throw SimStop("the RTL called $finish");
    return ready;
}

// A host-driven design's cycle: the bus inputs `in` applied with the clock low, the bus
// outputs read into `out` before the rising edge (what a handshake at that edge sees), then
// the edge.
#if CNN_HOST
void host_cycle(CnnModel* m, const uint64_t* in, uint64_t* out) {
    CNN_TOP* t = m->top;
    cnn_host_set(t, in);
    cnn_set_inputs(t, 0, false, 0, cnn_no_pixels);
    t->eval();
    dump(m);
    cnn_host_get(t, out);
    cnn_set_inputs(t, 1, false, 0, cnn_no_pixels);
    t->eval();
    dump(m);
    if (m->ctx->gotFinish()) throw SimStop("the RTL called $finish");
}
#endif

}  // namespace

extern "C" {

// Builds a model with the plusargs `args` (the binding's: how it finds its weights, and its
// own) and evaluates the initial blocks (where designs $readmemh their weights). Never
// returns null; check cnn_error().
// `fst_path` (traced model only) names the waveform file; dumping starts with
// cnn_trace_dump(m, 1).
CnnModel* CNN_API(new)(const char* const* args, uint32_t nargs, uint64_t seed, const char* fst_path) {
    CnnModel* m = new CnnModel;
    try {
        {
            std::lock_guard<std::mutex> lock(cnn_construct_mutex);
            m->ctx = new VerilatedContext;
            // Verilator takes seeds in 1..2^31-1.
            const std::string rs = "+verilator+seed+" + std::to_string(seed % 2147483646ULL + 1);
            // With --x-initial unique (the unique-init lane) every register starts random.
            std::vector<const char*> argv = {"cnn-cosim", rs.c_str(), "+verilator+rand+reset+2"};
            for (uint32_t i = 0; i < nargs; ++i) argv.push_back(args[i]);
            m->ctx->commandArgs(static_cast<int>(argv.size()), argv.data());
            m->ctx->fatalOnError(false);
#ifdef CNN_TRACED
            m->ctx->traceEverOn(true);
#endif
            m->top = new CNN_TOP(m->ctx, "top");
        }
        Verilated::threadContextp(m->ctx);
        cnn_set_inputs(m->top, 0, true, 0, cnn_no_pixels);
        std::string load_error;
        cnn_loading_error = &load_error;
        try {
            m->top->eval();  // runs the initial blocks: $readmemh and the file checks
        } catch (...) {
            cnn_loading_error = nullptr;
            // A file that was not found is the cause of whatever the design stopped with.
            if (!load_error.empty()) throw SimStop(load_error);
            throw;
        }
        cnn_loading_error = nullptr;
        if (!load_error.empty()) throw SimStop(load_error);
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

// Holds the reset active for `cycles` cycles. Returns 0, or -1 on error.
int CNN_API(reset)(CnnModel* m, uint32_t cycles) {
    if (!m->error.empty()) return -1;
    try {
        Verilated::threadContextp(m->ctx);
        m->ready_seen = false;
        for (uint32_t i = 0; i < cycles; ++i) {
            cycle(m, true, 0, cnn_no_pixels);
            cnn_track_edges(m, m->top);
        }
    } catch (const std::exception& e) {
        set_error(m, e.what());
        return -1;
    }
    return 0;
}

// Consumes up to `n` inputs, input i being CNN_IN_STRIDE bytes: valid, then the beat's
// pixels (CNN_LANES of them; out of
// reset), one clock cycle each, except that with a ready a valid input is held until a cycle
// accepts it (and, with CNN_WAIT_READY, presented only once ready has been high since the
// reset); appends every tap beat to `r`. Stops after the first cycle with class_valid, or
// before a cycle when a beat buffer is full (the caller makes room and calls again), or when
// a pixel has waited `r->stall_limit` cycles (`r->stalled`), or after `n` inputs. `r` says how
// many cycles ran and inputs were consumed. Returns 0, or -1 on error (r still counts the
// cycles and inputs completed before it).
int CNN_API(run)(CnnModel* m, const uint8_t* in, uint32_t n, CnnRun* r) {
    r->cycles = 0;
    r->consumed = 0;
    r->first_accept = 0;
    r->last_accept = 0;
    r->stalled = 0;
    r->class_valid = 0;
    if (!m->error.empty()) return -1;
    // The counters stay in locals while the model runs (its eval() is opaque to the compiler,
    // which would otherwise store and reload fields of *r around every call) and go to `r`
    // on every way out, an error's included (the caller counts the cycles run).
    uint32_t cycles = 0, consumed = 0, first = 0, last = 0;
    uint8_t stalled = 0;
    const auto out = [&](int rc) {
        r->cycles = cycles;
        r->consumed = consumed;
        r->first_accept = first;
        r->last_accept = last;
        r->stalled = stalled;
        return rc;
    };
    try {
        Verilated::threadContextp(m->ctx);
        CNN_TOP* t = m->top;
        uint32_t waited = 0;
        const bool keep = !r->drop_taps;
        const bool stop_at_accept = r->stop_at_accept != 0;
        const uint32_t stall_limit = r->stall_limit;
        (void)stall_limit;
        // Cycles left before some tap's buffer may be full (a cycle appends at most one beat
        // per tap), so the buffers are looked at only when it runs out.
        uint32_t room = 0;
        while (consumed < n) {
            if (keep && room == 0) {
                room = UINT32_MAX;
                for (int k = 0; k < CNN_NTAPS; ++k) room = std::min(room, r->cap[k] - r->len[k]);
                if (room == 0) return out(0);
            }
            --room;
            const uint8_t* item = in + static_cast<size_t>(CNN_IN_STRIDE) * consumed;
            uint8_t valid = item[0];
#if CNN_WAIT_READY
            if (!m->ready_seen) valid = 0;
#endif
            const bool accepted = cycle(m, false, valid, item + 1);
            cycles += 1;
#if CNN_HAS_READY
            if (accepted) m->ready_seen = true;
            if (item[0] && !(valid && accepted)) {
                // Held: the same pixel again next cycle.
                if (++waited >= stall_limit) stalled = 1;
            } else {
                waited = 0;
                consumed += 1;
                if (item[0]) {
                    if (!first) first = cycles;
                    last = cycles;
                }
            }
#else
            (void)accepted;
            (void)waited;
            consumed += 1;
            if (item[0]) {
                if (!first) first = cycles;
                last = cycles;
            }
#endif
            if (keep) cnn_append_taps(m, t, r);
            if (cnn_class_valid(m, t)) {
                r->class_valid = 1;
                r->class_id = cnn_class(t);
                return out(0);
            }
            if (stalled) return out(0);
            if (stop_at_accept && first) return out(0);
        }
    } catch (const std::exception& e) {
        out(0);
        set_error(m, e.what());
        return -1;
    }
    return out(0);
}

// A host-driven design (src/sim/host.rs): up to `n` cycles out of reset with the bus inputs
// `in` (the glue's order), appending every tap beat to `r`; `out` gets the bus outputs of
// the last cycle run, read before its rising edge. Stops after the first cycle with done
// (a done port; then `r->class_id` is the class port), or before a cycle when a beat buffer
// is full (never, with `r->drop_taps`: beats are not kept). Returns 0, or -1 on error (a
// streaming design's library returns -1 at once).
int CNN_API(host)(CnnModel* m, const uint64_t* in, uint32_t n, uint64_t* out, CnnRun* r) {
    r->cycles = 0;
    r->class_valid = 0;
    if (!m->error.empty()) return -1;
#if CNN_HOST
    try {
        Verilated::threadContextp(m->ctx);
        CNN_TOP* t = m->top;
        while (r->cycles < n) {
            if (!r->drop_taps)
                for (int k = 0; k < CNN_NTAPS; ++k)
                    if (r->len[k] == r->cap[k]) return 0;
            host_cycle(m, in, out);
            r->cycles += 1;
            if (!r->drop_taps) cnn_append_taps(m, t, r);
            if (cnn_class_valid(m, t)) {
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
#else
    (void)in;
    (void)n;
    (void)out;
    set_error(m, "internal error: cnn_host called on a streaming design");
    return -1;
#endif
}

// Writes the coverage counts of the model's context (every point since it was built) to
// `path` in Verilator's coverage.dat format. Returns 0, or -1 (with the reason in
// cnn_error()) when the model was not built with coverage or the file cannot be written.
// Works on a model that stopped too: its counts up to the stop are as good.
int CNN_API(coverage_write)(CnnModel* m, const char* path) {
#if VM_COVERAGE
    try {
        Verilated::threadContextp(m->ctx);
        m->ctx->coveragep()->write(path);
    } catch (const std::exception& e) {
        set_error(m, e.what());
        return -1;
    }
    return 0;
#else
    (void)path;
    set_error(m, "internal error: this model was built without coverage");
    return -1;
#endif
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
// The taps the generated glue brings out (src/sim/model.rs checks it against the binding).
int cnn_ntaps(void) { return CNN_NTAPS; }
#endif

#ifdef CNN_PGO_GENERATE
// A library compiled to profile itself (src/sim/toolchain.rs): writes its counts now, once
// (the compiler's run time then skips its write at exit). 0 on success.
#ifdef __clang__
int __llvm_profile_write_file(void);
void __llvm_profile_set_filename(const char*);
int cnn_profile_dump(void) {
    const int rc = __llvm_profile_write_file();
    // The library stays loaded to the end of the process, when the run time writes its
    // counts again (and `__llvm_profile_dump` would have it print a note instead): there
    // is nothing more to keep by then.
    __llvm_profile_set_filename("/dev/null");
    return rc;
}
#else
void __gcov_dump(void);
int cnn_profile_dump(void) {
    __gcov_dump();
    return 0;
}
#endif
#endif

}  // extern "C"
