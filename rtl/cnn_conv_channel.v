// cnn_conv_channel: one output channel of a convolution. Taps parallel multipliers
// (unsigned input x signed weight) and an adder tree (cnn_dot_product) into a SumW-bit
// signed sum, divided by 2^Shift (floor, or round half up when HalfUp = 1: add
// 2^(Shift-1) first), then the bias added after the division, as in
// docs/fixed-point.md and docs/network-format.md ((sum + b*2^Shift) / 2^Shift rounds the
// same way as sum / 2^Shift, plus b). The result is wrapped to OutW bits (Saturate = 0,
// for widths the bounds prove never overflow) or saturated to the signed OutW-bit range
// (Saturate = 1), and registered when valid_i is high.
// Latency: 1 cycle (window in -> data_o).
module cnn_conv_channel #(
  parameter integer Taps     = 49,
  parameter integer PixelW   = 8,
  parameter integer WeightW  = 8,
  parameter integer ProdW    = 17,
  parameter integer SumW     = 22,
  parameter integer Shift    = 8,
  parameter integer HalfUp   = 0,
  parameter integer Saturate = 0,
  parameter integer OutW     = 14
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    valid_i,
  input  wire [Taps*PixelW-1:0]  window_i,
  input  wire [Taps*WeightW-1:0] weights_i,
  input  wire [WeightW-1:0]      bias_i,
  output wire [OutW-1:0]         data_o
);

  localparam integer ScaledW = SumW - Shift;
  // the quotient plus the bias, one bit wider than the wider of the two
  localparam integer ResW = ((ScaledW > WeightW) ? ScaledW : WeightW) + 1;

  wire [SumW-1:0] sum;

  cnn_dot_product #(
    .NumInputs(Taps),
    .AW       (PixelW),
    .BW       (WeightW),
    .ProdW    (ProdW),
    .OutW     (SumW)
  ) u_mac (
    .a_i  (window_i),
    .b_i  (weights_i),
    .sum_o(sum)
  );

  // the low Shift bits are discarded by the division
  /* verilator lint_off UNUSEDSIGNAL */
  wire [SumW-1:0] rounded;
  /* verilator lint_on UNUSEDSIGNAL */
  generate
    if (HalfUp != 0 && Shift > 0) begin : g_half_up
      localparam [SumW-1:0] Half = {{(SumW-1){1'b0}}, 1'b1} << (Shift - 1);
      assign rounded = sum + Half;
    end else begin : g_floor
      assign rounded = sum;
    end
  endgenerate

  // floor(rounded / 2^Shift) is the arithmetic shift, i.e. the upper SumW-Shift bits
  wire [ScaledW-1:0] scaled = rounded[SumW-1:Shift];
  wire [OutW-1:0]    data_d;

  generate
    if (Saturate != 0) begin : g_saturate
      // the quotient plus the bias in ResW bits; in range when every bit above OutW-1
      // copies the sign bit
      wire [ResW-1:0]    res   = {{(ResW-ScaledW){scaled[ScaledW-1]}}, scaled}
                               + {{(ResW-WeightW){bias_i[WeightW-1]}}, bias_i};
      wire [ResW-OutW:0] top   = res[ResW-1:OutW-1];
      wire               fits  = (top == {(ResW-OutW+1){1'b0}}) || (top == {(ResW-OutW+1){1'b1}});
      wire [OutW-1:0]    limit = res[ResW-1] ? {1'b1, {(OutW-1){1'b0}}}   // most negative
                                             : {1'b0, {(OutW-1){1'b1}}};  // most positive
      assign data_d = fits ? res[OutW-1:0] : limit;
    end else begin : g_wrap
      // the bounds prove the value fits OutW bits, so OutW-bit arithmetic is exact (the
      // quotient's bits above OutW-1 are sign copies). Computing it in OutW bits rather
      // than ResW and truncating matters: Verilator's model of the wider form ran the seed
      // design 1.5x slower (docs/performance.md)
      /* verilator lint_off UNUSEDSIGNAL */
      wire [ScaledW-1:0] scaled_all = scaled;
      /* verilator lint_on UNUSEDSIGNAL */
      wire [OutW-1:0] bias_ext = {{(OutW-WeightW){bias_i[WeightW-1]}}, bias_i};
      assign data_d = scaled_all[OutW-1:0] + bias_ext;
    end
  endgenerate

  reg [OutW-1:0] data_q;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      data_q <= {OutW{1'b0}};
    end else if (valid_i) begin
      data_q <= data_d;
    end
  end

  assign data_o = data_q;

endmodule
