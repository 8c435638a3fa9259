// lenet5_weight_store: every int8 weight of the network (C1, C3, C5, F6, output) in one
// memory of 25 byte lanes, one lenet5_ram per lane, so that one row (25 weights) is read
// per cycle: a 5x5 kernel for the conv layers, a chunk of 25 inputs' weights for the dense
// layers.
//   conv kernel (o, i) of a layer with I input channels: row = RowBase + o*I + i, weight
//     (r, c) in lane 5r + c. Flat index f = ((o*I + i)*5 + r)*5 + c, so row = RowBase +
//     f / 25 and lane = f % 25.
//   dense weight (o, n) of a layer with N inputs: row = RowBase + o*Chunks + n / 25,
//     lane n % 25 (Chunks = ceil(N / 25); the lanes past N of the last chunk are never
//     written and the sequencer masks them).
// Bus side: the weights come in their flat order, 4 per word (byte address = region base
// + f, f = 4k + j in byte lane j of word k). The 4 bytes of a word go to 4 different
// lanes (consecutive flat indices, 25 lanes), lane0 + j; when that passes lane 24 the byte
// belongs to the next row (a word never straddles two dense outputs: N is a multiple of
// 4). So each lane RAM has its own write address: lane L takes byte j = (L - lane0) mod
// 25 if j < 4, at row0 + (L < lane0). A byte past the region's size (C1's last word) is
// not written, and byte lane j only when wr_be_i[j] (the AXI write strobe).
// Latency: 1 cycle (rd_row_i -> rd_data_o).
module lenet5_weight_store #(
  parameter integer RowC1  = 0,     // first row of each layer
  parameter integer RowC3  = 6,
  parameter integer RowC5  = 102,
  parameter integer RowF6  = 2022,
  parameter integer RowOut = 2442,
  parameter integer Rows   = 2482,
  parameter integer RowW   = 12
) (
  input  wire            clk_i,
  input  wire            wr_valid_i,
  input  wire [14:0]     wr_addr_i,   // word address (byte address >> 2)
  input  wire [31:0]     wr_data_i,
  input  wire [3:0]      wr_be_i,
  input  wire [RowW-1:0] rd_row_i,
  output wire [199:0]    rd_data_o    // lane L (weight (r, c) = (L / 5, L % 5)) at [8L +: 8]
);

  // bus regions: word address of the first word, number of words, bytes
  localparam [14:0] WaC1  = 15'h0400;  // byte 0x01000, 150 B
  localparam [14:0] WaC3  = 15'h0800;  // byte 0x02000, 2400 B
  localparam [14:0] WaF6  = 15'h1000;  // byte 0x04000, 10080 B
  localparam [14:0] WaOut = 15'h1C00;  // byte 0x07000, 840 B
  localparam [14:0] WaC5  = 15'h4000;  // byte 0x10000, 48000 B
  localparam [15:0] BytesC1  = 16'd150;
  localparam [15:0] BytesC3  = 16'd2400;
  localparam [15:0] BytesC5  = 16'd48000;
  localparam [14:0] WordsC1  = 15'd38;
  localparam [14:0] WordsC3  = 15'd600;
  localparam [14:0] WordsC5  = 15'd12000;
  localparam [14:0] WordsF6  = 15'd2520;   // 84 outputs x 30 words
  localparam [14:0] WordsOut = 15'd210;    // 10 outputs x 21 words

  // word index inside each region (wraps harmlessly outside it: the hit gates it)
  wire [14:0] k_c1  = wr_addr_i - WaC1;
  wire [14:0] k_c3  = wr_addr_i - WaC3;
  wire [14:0] k_c5  = wr_addr_i - WaC5;
  wire [14:0] k_f6  = wr_addr_i - WaF6;
  wire [14:0] k_out = wr_addr_i - WaOut;
  wire hit_c1  = (wr_addr_i >= WaC1)  && (k_c1  < WordsC1);
  wire hit_c3  = (wr_addr_i >= WaC3)  && (k_c3  < WordsC3);
  wire hit_c5  = (wr_addr_i >= WaC5)  && (k_c5  < WordsC5);
  wire hit_f6  = (wr_addr_i >= WaF6)  && (k_f6  < WordsF6);
  wire hit_out = (wr_addr_i >= WaOut) && (k_out < WordsOut);
  wire hit_conv = hit_c1 || hit_c3 || hit_c5;

  // conv layers: flat index f0 = 4k of byte 0, kernel f0 / 25, lane f0 % 25
  wire [13:0] k_conv = hit_c1 ? k_c1[13:0] : hit_c3 ? k_c3[13:0] : k_c5[13:0];  // < 12000
  wire [15:0] f0     = {k_conv, 2'b00};
  wire [15:0] size   = hit_c1 ? BytesC1 : hit_c3 ? BytesC3 : BytesC5;
  // the quotients' upper bits are zero by range (kernel <= 1919, lane <= 24)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [15:0] kern   = f0 / 16'd25;
  wire [15:0] lane_c = f0 % 16'd25;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [RowW-1:0] base_c = hit_c1 ? RowC1[RowW-1:0] : hit_c3 ? RowC3[RowW-1:0]
                                                       : RowC5[RowW-1:0];
  wire [RowW-1:0] row_c  = base_c + kern[RowW-1:0];

  // dense layers: output o = k / words-per-output, input n0 = 4 (k % words-per-output)
  // (upper quotient bits are zero by range: o <= 83, m <= 29, chunk <= 4, lane <= 24)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [14:0] o_f6  = k_f6 / 15'd30;
  wire [14:0] m_f6  = k_f6 % 15'd30;
  wire [14:0] o_out = k_out / 15'd21;
  wire [14:0] m_out = k_out % 15'd21;
  wire [6:0]  n0    = {(hit_f6 ? m_f6[4:0] : m_out[4:0]), 2'b00};  // <= 116
  wire [6:0]  chunk = n0 / 7'd25;
  wire [6:0]  lane_d = n0 % 7'd25;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [RowW-1:0] o_d   = hit_f6 ? {{(RowW-7){1'b0}}, o_f6[6:0]} : {{(RowW-7){1'b0}}, o_out[6:0]};
  // o * chunks per output: 5 for F6, 4 for the output layer
  wire [RowW-1:0] o_x   = hit_f6 ? (o_d << 2) + o_d : (o_d << 2);
  wire [RowW-1:0] row_d = (hit_f6 ? RowF6[RowW-1:0] : RowOut[RowW-1:0]) + o_x
                          + {{(RowW-3){1'b0}}, chunk[2:0]};

  // the word's byte 0: row and lane; which of its bytes lie inside the region
  wire [RowW-1:0] row0  = hit_conv ? row_c : row_d;
  wire [4:0]      lane0 = hit_conv ? lane_c[4:0] : lane_d[4:0];
  wire            hit   = hit_conv || hit_f6 || hit_out;
  wire [3:0]      in_region;
  genvar j;
  generate
    for (j = 0; j < 4; j = j + 1) begin : g_byte
      // dense regions are whole words; a conv region may end inside its last word (C1)
      assign in_region[j] = !hit_conv || (f0 + j < size);
    end
  endgenerate
  wire [3:0] byte_we = {4{wr_valid_i && hit}} & wr_be_i & in_region;

  genvar l;
  generate
    for (l = 0; l < 25; l = l + 1) begin : g_lane
      localparam [4:0] Lane = l;
      // which byte of the word lands in this lane, if any
      wire [4:0] j_l   = (Lane >= lane0) ? Lane - lane0 : Lane + 5'd25 - lane0;
      wire       taken = (j_l < 5'd4) && byte_we[j_l[1:0]];
      wire [RowW-1:0] waddr = row0 + {{(RowW-1){1'b0}}, (Lane < lane0)};

      lenet5_ram #(
        .Bytes(1),
        .Depth(Rows),
        .AddrW(RowW)
      ) u_ram (
        .clk_i  (clk_i),
        .we_i   (taken),
        .waddr_i(waddr),
        .wdata_i(wr_data_i[8*j_l[1:0] +: 8]),
        .raddr_i(rd_row_i),
        .rdata_o(rd_data_o[8*l +: 8])
      );
    end
  endgenerate

endmodule
