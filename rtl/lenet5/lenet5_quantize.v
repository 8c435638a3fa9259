// lenet5_quantize: the network's first layer on one pixel, rint(x * 127 / 255) for an
// unsigned 8-bit x (numpy's rint; 255 is odd and coprime to 127, so x·127/255 is never a
// tie: no tie rule is needed). rint(x·127/255) = floor((127x + 127.5) / 255) =
// floor(127(x+1) / 255) (no multiple of 255 lies in (127x+127, 127x+127.5]), and for
// v = 127(x+1) <= 32512, floor(v / 255) = (v + (v >> 8) + 1) >> 8 (checked for all 256
// pixels). Shifts and adds only: no multiplier, no divider.
// Latency: combinational.
module lenet5_quantize (
  input  wire [7:0] pixel_i,  // 0..255
  output wire [6:0] value_o   // 0..127
);

  wire [15:0] xp1 = {8'd0, pixel_i} + 16'd1;           // x + 1, 1..256
  wire [15:0] v   = (xp1 << 7) - xp1;                   // 127 (x + 1), <= 32512
  // t <= 32640, so t[15] is always 0; the quotient is t[14:8] and t[7:0] the discarded
  // fraction
  /* verilator lint_off UNUSEDSIGNAL */
  wire [15:0] t   = v + {8'd0, v[15:8]} + 16'd1;
  /* verilator lint_on UNUSEDSIGNAL */

  assign value_o = t[14:8];

endmodule
