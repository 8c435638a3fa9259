// hs_argmax: the index of the largest of a stream of N signed W-bit values, ties to the
// lowest index. Values come one per beat with their index (valid_i, idx_i, value_i), in
// index order 0 .. N-1: index 0 is taken as the best, a later value wins only if strictly
// greater. With the beat of index N-1 in cycle t, class_o is registered and result_o is
// high for one cycle in t+1; class_o holds until the next result.
module hs_argmax #(
  parameter integer N    = 10,
  parameter integer W    = 23,
  parameter integer IdxW = 4
) (
  input  wire            clk_i,
  input  wire            rst_ni,
  input  wire            valid_i,
  input  wire [IdxW-1:0] idx_i,
  input  wire [W-1:0]    value_i,   // signed
  output wire            result_o,
  output wire [IdxW-1:0] class_o
);

  localparam integer    LastI = N - 1;
  localparam [IdxW-1:0] Last  = LastI[IdxW-1:0];

  reg signed [W-1:0]    best_q;
  reg        [IdxW-1:0] best_idx_q;
  reg                   result_q;
  reg        [IdxW-1:0] class_q;

  wire take = (idx_i == {IdxW{1'b0}}) || ($signed(value_i) > best_q);

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      best_q     <= {W{1'b0}};
      best_idx_q <= {IdxW{1'b0}};
      result_q   <= 1'b0;
      class_q    <= {IdxW{1'b0}};
    end else begin
      result_q <= valid_i && (idx_i == Last);
      if (valid_i && take) begin
        best_q     <= value_i;
        best_idx_q <= idx_i;
      end
      if (valid_i && (idx_i == Last)) class_q <= take ? idx_i : best_idx_q;
    end
  end

  assign result_o = result_q;
  assign class_o  = class_q;

endmodule
