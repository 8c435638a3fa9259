// pairs_top: the `two_conv` network (vectors/networks/two_conv.toml) with conv2's kernels one
// file per (output, input) channel pair, conv2_weight_11.txt … conv2_weight_33.txt (25
// values each), as designs with a ROM per channel pair store them. conv1 and the head are
// rtl/'s modules as rtl/two_conv uses them; conv2 is rtl/cnn_window, pairs_conv and
// rtl/cnn_pool_relu. No handshake back: one pixel per clock when pixel_valid_i is high.
// conv2 comes out on the top's own wires conv2_valid / conv2_data.
// Latency (t = the cycle a pixel is presented): conv1 t+2, pool1 t+3, conv2 t+5, pool2 t+6,
// fc1 t+7, class t+8 — rtl/two_conv's.
module pairs_top #(
  parameter WeightsDir = "vectors/weights/two_conv"  // unless +weights=DIR
) (
  input  wire         clk_i,
  input  wire         rst_ni,          // synchronous, active low
  input  wire         pixel_valid_i,
  input  wire [7:0]   pixel_i,         // raster order, 784 per image
  output wire         conv1_valid_o,
  output wire [35:0]  conv1_data_o,    // channel k at [12k +: 12], signed
  output wire         pool1_valid_o,
  output wire [32:0]  pool1_data_o,    // channel k at [11k +: 11]
  output wire         pool2_valid_o,
  output wire [32:0]  pool2_data_o,    // channel k at [11k +: 11]
  output wire         fc1_valid_o,
  output wire [179:0] fc1_data_o,      // logit o at [18o +: 18], signed
  output wire         class_valid_o,
  output wire [3:0]   class_o
);

  localparam integer K     = 5;
  localparam integer ConvW = 12;
  localparam integer PoolW = 11;

  cnn_conv_stage #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix("conv1_weight_"),
    .BiasFile    ("conv1_bias.mem"),
    .FirstFile   (0),
    .ImgSize     (28),
    .InChannels  (1),
    .Channels    (3),
    .K           (K),
    .PixelW      (8),
    .WeightW     (8),
    .ProdW       (16),
    .SumW        (21),
    .Shift       (8),
    .HalfUp      (0),
    .Saturate    (1),
    .ConvW       (ConvW),
    .PoolW       (PoolW)
  ) u_stage1 (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .valid_i     (pixel_valid_i),
    .pixel_i     (pixel_i),
    .conv_valid_o(conv1_valid_o),
    .conv_data_o (conv1_data_o),
    .pool_valid_o(pool1_valid_o),
    .pool_data_o (pool1_data_o)
  );

  // conv2: the pooled stream (12 x 12 pixels of 3 channels), a window, the per-pair conv.
  wire                     win_valid;
  wire [K*K*3*PoolW-1:0]   window;
  wire                     conv2_valid;
  wire [3*ConvW-1:0]       conv2_data;

  cnn_window #(
    .K    (K),
    .ImgW (12),
    .ImgH (12),
    .DataW(3 * PoolW)
  ) u_window2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (pool1_valid_o),
    .pixel_i (pool1_data_o),
    .valid_o (win_valid),
    .window_o(window)
  );

  pairs_conv #(
    .WeightsDir(WeightsDir),
    .Prefix    ("conv2_weight_"),
    .BiasFile  ("conv2_bias.mem"),
    .InChannels(3),
    .Channels  (3),
    .K         (K),
    .PixelW    (PoolW),
    .WeightW   (8),
    .ProdW     (19),
    .SumW      (26),
    .Shift     (7),
    .HalfUp    (1),
    .Saturate  (1),
    .OutW      (ConvW)
  ) u_conv2 (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (win_valid),
    .window_i(window),
    .valid_o (conv2_valid),
    .data_o  (conv2_data)
  );

  cnn_pool_relu #(
    .Channels(3),
    .InW     (ConvW),
    .OutW    (PoolW),
    .InSize  (8)
  ) u_pool2 (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(conv2_valid),
    .data_i (conv2_data),
    .valid_o(pool2_valid_o),
    .data_o (pool2_data_o)
  );

  cnn_classifier #(
    .WeightsDir    (WeightsDir),
    .PerOutputFiles(1),
    .WeightPrefix  ("neuron_weights_"),
    .FirstFile     (0),
    .BiasFile      ("fc_bias.mem"),
    .HalfUp        (1),
    .Channels      (3),
    .Positions     (16),
    .Outputs       (10),
    .InW           (PoolW),
    .WeightW       (8),
    .ProdW         (19),
    .AccW          (25),
    .Shift         (7),
    .OutW          (18),
    .ClassW        (4)
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
