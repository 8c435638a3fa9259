// fr_conv_channel: one output channel of the convolution. Taps parallel
// multipliers (unsigned pixel x signed weight) and an adder tree
// (fr_dot_product) into a SumW-bit signed sum, an arithmetic shift right by Shift (floor division) and the bias
// added after the shift, as in docs/fixed-point.md. The result is registered
// when valid_i is high. Latency: 1 cycle (window in -> data_o).
// (Copy of rtl/cnn_conv_channel.v with module names prefixed fr_.)
module fr_conv_channel #(
  parameter integer Taps    = 49,
  parameter integer PixelW  = 8,
  parameter integer WeightW = 8,
  parameter integer ProdW   = 17,
  parameter integer SumW    = 22,
  parameter integer Shift   = 8,
  parameter integer OutW    = 14
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    valid_i,
  input  wire [Taps*PixelW-1:0]  window_i,
  input  wire [Taps*WeightW-1:0] weights_i,
  input  wire [WeightW-1:0]      bias_i,
  output wire [OutW-1:0]         data_o
);

  // MAC array (one multiplier per window tap) and adder tree
  // the low Shift bits are discarded by the floor division below
  /* verilator lint_off UNUSEDSIGNAL */
  wire [SumW-1:0] sum;
  /* verilator lint_on UNUSEDSIGNAL */

  fr_dot_product #(
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

  // floor(sum / 2^Shift) is the arithmetic shift, i.e. the upper SumW-Shift bits
  wire [OutW-1:0] scaled   = sum[SumW-1:Shift];
  wire [OutW-1:0] bias_ext = {{(OutW-WeightW){bias_i[WeightW-1]}}, bias_i};
  wire [OutW-1:0] data_d   = scaled + bias_ext;

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
