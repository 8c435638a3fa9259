// lenet5_param_store: the per-output-channel values of every layer, indexed by one channel
// index p = layer's base + output channel (C1 0..5, C3 6..21, C5 22..141, F6 142..225,
// output 226..235; the top's Par* parameters):
//   bias RAM       (3 byte lanes, 236 words): the 24-bit bias, two's complement;
//   multiplier RAM (4 byte lanes, 226 words): M, 0..2^31-1 (bit 31 is unused);
//   shift RAM      (1 byte lane,  226 words): s, 31..62 in bits 5..0.
// The output layer has a bias only (no requantization). Bus side: one 32-bit word per
// value, word k of a layer's region is output channel k; byte lane j is written only when
// wr_be_i[j] (the AXI write strobe); the bias's byte lane 3 (its sign extension) and a
// shift's lanes 1..3 are not stored. Two read ports: the bias (for the accumulator's first
// term) and the multiplier and shift (one stage later, for the requantization).
// Latency: 1 cycle (address -> data).
module lenet5_param_store #(
  parameter integer ParC1  = 0,
  parameter integer ParC3  = 6,
  parameter integer ParC5  = 22,
  parameter integer ParF6  = 142,
  parameter integer ParOut = 226,
  parameter integer NumBias  = 236,  // all five layers
  parameter integer NumScale = 226   // C1, C3, C5, F6
) (
  input  wire        clk_i,
  input  wire        wr_valid_i,
  input  wire [14:0] wr_addr_i,   // word address (byte address >> 2)
  input  wire [31:0] wr_data_i,
  input  wire [3:0]  wr_be_i,

  input  wire [7:0]  bias_raddr_i,
  output wire [23:0] bias_o,
  input  wire [7:0]  scale_raddr_i,
  output wire [30:0] mult_o,
  output wire [5:0]  shift_o
);

  // per layer (0 C1, 1 C3, 2 C5, 3 F6, 4 output): word address of each region (byte
  // address >> 2), output channels, first channel index
  localparam [5*15-1:0] WaBias  = {15'h2680, 15'h2500, 15'h2200, 15'h2100, 15'h2000};
  localparam [5*15-1:0] WaMult  = {15'h0000, 15'h2580, 15'h2300, 15'h2140, 15'h2040};
  localparam [5*15-1:0] WaShift = {15'h0000, 15'h2600, 15'h2400, 15'h2180, 15'h2080};
  localparam [5*8-1:0]  Count   = {8'd10, 8'd84, 8'd120, 8'd16, 8'd6};
  localparam [5*8-1:0]  ParBase = {ParOut[7:0], ParF6[7:0], ParC5[7:0], ParC3[7:0], ParC1[7:0]};

  genvar l;
  generate
    for (l = 0; l < 5; l = l + 1) begin : g_layer
      localparam [14:0] BBase = WaBias[15*l +: 15];
      localparam [14:0] MBase = WaMult[15*l +: 15];
      localparam [14:0] SBase = WaShift[15*l +: 15];
      localparam [14:0] Cnt   = {7'd0, Count[8*l +: 8]};
      localparam [7:0]  PBase = ParBase[8*l +: 8];
      wire [14:0] kb = wr_addr_i - BBase;
      wire [14:0] km = wr_addr_i - MBase;
      wire [14:0] ks = wr_addr_i - SBase;
      wire hb = (wr_addr_i >= BBase) && (kb < Cnt);
      // the output layer (l = 4) has no multiplier or shift
      wire hm = (l < 4) && (wr_addr_i >= MBase) && (km < Cnt);
      wire hs = (l < 4) && (wr_addr_i >= SBase) && (ks < Cnt);
      wire [7:0] k = hb ? kb[7:0] : hm ? km[7:0] : ks[7:0];
      wire [7:0] idx = (hb || hm || hs) ? PBase + k : 8'd0;
      // OR-chains over the layers (at most one region hits)
      wire       any_b, any_m, any_s;
      wire [7:0] any_idx;
      if (l == 0) begin : g_first
        assign any_b   = hb;
        assign any_m   = hm;
        assign any_s   = hs;
        assign any_idx = idx;
      end else begin : g_next
        assign any_b   = hb || g_layer[l-1].any_b;
        assign any_m   = hm || g_layer[l-1].any_m;
        assign any_s   = hs || g_layer[l-1].any_s;
        assign any_idx = idx | g_layer[l-1].any_idx;
      end
    end
  endgenerate

  wire       hit_bias  = wr_valid_i && g_layer[4].any_b;
  wire       hit_mult  = wr_valid_i && g_layer[4].any_m;
  wire       hit_shift = wr_valid_i && g_layer[4].any_s;
  wire [7:0] widx      = g_layer[4].any_idx;

  lenet5_ram #(
    .Bytes(3),
    .Depth(NumBias),
    .AddrW(8)
  ) u_bias (
    .clk_i  (clk_i),
    .we_i   ({3{hit_bias}} & wr_be_i[2:0]),
    .waddr_i(widx),
    .wdata_i(wr_data_i[23:0]),
    .raddr_i(bias_raddr_i),
    .rdata_o(bias_o)
  );

  // bit 31 of a multiplier word is stored but never used (M <= 2^31 - 1)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0] mult_word;
  /* verilator lint_on UNUSEDSIGNAL */
  lenet5_ram #(
    .Bytes(4),
    .Depth(NumScale),
    .AddrW(8)
  ) u_mult (
    .clk_i  (clk_i),
    .we_i   ({4{hit_mult}} & wr_be_i),
    .waddr_i(widx),
    .wdata_i(wr_data_i),
    .raddr_i(scale_raddr_i),
    .rdata_o(mult_word)
  );
  assign mult_o = mult_word[30:0];

  // bits 7..6 of a shift byte are stored but never used (s <= 62)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [7:0] shift_word;
  /* verilator lint_on UNUSEDSIGNAL */
  lenet5_ram #(
    .Bytes(1),
    .Depth(NumScale),
    .AddrW(8)
  ) u_shift (
    .clk_i  (clk_i),
    .we_i   (hit_shift && wr_be_i[0]),
    .waddr_i(widx),
    .wdata_i(wr_data_i[7:0]),
    .raddr_i(scale_raddr_i),
    .rdata_o(shift_word)
  );
  assign shift_o = shift_word[5:0];

endmodule
