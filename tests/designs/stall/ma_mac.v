// ma_mac: one multiply-accumulate unit. Per enabled cycle it adds the product of an
// unsigned AW-bit operand a and a signed BW-bit operand b (exact in ProdW bits signed)
// to an AccW-bit signed accumulator; clear loads init instead (clear wins over enable).
//   acc <= clear ? init : enable ? acc + a*b : acc
// Latency: 1 cycle (operands in -> acc updated on that edge).
module ma_mac #(
  parameter integer AW    = 8,
  parameter integer BW    = 8,
  parameter integer ProdW = AW + BW,  // |a*b| <= (2^AW-1)*2^(BW-1) < 2^(AW+BW-1)
  parameter integer AccW  = 22
) (
  input  wire            clock,
  input  wire            reset_n,
  input  wire            clear,
  input  wire [AccW-1:0] init,
  input  wire            enable,
  input  wire [AW-1:0]   a,      // unsigned
  input  wire [BW-1:0]   b,      // signed
  output wire [AccW-1:0] acc     // signed
);

  wire signed [ProdW-1:0] a_ext    = {{(ProdW-AW){1'b0}}, a};
  wire signed [ProdW-1:0] b_ext    = {{(ProdW-BW){b[BW-1]}}, b};
  wire signed [ProdW-1:0] prod     = a_ext * b_ext;
  wire        [AccW-1:0]  prod_ext = {{(AccW-ProdW){prod[ProdW-1]}}, prod};

  reg [AccW-1:0] acc_q;
  always @(posedge clock) begin
    if (!reset_n)    acc_q <= {AccW{1'b0}};
    else if (clear)  acc_q <= init;
    else if (enable) acc_q <= acc_q + prod_ext;
  end

  assign acc = acc_q;

endmodule
