// lenet5_dot: the engine's MAC array, shared by every layer: N signed 8-bit activations
// times N signed 8-bit weights, summed.
//   stage 1: operands registered, each pair zeroed where mask_i is 0 (padding, the unused
//            lanes of a dense layer's last chunk): a masked pair is 0 * 0, whatever the
//            memories hold there;
//   stage 2: N multipliers and a balanced adder tree (level l has ceil(N / 2^l) nodes, an
//            odd node out passes through), the sum registered.
// Activations are 0..127 in this network (quantized pixels and ReLU outputs), weights
// -128..127: a product fits 16 bits and the sum of 25 fits SumW = 21 bits (signed).
// The caller carries the valid and the tags beside it (no control state here).
// Latency: 2 cycles (a_i/b_i/mask_i -> sum_o).
module lenet5_dot #(
  parameter integer N    = 25,
  parameter integer SumW = 21
) (
  input  wire                   clk_i,
  input  wire [8*N-1:0]         a_i,     // activations, lane n at [8n +: 8]
  input  wire [8*N-1:0]         b_i,     // weights, lane n at [8n +: 8]
  input  wire [N-1:0]           mask_i,  // lane n takes part
  output wire signed [SumW-1:0] sum_o
);

  localparam integer Levels = $clog2(N);

  reg [8*N-1:0] a_q, b_q;
  reg [SumW-1:0] sum_q;

  genvar n;
  generate
    for (n = 0; n < N; n = n + 1) begin : g_op
      always @(posedge clk_i) begin
        a_q[8*n +: 8] <= mask_i[n] ? a_i[8*n +: 8] : 8'd0;
        b_q[8*n +: 8] <= mask_i[n] ? b_i[8*n +: 8] : 8'd0;
      end
    end
  endgenerate

  genvar l;
  generate
    for (l = 0; l <= Levels; l = l + 1) begin : g_lvl
      localparam integer Nodes = (N + (1 << l) - 1) >> l;
      for (n = 0; n < Nodes; n = n + 1) begin : g_node
        wire signed [SumW-1:0] sum;
        if (l == 0) begin : g_mul
          wire signed [7:0]  a    = a_q[8*n +: 8];
          wire signed [7:0]  b    = b_q[8*n +: 8];
          wire signed [15:0] prod = a * b;
          assign sum = {{(SumW-16){prod[15]}}, prod};
        end else begin : g_add
          localparam integer PrevNodes = (N + (1 << (l-1)) - 1) >> (l-1);
          if (2*n + 1 < PrevNodes) begin : g_pair
            assign sum = g_lvl[l-1].g_node[2*n].sum + g_lvl[l-1].g_node[2*n+1].sum;
          end else begin : g_pass
            assign sum = g_lvl[l-1].g_node[2*n].sum;
          end
        end
      end
    end
  endgenerate

  always @(posedge clk_i) begin
    sum_q <= g_lvl[Levels].g_node[0].sum;
  end

  assign sum_o   = sum_q;

endmodule
