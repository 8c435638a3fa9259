// hs_dot: combinational dot product of N lanes,
//   sum_o = sum_j a_j * b_j,   a_j = a_i[j*AW +: AW] unsigned, b_j = b_i[j*BW +: BW] signed,
// exact in SumW bits signed (needs SumW >= AW + BW + clog2(N)). Latency 0.
module hs_dot #(
  parameter integer N     = 7,
  parameter integer AW    = 8,
  parameter integer BW    = 8,
  parameter integer ProdW = AW + BW,  // |a*b| <= (2^AW-1)*2^(BW-1) < 2^(AW+BW-1)
  parameter integer SumW  = ProdW + $clog2(N)
) (
  input  wire [N*AW-1:0] a_i,
  input  wire [N*BW-1:0] b_i,
  output wire [SumW-1:0] sum_o   // signed
);

  wire [N*SumW-1:0] prods;  // lane j's product, sign-extended, at [j*SumW +: SumW]
  reg  [SumW-1:0]   sum;
  integer           n;

  genvar j;
  generate
    for (j = 0; j < N; j = j + 1) begin : g_lane
      wire        [AW-1:0]    a     = a_i[j*AW +: AW];
      wire        [BW-1:0]    b     = b_i[j*BW +: BW];
      wire signed [ProdW-1:0] a_ext = {{(ProdW-AW){1'b0}}, a};
      wire signed [ProdW-1:0] b_ext = {{(ProdW-BW){b[BW-1]}}, b};
      wire signed [ProdW-1:0] prod  = a_ext * b_ext;

      assign prods[j*SumW +: SumW] = {{(SumW-ProdW){prod[ProdW-1]}}, prod};
    end
  endgenerate

  always @(*) begin
    sum = {SumW{1'b0}};
    for (n = 0; n < N; n = n + 1) sum = sum + prods[n*SumW +: SumW];
  end

  assign sum_o = sum;

endmodule
