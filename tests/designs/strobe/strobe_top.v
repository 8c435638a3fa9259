// strobe_top: the seed network (the project's cnn_top, unchanged, up to fc1) with strobes
// that keep pulsing after a layer's beats and a class valid held for two cycles, as
// free-running pipelines and handshake-less outputs do:
// - once a layer's beats of an image are out (conv1 484, pool1 121, fc1 1), its strobe stays
//   high every cycle, repeating the layer's last beat, until the cycle before the class;
// - the class comes from a serial argmax (one logit per cycle, ties to the lowest index)
//   and class_valid_o stays high for two cycles.
// Ports as rtl/cnn_top's. Latency: cnn_top's up to fc1 (docs/rtl.md); the class 11 cycles
// after fc1 (class_valid_o high 15 and 16 cycles after the image's last pixel).
module strobe_top #(
  parameter WeightsDir = "vectors/weights"  // cnn_top's $readmemh directory unless +weights=DIR
) (
  input  wire         clk_i,
  input  wire         rst_ni,          // synchronous, active low
  input  wire         pixel_valid_i,
  input  wire [7:0]   pixel_i,
  output wire         conv1_valid_o,
  output wire [41:0]  conv1_data_o,    // channel k at [14k +: 14], signed
  output wire         pool1_valid_o,
  output wire [38:0]  pool1_data_o,    // channel k at [13k +: 13], unsigned
  output wire         fc1_valid_o,
  output wire [229:0] fc1_data_o,      // logit o at [23o +: 23], signed
  output wire         class_valid_o,
  output wire [3:0]   class_o
);

  localparam integer FcW      = 23;
  localparam [3:0]   LastIdx  = 4'd9;    // logits 0..9
  localparam [8:0]   ConvLast = 9'd483;  // conv1 beats 0..483
  localparam [6:0]   PoolLast = 7'd120;  // pool1 beats 0..120

  wire         core_c1_v;
  wire [41:0]  core_c1_d;
  wire         core_p1_v;
  wire [38:0]  core_p1_d;
  wire         core_f1_v;
  wire [229:0] core_f1_d;

  // The core's own class is not used: this design computes it serially below.
  /* verilator lint_off PINCONNECTEMPTY */
  cnn_top #(
    .WeightsDir(WeightsDir)
  ) u_core (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .pixel_valid_i(pixel_valid_i),
    .pixel_i      (pixel_i),
    .conv1_valid_o(core_c1_v),
    .conv1_data_o (core_c1_d),
    .pool1_valid_o(core_p1_v),
    .pool1_data_o (core_p1_d),
    .fc1_valid_o  (core_f1_v),
    .fc1_data_o   (core_f1_d),
    .class_valid_o(),
    .class_o      ()
  );
  /* verilator lint_on PINCONNECTEMPTY */

  // The serial argmax: logits latched with fc1, one compared per cycle.
  reg  [229:0]         logits_q;
  reg                  scan_q;      // comparing logit idx_q
  reg  [3:0]           idx_q;
  reg  [3:0]           best_q;
  reg  signed [FcW-1:0] best_val_q;
  reg  [1:0]           class_hold_q; // cycles of class_valid_o left
  wire signed [FcW-1:0] cand = logits_q[idx_q*FcW +: FcW];
  wire                 class_out = class_hold_q != 2'd0;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      logits_q     <= 230'd0;
      scan_q       <= 1'b0;
      idx_q        <= 4'd0;
      best_q       <= 4'd0;
      best_val_q   <= {FcW{1'b0}};
      class_hold_q <= 2'd0;
    end else begin
      if (class_out) class_hold_q <= class_hold_q - 2'd1;
      if (core_f1_v) begin
        logits_q   <= core_f1_d;
        scan_q     <= 1'b1;
        idx_q      <= 4'd1;
        best_q     <= 4'd0;
        best_val_q <= core_f1_d[FcW-1:0];
      end else if (scan_q) begin
        if (cand > best_val_q) begin
          best_q     <= idx_q;
          best_val_q <= cand;
        end
        if (class_start) begin
          scan_q       <= 1'b0;
          class_hold_q <= 2'd2;
        end
        idx_q <= idx_q + 4'd1;
      end
    end
  end

  assign class_valid_o = class_out;
  assign class_o       = best_q;

  // Free-running strobes: after a layer's last beat of the image, high every cycle with
  // that last beat up to the cycle before class_valid_o rises.
  reg [8:0]   c1_beats_q;
  reg [6:0]   p1_beats_q;
  reg         c1_run_q, p1_run_q, f1_run_q;
  reg [41:0]  c1_last_q;
  reg [38:0]  p1_last_q;
  reg [229:0] f1_last_q;
  wire        class_start = scan_q && idx_q == LastIdx;  // class_valid_o rises next

  always @(posedge clk_i) begin
    if (!rst_ni || class_start) begin
      c1_beats_q <= 9'd0;
      p1_beats_q <= 7'd0;
      c1_run_q   <= 1'b0;
      p1_run_q   <= 1'b0;
      f1_run_q   <= 1'b0;
    end else begin
      if (core_c1_v) begin
        c1_beats_q <= c1_beats_q + 9'd1;
        if (c1_beats_q == ConvLast) c1_run_q <= 1'b1;
      end
      if (core_p1_v) begin
        p1_beats_q <= p1_beats_q + 7'd1;
        if (p1_beats_q == PoolLast) p1_run_q <= 1'b1;
      end
      if (core_f1_v) f1_run_q <= 1'b1;
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      c1_last_q <= 42'd0;
      p1_last_q <= 39'd0;
      f1_last_q <= 230'd0;
    end else begin
      if (core_c1_v) c1_last_q <= core_c1_d;
      if (core_p1_v) p1_last_q <= core_p1_d;
      if (core_f1_v) f1_last_q <= core_f1_d;
    end
  end

  assign conv1_valid_o = core_c1_v || c1_run_q;
  assign conv1_data_o  = core_c1_v ? core_c1_d : c1_last_q;
  assign pool1_valid_o = core_p1_v || p1_run_q;
  assign pool1_data_o  = core_p1_v ? core_p1_d : p1_last_q;
  assign fc1_valid_o   = core_f1_v || f1_run_q;
  assign fc1_data_o    = core_f1_v ? core_f1_d : f1_last_q;

endmodule
