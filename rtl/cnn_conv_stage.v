// cnn_conv_stage: one convolution stage of a streaming CNN, Conv2d(InChannels->Channels,
// K x K, stride 1) -> MaxPool2d(2) -> ReLU, over an ImgSize x ImgSize raster stream whose
// pixels pack their InChannels channels (channel c at [c*PixelW +: PixelW]). A cnn_window
// feeds cnn_conv (weights, rounding and overflow: see there), whose beats a cnn_pool_relu
// pools. Both results come out as taps, channel k at [k*ConvW +: ConvW] (signed) and
// [k*PoolW +: PoolW] (unsigned); the pooled stream can feed the next stage as its pixels.
// Latency (t = the cycle a pixel is accepted): conv_valid_o in t+2, pool_valid_o in t+3.
module cnn_conv_stage #(
  parameter         WeightsDir   = "vectors/weights",
  parameter         WeightPrefix = "conv1_weight_",
  parameter         BiasFile     = "conv1_bias.mem",
  parameter integer FirstFile    = 1,
  parameter integer ImgSize      = 28,
  parameter integer InChannels   = 1,
  parameter integer Channels     = 3,
  parameter integer K            = 7,
  parameter integer PixelW       = 8,
  parameter integer WeightW      = 8,
  parameter integer ProdW        = 17,
  parameter integer SumW         = 22,
  parameter integer Shift        = 8,
  parameter integer HalfUp       = 0,
  parameter integer Saturate     = 0,
  parameter integer ConvW        = 14,
  parameter integer PoolW        = 13
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,
  input  wire                         valid_i,
  input  wire [InChannels*PixelW-1:0] pixel_i,
  output wire                         conv_valid_o,
  output wire [Channels*ConvW-1:0]    conv_data_o,
  output wire                         pool_valid_o,
  output wire [Channels*PoolW-1:0]    pool_data_o
);

  localparam integer DataW = InChannels * PixelW;

  wire                 win_valid;
  wire [K*K*DataW-1:0] window;

  cnn_window #(
    .K    (K),
    .ImgW (ImgSize),
    .ImgH (ImgSize),
    .DataW(DataW)
  ) u_window (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .pixel_i (pixel_i),
    .valid_o (win_valid),
    .window_o(window)
  );

  cnn_conv #(
    .WeightsDir  (WeightsDir),
    .WeightPrefix(WeightPrefix),
    .BiasFile    (BiasFile),
    .FirstFile   (FirstFile),
    .InChannels  (InChannels),
    .Channels    (Channels),
    .K           (K),
    .PixelW      (PixelW),
    .WeightW     (WeightW),
    .ProdW       (ProdW),
    .SumW        (SumW),
    .Shift       (Shift),
    .HalfUp      (HalfUp),
    .Saturate    (Saturate),
    .OutW        (ConvW)
  ) u_conv (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (win_valid),
    .window_i(window),
    .valid_o (conv_valid_o),
    .data_o  (conv_data_o)
  );

  cnn_pool_relu #(
    .Channels(Channels),
    .InW     (ConvW),
    .OutW    (PoolW),
    .InSize  (ImgSize - K + 1)
  ) u_pool (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(conv_valid_o),
    .data_i (conv_data_o),
    .valid_o(pool_valid_o),
    .data_o (pool_data_o)
  );

endmodule
