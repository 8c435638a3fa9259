// pairs_conv: a Conv2d layer (stride 1, no padding) on a K x K window of InChannels-channel
// pixels, as rtl/cnn_conv computes it, with each (output, input) channel pair's kernel in a
// file of its own: <Prefix><o+1><i+1>.txt (K*K tokens, row-major), the layout of designs
// that keep one ROM per channel pair; the biases come from BiasFile. Outputs and inputs are
// numbered 1..9. The window packs position p = i*K + j, input channel c at
// [(p*InChannels + c)*PixelW +: PixelW]; data_o packs channel k at [k*OutW +: OutW]
// (signed). Rounding and overflow: see rtl/cnn_conv_channel.
// Latency: 1 cycle (valid_i / window_i -> valid_o / data_o, both registered).
module pairs_conv #(
  parameter         WeightsDir = "vectors/weights",
  parameter         Prefix     = "conv2_weight_",
  parameter         BiasFile   = "conv2_bias.mem",
  parameter integer InChannels = 3,   // at most 9
  parameter integer Channels   = 3,   // at most 9
  parameter integer K          = 5,
  parameter integer PixelW     = 11,
  parameter integer WeightW    = 8,
  parameter integer ProdW      = 19,
  parameter integer SumW       = 26,
  parameter integer Shift      = 7,
  parameter integer HalfUp     = 1,
  parameter integer Saturate   = 1,
  parameter integer OutW       = 12
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

  genvar t, k, c;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      localparam integer OutDigitI = 49 + k;  // ASCII "1" + k
      localparam [7:0]   OutDigit  = OutDigitI[7:0];
      wire [Taps*WeightW-1:0] pair_words;  // input channel c's kernel at [c*Positions*8 +: …]
      wire [Taps*WeightW-1:0] weights;     // the window's order: row, column, channel

      for (c = 0; c < InChannels; c = c + 1) begin : g_in
        localparam integer InDigitI = 49 + c;
        localparam [7:0]   InDigit  = InDigitI[7:0];
        cnn_weight_table #(
          .WeightsDir(WeightsDir),
          .FileName  ({Prefix, OutDigit, InDigit, ".txt"}),
          .Depth     (Positions)
        ) u_kernel (
          .data_o(pair_words[c*Positions*WeightW +: Positions*WeightW])
        );
      end

      // window tap t = p*InChannels + c holds input channel c's word p
      for (t = 0; t < Taps; t = t + 1) begin : g_tap
        localparam integer Word = (t % InChannels) * Positions + t / InChannels;
        assign weights[t*WeightW +: WeightW] = pair_words[Word*WeightW +: WeightW];
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
