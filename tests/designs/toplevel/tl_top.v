// tl_top: the seed network with every tapped layer a signal of this module itself, as
// designs written in one top often are: conv1 on three per-channel wires and a valid wire,
// pool1 on one packed wire, fc1 in an unpacked array declared descending
// (fc_outputs[9:0]) that the top's own argmax scans. Ports: the pixel stream and the class
// only. The stages are the project's own (rtl/cnn_conv_stage, rtl/cnn_fc, unchanged).
// Latency: rtl/cnn_top's up to fc (docs/rtl.md); fc_outputs and fc_done one cycle after
// the fc result, the class one cycle after that (class_valid 6 cycles after the image's
// last pixel is presented).
module tl_top #(
  parameter WeightsDir = "vectors/weights"  // $readmemh directory unless +weights=DIR
) (
  input  wire       clk,
  input  wire       rst_n,        // synchronous, active low
  input  wire       pixel_valid,
  input  wire [7:0] pixel,        // raster order, 784 per image
  output reg        class_valid,
  output reg  [3:0] class_out
);

  localparam integer Classes = 10;
  localparam integer ConvW   = 14;
  localparam integer PoolW   = 13;
  localparam integer FcW     = 23;

  // conv1: one wire per channel and its valid. Only observed (the pooling reads the stage's
  // own copy), so the lint's unused-signal warning is waived for them.
  /* verilator lint_off UNUSEDSIGNAL */
  wire             valid_out_calc;
  wire [ConvW-1:0] conv_out1;
  wire [ConvW-1:0] conv_out2;
  wire [ConvW-1:0] conv_out3;
  /* verilator lint_on UNUSEDSIGNAL */
  // pool1, channel k at [13k +: 13].
  wire               pool_valid;
  wire [3*PoolW-1:0] pool_data;

  cnn_conv_stage #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix("conv1_weight_"),
    .BiasFile    ("conv1_bias.mem"),
    .FirstFile   (1),
    .ImgSize     (28),
    .InChannels  (1),
    .Channels    (3),
    .K           (7),
    .PixelW      (8),
    .WeightW     (8),
    .ProdW       (17),
    .SumW        (22),
    .Shift       (8),
    .HalfUp      (0),
    .Saturate    (0),
    .ConvW       (ConvW),
    .PoolW       (PoolW)
  ) u_stage (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .valid_i     (pixel_valid),
    .pixel_i     (pixel),
    .conv_valid_o(valid_out_calc),
    .conv_data_o ({conv_out3, conv_out2, conv_out1}),
    .pool_valid_o(pool_valid),
    .pool_data_o (pool_data)
  );

  wire                   fc_valid;
  wire [Classes*FcW-1:0] fc_data;

  cnn_fc #(
    .WeightsDir    (WeightsDir),
    .WeightFile    ("fc_weight.mem"),
    .PerOutputFiles(0),
    .WeightPrefix  ("neuron_weights_"),
    .FirstFile     (0),
    .BiasFile      ("fc_bias.mem"),
    .HalfUp        (0),
    .Channels      (3),
    .Positions     (121),
    .Outputs       (Classes),
    .InW           (PoolW),
    .WeightW       (8),
    .ProdW         (21),
    .AccW          (30),
    .Shift         (7),
    .OutW          (FcW)
  ) u_fc (
    .clk_i  (clk),
    .rst_ni (rst_n),
    .valid_i(pool_valid),
    .data_i (pool_data),
    .valid_o(fc_valid),
    .data_o (fc_data)
  );

  // fc1: the logits in an array indexed by class, declared descending.
  reg signed [FcW-1:0] fc_outputs [Classes-1:0];
  reg                  fc_done;
  integer              k;

  always @(posedge clk) begin
    if (!rst_n) begin
      fc_done <= 1'b0;
    end else begin
      fc_done <= fc_valid;
      if (fc_valid) begin
        for (k = 0; k < Classes; k = k + 1) fc_outputs[k] <= fc_data[k*FcW +: FcW];
      end
    end
  end

  // The class: the first index of the largest logit (a later one must be strictly greater).
  reg [3:0]            best_d;
  reg signed [FcW-1:0] best_val;
  integer              j;

  always @(*) begin
    best_d   = 4'd0;
    best_val = fc_outputs[0];
    for (j = 1; j < Classes; j = j + 1) begin
      if (fc_outputs[j] > best_val) begin
        best_d   = j[3:0];
        best_val = fc_outputs[j];
      end
    end
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      class_valid <= 1'b0;
      class_out   <= 4'd0;
    end else begin
      class_valid <= fc_done;
      if (fc_done) class_out <= best_d;
    end
  end

endmodule
