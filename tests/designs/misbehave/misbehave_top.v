// misbehave_top: the seed network (rtl/'s cnn_top, instantiated unchanged) behind a wrapper
// that starts misbehaving at image FaultImage in one of the ways a design under test can, so
// the harness can be shown to survive it (tests/misbehave.rs). Which fault, and from which
// image, is read at time 0 from "<weights dir>/fault.mem" (two hex words: Fault, FaultImage),
// so one build serves every fault:
//
//   0 none                 4 class_valid_o high every cycle, forever
//   1 $finish mid-image    5 fc1_valid_o high every cycle, forever
//   2 $fatal mid-image     6 pixel_ready_o never rises again
//   3 conv1_data_o from a  7 one conv1 beat more, the cycle after each class
//     register never written (X; random under --x-initial unique)
//
// Images count by cnn_top's class strobes; "mid-image" is the 400th pixel accepted. Latency
// and timing otherwise cnn_top's (docs/rtl.md). A test fixture: the faults are not
// synthesizable and the design is not part of synthesis.
module misbehave_top #(
  parameter WeightsDir = "vectors/weights"  // cnn_top's $readmemh directory unless +weights=DIR
) (
  input  wire         clk_i,
  input  wire         rst_ni,          // synchronous, active low
  input  wire         pixel_valid_i,
  input  wire [7:0]   pixel_i,
  output wire         pixel_ready_o,   // a pixel is taken in a cycle with valid and ready
  output wire         conv1_valid_o,
  output wire [41:0]  conv1_data_o,
  output wire         pool1_valid_o,
  output wire [38:0]  pool1_data_o,
  output wire         fc1_valid_o,
  output wire [229:0] fc1_data_o,
  output wire         class_valid_o,
  output wire [3:0]   class_o
);

  localparam [15:0] FaultFinish     = 16'd1;
  localparam [15:0] FaultFatal      = 16'd2;
  localparam [15:0] FaultX          = 16'd3;
  localparam [15:0] FaultClassStorm = 16'd4;
  localparam [15:0] FaultTapStorm   = 16'd5;
  localparam [15:0] FaultNoReady    = 16'd6;
  localparam [15:0] FaultLateBeat   = 16'd7;

  reg [15:0] cfg [0:1];  // Fault, FaultImage (fault.mem)

  wire         core_conv1_valid;
  wire [41:0]  core_conv1_data;
  wire         core_class_valid;
  wire         core_fc1_valid;

  reg  [15:0]  images_q;     // class strobes since reset
  reg  [9:0]   pixels_q;     // pixels of the current image taken
  reg          after_class_q;
  // Never written: X, which Verilator makes 0, or random under --x-initial unique.
  /* verilator lint_off UNDRIVEN */
  reg  [41:0]  undriven_q;
  /* verilator lint_on UNDRIVEN */

  wire faulty = images_q >= cfg[1];
  assign pixel_ready_o = !(cfg[0] == FaultNoReady && faulty);
  wire take = pixel_valid_i && pixel_ready_o;

  cnn_top #(
    .WeightsDir(WeightsDir)
  ) u_core (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .pixel_valid_i(take),
    .pixel_i      (pixel_i),
    .conv1_valid_o(core_conv1_valid),
    .conv1_data_o (core_conv1_data),
    .pool1_valid_o(pool1_valid_o),
    .pool1_data_o (pool1_data_o),
    .fc1_valid_o  (core_fc1_valid),
    .fc1_data_o   (fc1_data_o),
    .class_valid_o(core_class_valid),
    .class_o      (class_o)
  );


  assign conv1_valid_o = core_conv1_valid || (cfg[0] == FaultLateBeat && faulty && after_class_q);
  assign conv1_data_o  = (cfg[0] == FaultX && faulty) ? undriven_q : core_conv1_data;
  assign fc1_valid_o   = core_fc1_valid || (cfg[0] == FaultTapStorm && faulty);
  assign class_valid_o = core_class_valid || (cfg[0] == FaultClassStorm && faulty);

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      images_q      <= 16'd0;
      pixels_q      <= 10'd0;
      after_class_q <= 1'b0;
    end else begin
      if (core_class_valid) images_q <= images_q + 16'd1;
      if (take) pixels_q <= (pixels_q == 10'd783) ? 10'd0 : pixels_q + 10'd1;
      after_class_q <= core_class_valid;
      if (take && faulty && pixels_q == 10'd400) begin
        if (cfg[0] == FaultFinish) $finish;
        if (cfg[0] == FaultFatal) $fatal(1, "misbehave_top: fault injected at pixel 400");
      end
    end
  end

  reg [8*1024-1:0] dir;
  reg [8*1024-1:0] path;
  initial begin
    cfg[0] = 16'hffff;
    if (!$value$plusargs("weights=%s", dir)) $sformat(dir, "%0s", WeightsDir);
    $sformat(path, "%0s/fault.mem", dir);
    $readmemh(path, cfg);
    if (cfg[0] == 16'hffff) $fatal(1, "misbehave_top: cannot load '%0s'", path);
  end

endmodule
