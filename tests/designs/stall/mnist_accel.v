// mnist_accel: Conv2d(1->3, 7x7) -> MaxPool2d(2) -> ReLU -> Linear(363->10) -> argmax,
// bit-exact to docs/fixed-point.md, built around time-multiplexed multipliers and a
// ready/valid pixel stream that stalls.
//
//   s_pix_* --> u_conv (ma_conv)   line RAM + 3 MACs over 49 taps   conv_q[0:2], conv_valid_q
//           --> u_pool (ma_pool)   2x2 max + ReLU                   pool_q, pool_valid_q
//           --> u_fc   (ma_fc)     feature RAMs + 10 MACs over 363  logit_q[0:9], logit_valid_q
//           --> u_argmax (ma_argmax) sequential argmax              m_cls_valid, m_cls_data
//
// A pixel is accepted in a cycle with s_pix_tvalid && s_pix_tready; images (784 pixels,
// raster order) follow each other on the stream without a reset.
//
// Latency and stalls (pixel accepted in cycle t, strobes high in cycle t+L; measured):
//   pixel completing conv window (r,c): s_pix_tready low in t+1 .. t+51, conv1 beat and
//                                       s_pix_tready high again in t+52 (484 per image)
//   image's last pixel:                 conv1 (21,21) t+52, pool1 (10,10) t+53, fc1 t+419,
//                                       class (m_cls_valid) t+429; s_pix_tready low in
//                                       t+1 .. t+429, high again in t+430
//   throughput without bubbles:         25,846 cycles per image
//
// Weights: $readmemh from +WEIGHT_DIR=<dir> (else parameter WeightDir): conv1_weight_1..3
// .mem, conv1_bias.mem, neuron_weights_0..9.mem (363 values, one per line), fc_bias.mem.
module mnist_accel #(
  parameter WeightDir = "weights"
) (
  input  wire       clock,
  input  wire       reset_n,       // synchronous, active low
  input  wire       s_pix_tvalid,
  input  wire [7:0] s_pix_tdata,
  output wire       s_pix_tready,
  output wire       m_cls_valid,   // one-cycle strobe per image
  output wire [3:0] m_cls_data
);

  localparam integer ImgSize  = 28;
  localparam integer K        = 7;
  localparam integer ConvSize = ImgSize - K + 1;  // 22
  localparam integer PoolSize = ConvSize / 2;     // 11
  localparam integer Channels = 3;
  localparam integer Classes  = 10;
  localparam integer ConvTapW = 16;               // conv1 (14 bits signed) sign-extended
  localparam integer PoolW    = 13;
  localparam integer FcTapW   = 32;               // fc1 (23 bits signed) sign-extended

  wire                         conv_valid;
  wire [Channels*ConvTapW-1:0] conv_data;
  wire                         pool_valid;
  wire [Channels*PoolW-1:0]    pool_data;
  wire                         logit_valid;
  wire [Classes*FcTapW-1:0]    logit_data;

  ma_conv #(
    .WeightDir(WeightDir),
    .ImgW     (ImgSize),
    .ImgH     (ImgSize),
    .K        (K),
    .Channels (Channels),
    .PixelW   (8),
    .WeightW  (8),
    .AccW     (22),
    .Shift    (8),
    .OutW     (ConvTapW)
  ) u_conv (
    .clock        (clock),
    .reset_n      (reset_n),
    .pix_valid    (s_pix_tvalid),
    .pix_data     (s_pix_tdata),
    .pix_ready    (s_pix_tready),
    .frame_release(m_cls_valid),
    .conv_valid   (conv_valid),
    .conv_data    (conv_data)
  );

  ma_pool #(
    .Channels(Channels),
    .InW     (ConvTapW),
    .OutW    (PoolW),
    .InSize  (ConvSize)
  ) u_pool (
    .clock    (clock),
    .reset_n  (reset_n),
    .in_valid (conv_valid),
    .in_data  (conv_data),
    .out_valid(pool_valid),
    .out_data (pool_data)
  );

  ma_fc #(
    .WeightDir(WeightDir),
    .Channels (Channels),
    .Positions(PoolSize * PoolSize),
    .Outputs  (Classes),
    .InW      (PoolW),
    .WeightW  (8),
    .AccW     (30),
    .Shift    (7),
    .OutW     (FcTapW)
  ) u_fc (
    .clock    (clock),
    .reset_n  (reset_n),
    .in_valid (pool_valid),
    .in_data  (pool_data),
    .out_valid(logit_valid),
    .out_data (logit_data)
  );

  ma_argmax #(
    .N   (Classes),
    .W   (FcTapW),
    .IdxW(4)
  ) u_argmax (
    .clock    (clock),
    .reset_n  (reset_n),
    .in_valid (logit_valid),
    .in_data  (logit_data),
    .out_valid(m_cls_valid),
    .out_class(m_cls_data)
  );

endmodule
