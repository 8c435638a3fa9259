// cnn_fc_acc: accumulator of one Linear output. Per input beat it adds the
// Channels products (unsigned pooled value x signed weight, summed by a
// cnn_dot_product) to an AccW-bit signed accumulator that starts each image at
// bias * 2^Shift (plus 2^(Shift-1) when HalfUp = 1, so the final division rounds half
// up instead of down). On the image's last beat (last_i) the result
// (acc + products) >>> Shift is registered on data_o and the accumulator is
// re-armed with the bias for the next image, so no state carries over.
// Latency: 1 cycle (last beat in -> data_o).
module cnn_fc_acc #(
  parameter integer Channels = 3,
  parameter integer InW      = 13,
  parameter integer WeightW  = 8,
  parameter integer ProdW    = 21,
  parameter integer AccW     = 30,
  parameter integer Shift    = 7,
  parameter integer HalfUp   = 0,
  parameter integer OutW     = 23
) (
  input  wire                        clk_i,
  input  wire                        rst_ni,
  input  wire                        valid_i,
  input  wire                        last_i,
  input  wire [Channels*InW-1:0]     data_i,
  input  wire [Channels*WeightW-1:0] weights_i,
  input  wire [WeightW-1:0]          bias_i,
  output wire [OutW-1:0]             data_o
);

  wire [AccW-1:0] beat_sum;

  cnn_dot_product #(
    .NumInputs(Channels),
    .AW       (InW),
    .BW       (WeightW),
    .ProdW    (ProdW),
    .OutW     (AccW)
  ) u_mac (
    .a_i  (data_i),
    .b_i  (weights_i),
    .sum_o(beat_sum)
  );

  localparam [AccW-1:0] Half = (HalfUp != 0 && Shift > 0) ? ({{(AccW-1){1'b0}}, 1'b1} << (Shift - 1))
                                                         : {AccW{1'b0}};
  wire [AccW-1:0] bias_init = {{(AccW-WeightW-Shift){bias_i[WeightW-1]}}, bias_i, {Shift{1'b0}}}
                            | Half;  // the low Shift bits of the shifted bias are zero

  reg  [AccW-1:0] acc_q;
  reg  [OutW-1:0] data_q;
  wire [AccW-1:0] acc_d = acc_q + beat_sum;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      acc_q  <= bias_init;
      data_q <= {OutW{1'b0}};
    end else if (valid_i) begin
      acc_q <= last_i ? bias_init : acc_d;
      if (last_i) data_q <= acc_d[AccW-1:Shift];  // floor((acc [+ half]) / 2^Shift)
    end
  end

  assign data_o = data_q;

endmodule
