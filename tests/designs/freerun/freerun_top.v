// freerun_top: Conv2d(1->3, 7x7) -> MaxPool2d(2) -> ReLU -> Linear(363->10) -> argmax,
// bit-exact to docs/fixed-point.md, with a free-running pixel input: no valid, no ready,
// one image per reset, weights from fixed file names in the working directory.
//
// Timing (cycle 0 = the first rising edge at which rst is sampled low): pixel n of the
// image (raster order) is sampled from px at edge 3 + n, n = 0 .. 783 (fr_pixel_gate);
// px is ignored at every other edge, and after pixel 783 until the next reset. A reset
// (rst high for at least one edge) is needed before every image.
//
// Pipeline (rtl/cnn_top's, copied as fr_* modules): for a pixel sampled at edge e the
// strobes it completes are sampled high at
//   c1_v (conv1 (r,c), by pixel (r+6, c+6))   edge e + 2
//   p1_v (pool1 (r,c), by pixel (2r+7, 2c+7)) edge e + 3
//   f1_v (by pixel 783, e = 786)              edge e + 4 = 790
//   done (by pixel 783)                       edge e + 5 = 791
// c1_v / p1_v / f1_v / done are one-cycle strobes: 484, 121, 1 and 1 per image.
//
// Weights ($readmemh, fixed names, current directory): conv1_weight_1.mem ..
// conv1_weight_3.mem, conv1_bias.mem, fc_weight.mem, fc_bias.mem.
module freerun_top (
  input  wire         clk,
  input  wire         rst,    // synchronous, active high
  input  wire [7:0]   px,     // pixel n sampled at edge 3 + n after reset
  output wire         done,   // one-cycle strobe per image
  output wire [3:0]   label,  // class, valid with done
  output wire         c1_v,
  output wire [41:0]  c1_d,   // conv1: 3 x 14-bit signed, channel k at [14k +: 14]
  output wire         p1_v,
  output wire [38:0]  p1_d,   // pool1: 3 x 13-bit unsigned, channel k at [13k +: 13]
  output wire         f1_v,
  output wire [229:0] f1_d    // fc1: 10 x 23-bit signed, logit o at [23o +: 23]
);

  // Geometry and widths (docs/fixed-point.md, "Bounds and widths")
  localparam integer ImgSize   = 28;
  localparam integer K         = 7;
  localparam integer ConvSize  = ImgSize - K + 1;  // 22
  localparam integer PoolSize  = ConvSize / 2;     // 11
  localparam integer Channels  = 3;
  localparam integer Classes   = 10;
  localparam integer PixelW    = 8;
  localparam integer WeightW   = 8;
  localparam integer ConvW     = 14;
  localparam integer PoolW     = 13;
  localparam integer FcW       = 23;

  wire rst_n = !rst;  // the copied modules reset active low

  wire                  pixel_valid;
  wire                  win_valid;
  wire [K*K*PixelW-1:0] window;

  fr_pixel_gate #(
    .StartDelay(3),
    .Pixels    (ImgSize * ImgSize)
  ) u_gate (
    .clk_i        (clk),
    .rst_ni       (rst_n),
    .pixel_valid_o(pixel_valid)
  );

  fr_window #(
    .K    (K),
    .ImgW (ImgSize),
    .ImgH (ImgSize),
    .DataW(PixelW)
  ) u_window (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (pixel_valid),
    .pixel_i (px),
    .valid_o (win_valid),
    .window_o(window)
  );

  fr_conv #(
    .Channels(Channels),
    .K       (K),
    .PixelW  (PixelW),
    .WeightW (WeightW),
    .ProdW   (17),
    .SumW    (22),
    .Shift   (8),
    .OutW    (ConvW)
  ) u_conv (
    .clk_i   (clk),
    .rst_ni  (rst_n),
    .valid_i (win_valid),
    .window_i(window),
    .valid_o (c1_v),
    .data_o  (c1_d)
  );

  fr_pool_relu #(
    .Channels(Channels),
    .InW     (ConvW),
    .OutW    (PoolW),
    .InSize  (ConvSize)
  ) u_pool (
    .clk_i  (clk),
    .rst_ni (rst_n),
    .valid_i(c1_v),
    .data_i (c1_d),
    .valid_o(p1_v),
    .data_o (p1_d)
  );

  fr_fc #(
    .Channels (Channels),
    .Positions(PoolSize * PoolSize),
    .Outputs  (Classes),
    .InW      (PoolW),
    .WeightW  (WeightW),
    .ProdW    (21),
    .AccW     (30),
    .Shift    (7),
    .OutW     (FcW)
  ) u_fc (
    .clk_i  (clk),
    .rst_ni (rst_n),
    .valid_i(p1_v),
    .data_i (p1_d),
    .valid_o(f1_v),
    .data_o (f1_d)
  );

  fr_argmax #(
    .N   (Classes),
    .W   (FcW),
    .IdxW(4)
  ) u_argmax (
    .clk_i  (clk),
    .rst_ni (rst_n),
    .valid_i(f1_v),
    .data_i (f1_d),
    .valid_o(done),
    .idx_o  (label)
  );

endmodule
