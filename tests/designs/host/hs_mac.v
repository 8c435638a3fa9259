// hs_mac: one multiply-accumulate unit. In a cycle with en_i it adds the product of an
// unsigned AW-bit a_i and a signed BW-bit b_i (exact in ProdW bits signed) to an AccW-bit
// signed accumulator; clear_i loads init_i instead (clear_i wins over en_i):
//   acc <= clear_i ? init_i : en_i ? acc + a_i*b_i : acc
// Latency 1 cycle (operands in cycle t -> acc_o updated at the edge ending t).
module hs_mac #(
  parameter integer AW    = 13,
  parameter integer BW    = 8,
  parameter integer ProdW = AW + BW,  // |a*b| <= (2^AW-1)*2^(BW-1) < 2^(AW+BW-1)
  parameter integer AccW  = 30
) (
  input  wire            clk_i,
  input  wire            rst_ni,
  input  wire            clear_i,
  input  wire [AccW-1:0] init_i,
  input  wire            en_i,
  input  wire [AW-1:0]   a_i,     // unsigned
  input  wire [BW-1:0]   b_i,     // signed
  output wire [AccW-1:0] acc_o    // signed
);

  wire signed [ProdW-1:0] a_ext    = {{(ProdW-AW){1'b0}}, a_i};
  wire signed [ProdW-1:0] b_ext    = {{(ProdW-BW){b_i[BW-1]}}, b_i};
  wire signed [ProdW-1:0] prod     = a_ext * b_ext;
  wire        [AccW-1:0]  prod_ext = {{(AccW-ProdW){prod[ProdW-1]}}, prod};

  reg [AccW-1:0] acc_q;

  always @(posedge clk_i) begin
    if (!rst_ni)      acc_q <= {AccW{1'b0}};
    else if (clear_i) acc_q <= init_i;
    else if (en_i)    acc_q <= acc_q + prod_ext;
  end

  assign acc_o = acc_q;

endmodule
