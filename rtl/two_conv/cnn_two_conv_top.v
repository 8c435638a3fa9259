// cnn_two_conv_top: streaming integer CNN accelerator for the `two_conv` network
// (vectors/networks/two_conv.toml, the notebook's reference topology):
//   Conv2d(1->3, 5x5) -> MaxPool2d(2) -> ReLU -> Conv2d(3->3, 5x5) -> MaxPool2d(2) -> ReLU
//   -> Linear(48->10) -> argmax
// built from the seed design's modules (rtl/cnn_*.v), re-parameterized. Accepts one 8-bit
// pixel per clock over a ready/valid handshake (raster order, 784 per image, images
// back-to-back), so back-to-back images take 784 cycles each.
//
// Both convolutions are cnn_conv_stage instances; conv2's image is the pooled stream, 12 x 12
// pixels that each pack their 3 channels (33 bits), and its 3 x 75 multipliers evaluate a
// whole window per beat. Pooled beats come at most every 2nd cycle (one per conv1 column pair, in the
// odd conv1 rows), 144 per image; a conv2 sharing its multipliers over the 3 output
// channels would need 3 cycles per beat and so a window FIFO or input stalls. The
// parallel form costs 150 more 11x8 multipliers and keeps the datapath a plain pipeline
// that never stalls (docs/two_conv.md has the trade-off and yosys counts).
//
// Pipeline (each step registered; t = the cycle in which the pixel is presented and taken):
//   u_stage1 (cnn_conv_stage): 5x5 window t+1; conv1 (3 x s12, saturated)
//                              conv1_valid_o in t+2; maxpool + relu (3 x u11) pool1_valid_o in t+3
//   u_stage2 (cnn_conv_stage): 5x5x3 window t+4; conv2 (3 x s12, round half up, saturated)
//                              u_stage2.u_conv.valid_q in t+5; pool2_valid_o in t+6
//   u_head (cnn_classifier):   fc1 (10 x s18) fc1_valid_o in t+7; class_valid_o in t+8
// i.e. the class is high in the 8th cycle after the last pixel's (the harness, counting from
// the edge that takes the pixel, reports 7).
//
// pixel_ready_o is low during reset and the cycle after it, then high: the datapath never
// stalls. StallSeed != 0 (a verification aid, off by default) instead drops ready on about
// one cycle in four, pseudo-randomly (a 16-bit LFSR seeded with StallSeed), to exercise a
// driver's backpressure handling.
module cnn_two_conv_top #(
  parameter         WeightsDir = "vectors/weights/two_conv",  // unless +weights=DIR
  parameter integer StallSeed  = 0
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,          // synchronous, active low
  input  wire                         pixel_valid_i,
  output wire                         pixel_ready_o,
  input  wire [PixelW-1:0]            pixel_i,         // raster order, 784 per image
  output wire                         conv1_valid_o,
  output wire [Channels*ConvW-1:0]    conv1_data_o,    // channel k at [12k +: 12], signed
  output wire                         pool1_valid_o,
  output wire [Channels*PoolW-1:0]    pool1_data_o,    // channel k at [11k +: 11]
  output wire                         pool2_valid_o,
  output wire [Channels*PoolW-1:0]    pool2_data_o,    // channel k at [11k +: 11]
  output wire                         fc1_valid_o,
  output wire [Classes*FcW-1:0]       fc1_data_o,      // logit o at [18o +: 18], signed
  output wire                         class_valid_o,
  output wire [ClassW-1:0]            class_o
);

  // Geometry and widths (`cnn-cosim net show two_conv` derives them)
  localparam integer ImgSize    = 28;
  localparam integer K          = 5;
  localparam integer Pool1Size  = (ImgSize - K + 1) / 2;    // 12
  localparam integer Pool2Size  = (Pool1Size - K + 1) / 2;  // 4
  localparam integer Channels   = 3;
  localparam integer Classes    = 10;
  localparam integer PixelW     = 8;
  localparam integer WeightW    = 8;
  localparam integer Conv1ProdW = 16;
  localparam integer Conv1SumW  = 21;
  localparam integer Conv1Shift = 8;
  localparam integer ConvW      = 12;
  localparam integer PoolW      = 11;
  localparam integer Conv2ProdW = 19;
  localparam integer Conv2SumW  = 26;
  localparam integer Conv2Shift = 7;
  localparam integer FcProdW    = 19;
  localparam integer FcAccW     = 25;
  localparam integer FcShift    = 7;
  localparam integer FcW        = 18;
  localparam integer ClassW     = 4;

  // ---- input handshake ----
  reg ready_q;
  generate
    if (StallSeed == 0) begin : g_no_stall
      always @(posedge clk_i) begin
        if (!rst_ni) ready_q <= 1'b0;
        else         ready_q <= 1'b1;
      end
    end else begin : g_stall
      localparam [15:0] Seed = StallSeed[15:0];  // 1..65535 (an all-zero LFSR would stick)
      reg [15:0] lfsr_q;
      // x^16 + x^14 + x^13 + x^11 + 1, shifting left
      wire [15:0] lfsr_d = {lfsr_q[14:0], lfsr_q[15] ^ lfsr_q[13] ^ lfsr_q[12] ^ lfsr_q[10]};
      always @(posedge clk_i) begin
        if (!rst_ni) begin
          lfsr_q  <= Seed;
          ready_q <= 1'b0;
        end else begin
          lfsr_q  <= lfsr_d;
          ready_q <= (lfsr_d[1:0] != 2'b00);
        end
      end
    end
  endgenerate

  assign pixel_ready_o = ready_q;
  wire pixel_take = pixel_valid_i && ready_q;

  // ---- conv1 -> pool1, conv2 -> pool2 ----
  // conv2's result has no port: only pool2 inside u_stage2 uses it, and the harness reads it
  // there through the binding (u_stage2.u_conv ...)
  /* verilator lint_off UNUSEDSIGNAL */
  wire                      conv2_valid;
  wire [Channels*ConvW-1:0] conv2_data;
  /* verilator lint_on UNUSEDSIGNAL */

  cnn_conv_stage #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix("conv1_weight_"),
    .BiasFile    ("conv1_bias.mem"),
    .FirstFile   (0),
    .ImgSize     (ImgSize),
    .InChannels  (1),
    .Channels    (Channels),
    .K           (K),
    .PixelW      (PixelW),
    .WeightW     (WeightW),
    .ProdW       (Conv1ProdW),
    .SumW        (Conv1SumW),
    .Shift       (Conv1Shift),
    .HalfUp      (0),
    .Saturate    (1),
    .ConvW       (ConvW),
    .PoolW       (PoolW)
  ) u_stage1 (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .valid_i     (pixel_take),
    .pixel_i     (pixel_i),
    .conv_valid_o(conv1_valid_o),
    .conv_data_o (conv1_data_o),
    .pool_valid_o(pool1_valid_o),
    .pool_data_o (pool1_data_o)
  );

  // the pooled stream is conv2's image: 12 x 12 pixels of 3 channels
  cnn_conv_stage #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix("conv2_weight_"),
    .BiasFile    ("conv2_bias.mem"),
    .FirstFile   (0),
    .ImgSize     (Pool1Size),
    .InChannels  (Channels),
    .Channels    (Channels),
    .K           (K),
    .PixelW      (PoolW),
    .WeightW     (WeightW),
    .ProdW       (Conv2ProdW),
    .SumW        (Conv2SumW),
    .Shift       (Conv2Shift),
    .HalfUp      (1),
    .Saturate    (1),
    .ConvW       (ConvW),
    .PoolW       (PoolW)
  ) u_stage2 (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .valid_i     (pool1_valid_o),
    .pixel_i     (pool1_data_o),
    .conv_valid_o(conv2_valid),
    .conv_data_o (conv2_data),
    .pool_valid_o(pool2_valid_o),
    .pool_data_o (pool2_data_o)
  );

  // ---- fc1 -> class ----
  cnn_classifier #(
    .WeightsDir    (WeightsDir),
    .PerOutputFiles(1),
    .WeightPrefix  ("neuron_weights_"),
    .FirstFile     (0),
    .BiasFile      ("fc_bias.mem"),
    .HalfUp        (1),
    .Channels      (Channels),
    .Positions     (Pool2Size * Pool2Size),
    .Outputs       (Classes),
    .InW           (PoolW),
    .WeightW       (WeightW),
    .ProdW         (FcProdW),
    .AccW          (FcAccW),
    .Shift         (FcShift),
    .OutW          (FcW),
    .ClassW        (ClassW)
  ) u_head (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .valid_i      (pool2_valid_o),
    .data_i       (pool2_data_o),
    .fc_valid_o   (fc1_valid_o),
    .fc_data_o    (fc1_data_o),
    .class_valid_o(class_valid_o),
    .class_o      (class_o)
  );

endmodule
