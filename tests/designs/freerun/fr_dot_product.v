// fr_dot_product: combinational MAC array + balanced adder tree computing
//   sum_o = sum_{n < NumInputs} a_n * b_n
// with a_n unsigned AW-bit, b_n signed BW-bit, each product ProdW bits signed
// and the sum OutW bits signed (callers size ProdW / OutW to hold the exact
// values, see docs/fixed-point.md). Level 0 of the tree holds the products;
// level l has ceil(NumInputs / 2^l) nodes, an odd node out is passed through.
// Every node is its own net (no shared vector with many part-select drivers),
// which keeps event-driven simulators from re-evaluating whole levels.
// Latency: combinational (0 cycles).
// (Copy of rtl/cnn_dot_product.v with module names prefixed fr_.)
module fr_dot_product #(
  parameter integer NumInputs = 49,
  parameter integer AW        = 8,
  parameter integer BW        = 8,
  parameter integer ProdW     = 17,
  parameter integer OutW      = 22
) (
  input  wire [NumInputs*AW-1:0] a_i,  // unsigned operands, a_n at [n*AW +: AW]
  input  wire [NumInputs*BW-1:0] b_i,  // signed operands,   b_n at [n*BW +: BW]
  output wire [OutW-1:0]         sum_o
);

  localparam integer Levels = $clog2(NumInputs);

  genvar l, n;
  generate
    for (l = 0; l <= Levels; l = l + 1) begin : g_lvl
      localparam integer Nodes = (NumInputs + (1 << l) - 1) >> l;
      for (n = 0; n < Nodes; n = n + 1) begin : g_node
        wire [OutW-1:0] sum;
        if (l == 0) begin : g_mul
          wire        [AW-1:0]    a     = a_i[n*AW +: AW];
          wire        [BW-1:0]    b     = b_i[n*BW +: BW];
          wire signed [ProdW-1:0] a_ext = {{(ProdW-AW){1'b0}}, a};
          wire signed [ProdW-1:0] b_ext = {{(ProdW-BW){b[BW-1]}}, b};
          wire signed [ProdW-1:0] prod  = a_ext * b_ext;
          assign sum = {{(OutW-ProdW){prod[ProdW-1]}}, prod};
        end else begin : g_add
          localparam integer PrevNodes = (NumInputs + (1 << (l-1)) - 1) >> (l-1);
          if (2*n + 1 < PrevNodes) begin : g_pair
            assign sum = g_lvl[l-1].g_node[2*n].sum + g_lvl[l-1].g_node[2*n+1].sum;
          end else begin : g_pass
            assign sum = g_lvl[l-1].g_node[2*n].sum;
          end
        end
      end
    end
  endgenerate

  assign sum_o = g_lvl[Levels].g_node[0].sum;

endmodule
