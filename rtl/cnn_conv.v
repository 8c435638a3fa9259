// cnn_conv: a Conv2d layer (stride 1, no padding) on a K x K window of InChannels-channel
// pixels. Channels instances of cnn_conv_channel share the window; output channel k's
// kernel comes from its own cnn_weight_table (<WeightPrefix><FirstFile+k>.mem, InChannels*K*K
// tokens in channel-row-column order) and the biases from BiasFile.
// The window packs position p = i*K + j, input channel c at [(p*InChannels + c)*PixelW +:
// PixelW] (cnn_window over pixels that each pack their channels). data_o packs channel k
// at [k*OutW +: OutW] (signed). Rounding and overflow: see cnn_conv_channel.
// Latency: 1 cycle (valid_i / window_i -> valid_o / data_o, both registered).
module cnn_conv #(
  parameter         WeightsDir   = "vectors/weights",
  parameter         WeightPrefix = "conv1_weight_",   // kernel files, numbered from FirstFile
  parameter         BiasFile     = "conv1_bias.mem",
  parameter integer FirstFile    = 1,                 // FirstFile + Channels - 1 <= 9
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
  parameter integer OutW         = 14
) (
  input  wire                             clk_i,
  input  wire                             rst_ni,
  input  wire                             valid_i,
  input  wire [K*K*InChannels*PixelW-1:0] window_i,
  output wire                             valid_o,
  output wire [Channels*OutW-1:0]         data_o
);

  localparam integer Positions = K * K;
  localparam integer Taps      = Positions * InChannels;

  wire [Channels*WeightW-1:0] bias;

  cnn_weight_table #(
    .WeightsDir(WeightsDir),
    .FileName  (BiasFile),
    .Depth     (Channels)
  ) u_bias (
    .data_o(bias)
  );

  genvar t, k;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      localparam integer DigitI = 48 + FirstFile + k;  // ASCII "0" + file number
      localparam [7:0]   Digit  = DigitI[7:0];
      wire [Taps*WeightW-1:0] file_words;  // the file's order: channel, row, column
      wire [Taps*WeightW-1:0] weights;     // the window's order: row, column, channel

      cnn_weight_table #(
        .WeightsDir(WeightsDir),
        .FileName  ({WeightPrefix, Digit, ".mem"}),
        .Depth     (Taps)
      ) u_weights (
        .data_o(file_words)
      );

      // window tap t = p*InChannels + c holds the file's word c*K*K + p
      for (t = 0; t < Taps; t = t + 1) begin : g_tap
        localparam integer Word = (t % InChannels) * Positions + t / InChannels;
        assign weights[t*WeightW +: WeightW] = file_words[Word*WeightW +: WeightW];
      end

      cnn_conv_channel #(
        .Taps    (Taps),
        .PixelW  (PixelW),
        .WeightW (WeightW),
        .ProdW   (ProdW),
        .SumW    (SumW),
        .Shift   (Shift),
        .HalfUp  (HalfUp),
        .Saturate(Saturate),
        .OutW    (OutW)
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
