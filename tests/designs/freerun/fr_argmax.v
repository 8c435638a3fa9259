// fr_argmax: index of the largest of N signed W-bit values, ties resolved to
// the lowest index (a later value must be strictly greater to win). A linear
// compare chain over a generate loop; result registered when valid_i is high.
// Latency: 1 cycle (valid_i / data_i -> valid_o / idx_o).
// (Copy of rtl/cnn_argmax.v with module names prefixed fr_.)
module fr_argmax #(
  parameter integer N    = 10,
  parameter integer W    = 23,
  parameter integer IdxW = 4
) (
  input  wire            clk_i,
  input  wire            rst_ni,
  input  wire            valid_i,
  input  wire [N*W-1:0]  data_i,
  output wire            valid_o,
  output wire [IdxW-1:0] idx_o
);

  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_scan
      localparam [IdxW-1:0] Idx = i;
      wire signed [W-1:0]    val = data_i[i*W +: W];
      // the last stage's best_val is not needed (only its index is)
      /* verilator lint_off UNUSEDSIGNAL */
      wire signed [W-1:0]    best_val;
      /* verilator lint_on UNUSEDSIGNAL */
      wire        [IdxW-1:0] best_idx;
      if (i == 0) begin : g_first
        assign best_val = val;
        assign best_idx = Idx;
      end else begin : g_next
        wire take = val > g_scan[i-1].best_val;
        assign best_val = take ? val : g_scan[i-1].best_val;
        assign best_idx = take ? Idx : g_scan[i-1].best_idx;
      end
    end
  endgenerate

  reg            valid_q;
  reg [IdxW-1:0] idx_q;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
      idx_q   <= {IdxW{1'b0}};
    end else begin
      valid_q <= valid_i;
      if (valid_i) idx_q <= g_scan[N-1].best_idx;
    end
  end

  assign valid_o = valid_q;
  assign idx_o   = idx_q;

endmodule
