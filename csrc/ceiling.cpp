// The ceiling: a bare C++ loop driving the same Verilated cnn_top the crate links (build.rs
// links this file against the very libcnn_verilated.a it compiles for the crate), with no
// harness around it. It streams the MNIST test images back-to-back, one pixel per clock, two
// evals per cycle (exactly like csrc/cnn_shim.cpp), counts class_valid strobes and compares
// nothing. `cnn-cosim bench` runs it as throughput (a).
//
//   cnn-ceiling IMAGES_IDX WEIGHTS_DIR [LIMIT]
//
// prints one line: images=N cycles=C seconds=S classes=K class_sum=X
// (seconds: the simulation loop only; class_sum keeps the taps observable).

#include "verilated.h"
#include "Vcnn_top.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

uint32_t be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "cnn-ceiling: %s\n", msg.c_str());
    std::exit(2);
}

}  // namespace

static int run(int argc, char** argv);

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // the shim's vl_stop/vl_fatal throw
        die(e.what());
    }
}

static int run(int argc, char** argv) {
    if (argc < 3 || argc > 4) die("usage: cnn-ceiling IMAGES_IDX WEIGHTS_DIR [LIMIT]");
    std::FILE* f = std::fopen(argv[1], "rb");
    if (!f) die(std::string(argv[1]) + ": cannot open");
    std::vector<unsigned char> idx;
    unsigned char buf[1 << 16];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) idx.insert(idx.end(), buf, buf + n);
    std::fclose(f);
    if (idx.size() < 16 || be32(&idx[0]) != 2051 || be32(&idx[8]) != 28 || be32(&idx[12]) != 28)
        die(std::string(argv[1]) + ": not a raw IDX file of 28x28 images");
    uint64_t images = be32(&idx[4]);
    if (idx.size() < 16 + images * 784) die(std::string(argv[1]) + ": truncated");
    if (argc == 4) images = std::min<uint64_t>(images, std::strtoull(argv[3], nullptr, 10));
    const unsigned char* pixels = &idx[16];

    VerilatedContext ctx;
    const std::string plus = std::string("+weights=") + argv[2];
    const char* args[] = {"cnn-ceiling", plus.c_str()};
    ctx.commandArgs(2, args);
    Vcnn_top top(&ctx, "top");

    const auto t0 = std::chrono::steady_clock::now();
    uint64_t cycles = 0, classes = 0, class_sum = 0;
    auto cycle = [&](uint8_t rst_n, uint8_t valid, uint8_t pixel) {
        top.clk_i = 0;
        top.rst_ni = rst_n;
        top.pixel_valid_i = valid;
        top.pixel_i = pixel;
        top.eval();
        top.clk_i = 1;
        top.eval();
        ++cycles;
        if (top.class_valid_o) {
            ++classes;
            class_sum += top.class_o;
        }
    };
    top.clk_i = 0;
    top.rst_ni = 0;
    top.eval();  // initial blocks: $readmemh
    if (ctx.gotFinish()) die("the RTL stopped while loading weights");
    cycle(0, 0, 0);
    cycle(0, 0, 0);
    for (uint64_t i = 0; i < images * 784; ++i) cycle(1, 1, pixels[i]);
    for (int idle = 0; classes < images && idle < 4 * 784; ++idle) cycle(1, 0, 0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    top.final();

    // Peak resident set (Linux /proc; 0 elsewhere).
    unsigned long long hwm = 0;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmHWM: %llu", &hwm) == 1) break;
        std::fclose(f);
    }
    std::printf("images=%llu cycles=%llu seconds=%.6f classes=%llu class_sum=%llu peak_rss_kib=%llu\n",
                (unsigned long long)images, (unsigned long long)cycles, secs,
                (unsigned long long)classes, (unsigned long long)class_sum, hwm);
    return classes == images ? 0 : 1;
}
