// cnn_top: streaming integer CNN accelerator
//   Conv2d(1->3, 7x7) -> MaxPool2d(2) -> ReLU -> Linear(363->10) -> argmax
// computed exactly as specified in docs/fixed-point.md. Accepts one 8-bit pixel
// per clock (raster order, 784 per image, bubbles allowed, images back-to-back,
// no backpressure) and exposes every intermediate result as a tap.
//
// Pipeline (each stage registered; t = cycle in which the pixel is presented):
//   u_stage1 (cnn_conv_stage): cnn_window    : pixel (r,c) -> 7x7 window     valid in t+1
//                              cnn_conv      : window -> conv1 (3 x s14)     conv1_valid_o in t+2
//                              cnn_pool_relu : conv1 (2r+1,2c+1) -> pool1    pool1_valid_o in t+3
//   u_head (cnn_classifier):   cnn_fc        : last pooled beat -> fc1       fc1_valid_o   in t+4
//                              cnn_argmax    : fc1 -> class (u4)             class_valid_o in t+5
// i.e. class_valid_o is high 5 cycles after the image's last pixel is presented
// (the pixel is accepted at the end of its cycle t).
module cnn_top #(
  parameter WeightsDir = "vectors/weights"  // $readmemh directory unless +weights=DIR
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,          // synchronous, active low
  input  wire                      pixel_valid_i,
  input  wire [PixelW-1:0]         pixel_i,         // raster order, 784 per image
  output wire                      conv1_valid_o,
  output wire [Channels*ConvW-1:0] conv1_data_o,    // channel k at [14k +: 14], signed
  output wire                      pool1_valid_o,
  output wire [Channels*PoolW-1:0] pool1_data_o,    // channel k at [13k +: 13], unsigned
  output wire                      fc1_valid_o,
  output wire [Classes*FcW-1:0]    fc1_data_o,      // logit o at [23o +: 23], signed
  output wire                      class_valid_o,
  output wire [ClassW-1:0]         class_o
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
  localparam integer ConvProdW = 17;
  localparam integer ConvSumW  = 22;
  localparam integer ConvShift = 8;
  localparam integer ConvW     = 14;
  localparam integer PoolW     = 13;
  localparam integer FcProdW   = 21;
  localparam integer FcAccW    = 30;
  localparam integer FcShift   = 7;
  localparam integer FcW       = 23;
  localparam integer ClassW    = 4;

  cnn_conv_stage #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix("conv1_weight_"),
    .BiasFile    ("conv1_bias.mem"),
    .FirstFile   (1),
    .ImgSize     (ImgSize),
    .InChannels  (1),
    .Channels    (Channels),
    .K           (K),
    .PixelW      (PixelW),
    .WeightW     (WeightW),
    .ProdW       (ConvProdW),
    .SumW        (ConvSumW),
    .Shift       (ConvShift),
    .HalfUp      (0),
    .Saturate    (0),
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

  cnn_classifier #(
    .WeightsDir    (WeightsDir),
    .WeightFile    ("fc_weight.mem"),
    .PerOutputFiles(0),
    .BiasFile      ("fc_bias.mem"),
    .HalfUp        (0),
    .Channels      (Channels),
    .Positions     (PoolSize * PoolSize),
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
    .valid_i      (pool1_valid_o),
    .data_i       (pool1_data_o),
    .fc_valid_o   (fc1_valid_o),
    .fc_data_o    (fc1_data_o),
    .class_valid_o(class_valid_o),
    .class_o      (class_o)
  );

endmodule
