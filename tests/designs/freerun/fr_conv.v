// fr_conv: the Conv2d layer. Channels instances of fr_conv_channel share the
// K x K window; each channel's kernel comes from its own fr_weight_rom
// (conv1_weight_<k+1>.mem) and the biases from conv1_bias.mem.
// data_o packs channel k at [k*OutW +: OutW] (signed).
// Latency: 1 cycle (valid_i / window_i -> valid_o / data_o, both registered).
// (Copy of rtl/cnn_conv.v with module names prefixed fr_; its weight ROMs open fixed
// file names in the working directory, see fr_weight_rom.)
module fr_conv #(
  parameter integer Channels   = 3,
  parameter integer K          = 7,
  parameter integer PixelW     = 8,
  parameter integer WeightW    = 8,
  parameter integer ProdW      = 17,
  parameter integer SumW       = 22,
  parameter integer Shift      = 8,
  parameter integer OutW       = 14
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  input  wire                   valid_i,
  input  wire [K*K*PixelW-1:0]  window_i,
  output wire                   valid_o,
  output wire [Channels*OutW-1:0] data_o
);

  localparam integer Taps      = K * K;
  localparam integer TapAddrW  = $clog2(Taps);
  localparam integer BiasAddrW = (Channels > 1) ? $clog2(Channels) : 1;

  // constant read addresses: every tap weight / bias is read in parallel
  wire [Taps*TapAddrW-1:0]      tap_addr;
  wire [Channels*BiasAddrW-1:0] bias_addr;
  wire [Channels*WeightW-1:0]   bias;

  genvar t, k;
  generate
    for (t = 0; t < Taps; t = t + 1) begin : g_tap_addr
      localparam [TapAddrW-1:0] Addr = t;
      assign tap_addr[t*TapAddrW +: TapAddrW] = Addr;
    end
    for (k = 0; k < Channels; k = k + 1) begin : g_bias_addr
      localparam [BiasAddrW-1:0] Addr = k;
      assign bias_addr[k*BiasAddrW +: BiasAddrW] = Addr;
    end
  endgenerate

  fr_weight_rom #(
    .FileName  ("conv1_bias.mem"),
    .Depth     (Channels),
    .NumPorts  (Channels),
    .AddrW     (BiasAddrW)
  ) u_bias_rom (
    .addr_i(bias_addr),
    .data_o(bias)
  );

  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      localparam [7:0] Digit = "1" + k;  // files are numbered from 1
      wire [Taps*WeightW-1:0] weights;

      fr_weight_rom #(
        .FileName  ({"conv1_weight_", Digit, ".mem"}),
        .Depth     (Taps),
        .NumPorts  (Taps),
        .AddrW     (TapAddrW)
      ) u_weight_rom (
        .addr_i(tap_addr),
        .data_o(weights)
      );

      fr_conv_channel #(
        .Taps   (Taps),
        .PixelW (PixelW),
        .WeightW(WeightW),
        .ProdW  (ProdW),
        .SumW   (SumW),
        .Shift  (Shift),
        .OutW   (OutW)
      ) u_channel (
        .clk_i    (clk_i),
        .rst_ni   (rst_ni),
        .valid_i  (valid_i),
        .window_i (window_i),
        .weights_i(weights),
        .bias_i   (bias[k*WeightW +: WeightW]),
        .data_o   (data_o[k*OutW +: OutW])
      );
    end
  endgenerate

  reg valid_q;
  always @(posedge clk_i) begin
    if (!rst_ni) valid_q <= 1'b0;
    else         valid_q <= valid_i;
  end

  assign valid_o = valid_q;

endmodule
