// lenet5_requant: TFLite's per-channel requantization, rounding = "tflite" in
// docs/network-format.md, then saturation to int8:
//   y = sat8(RDBPOT(SRDHM(acc, M), s - 31))      M in 0..2^31-1, s in 31..62
// SRDHM(a, b) (gemmlowp's SaturatingRoundingDoublingHighMul): the high half of 2ab, to
// nearest with ties toward +inf. gemmlowp adds the nudge 2^30 (ab >= 0) or 1 - 2^30
// (ab < 0) and divides by 2^31 truncating toward zero; both cases equal
// floor((ab + 2^30) / 2^31) (for ab < 0: trunc(n / 2^31) = floor((n + 2^31 - 1) / 2^31)
// with n = ab + 1 - 2^30). Its saturating case a = b = -2^31 cannot occur (M >= 0). The
// result fits int32: |ab| < 2^62.
// RDBPOT(x, e) (RoundingDivideByPOT): x / 2^e to nearest, ties away from zero: with
// mask = 2^e - 1, (x >>> e) + ((x & mask) > (mask >> 1) + (x < 0)).
// The shift s >= 31 is TFLite's exponent 31 - s <= 0, so there is no left shift before
// SRDHM; e = s - 31 is 0..31.
// Latency: 3 cycles (valid_i/acc_i/mult_i/shift_i -> valid_o/data_o).
module lenet5_requant (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               valid_i,
  input  wire signed [31:0] acc_i,
  input  wire [30:0]        mult_i,   // M
  input  wire [5:0]         shift_i,  // s
  output wire               valid_o,
  output wire signed [7:0]  data_o
);

  reg               v1_q, v2_q, v3_q;
  reg signed [63:0] prod_q;   // acc * M
  reg        [4:0]  e1_q, e2_q;
  reg signed [31:0] high_q;   // SRDHM(acc, M)
  reg signed [7:0]  data_q;

  // stage 1: the product
  wire signed [31:0] mult_s = {1'b0, mult_i};
  // e = s - 31 (s in 31..62); the borrow bit is never needed
  /* verilator lint_off UNUSEDSIGNAL */
  wire [5:0] e = shift_i - 6'd31;
  /* verilator lint_on UNUSEDSIGNAL */

  // stage 2: SRDHM = floor((ab + 2^30) / 2^31); the sum's low 31 bits are the discarded
  // fraction and its top bits sign copies (|ab + 2^30| < 2^62)
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [63:0] nudged = prod_q + 64'sd1073741824;
  /* verilator lint_on UNUSEDSIGNAL */

  // stage 3: RDBPOT(high, e) and saturation
  wire [31:0]        mask      = (32'd1 << e2_q) - 32'd1;
  wire [31:0]        remainder = high_q & mask;
  wire [31:0]        threshold = (mask >> 1) + {31'd0, high_q[31]};
  wire signed [31:0] shifted   = high_q >>> e2_q;
  wire signed [31:0] rounded   = shifted + {31'd0, (remainder > threshold)};
  wire signed [7:0]  saturated = (rounded > 32'sd127)  ? 8'sd127
                               : (rounded < -32'sd128) ? -8'sd128
                                                       : rounded[7:0];

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
    end else begin
      v1_q <= valid_i;
      v2_q <= v1_q;
      v3_q <= v2_q;
    end
  end

  always @(posedge clk_i) begin
    prod_q <= acc_i * mult_s;  // 32 x 32 -> 64 bits, signed
    e1_q   <= e[4:0];
    high_q <= nudged[62:31];
    e2_q   <= e1_q;
    data_q <= saturated;
  end

  assign valid_o = v3_q;
  assign data_o  = data_q;

endmodule
