// lenet5_act_store: the activations the conv engine reads, in 25 banks (one lenet5_ram of
// 128 bytes each) so that any 5x5 window of a map is read in one cycle. Element (y, x) of
// a map lives in bank (y % 5, x % 5) (bank index 5 (y % 5) + x % 5) at word
//   base + (y / 5) * BlocksPerRow + x / 5,
// so the 25 elements of a window always sit in 25 different banks. Regions (word ranges,
// the top's Act* parameters):
//   image  0..48:    the quantized image at padded coordinates (y + 2, x + 2) of the 32x32
//                    input, 7 blocks per row; the padding itself is never written (the
//                    sequencer masks it);
//   S2     49..102:  channel ch at 49 + 9 ch, 3 blocks per row (14x14);
//   S4     103..118: channel ch (5x5) at 103 + ch, one block;
//   V5     119..123, V6 124..127: the ReLU'd C5 / F6 vectors, element n at word base +
//                    n / 25, bank n % 25 (a 5x5 "map" per chunk of 25).
// Read: window top-left (r_i, c_i) of the map at base_i whose rows have mode_i's blocks
// (ModeImage 7, ModeS2 3, ModeFlat 1). Bank (br, bc) reads block row r/5 + (br < r%5) and
// block column c/5 + (bc < c%5); after the read, the banks are rotated into window order:
// window (dr, dc) at [8 (5 dr + dc) +: 8] is bank ((r + dr) % 5, (c + dc) % 5).
// Writes: the host's image words (a word's 4 pixels go, quantized, to 4 different banks
// of one bank row: pixel j of word k is pixel (k / 7, 4 (k % 7) + j)), byte lane j only
// with its strobe wr_be_i[j]; and the engine's results (one element per cycle, bank and
// word given). They never collide: the top holds image writes while an inference runs.
// Latency: 1 cycle (read address -> window_o).
module lenet5_act_store (
  input  wire         clk_i,
  // host writes
  input  wire         wr_valid_i,
  input  wire [14:0]  wr_addr_i,     // word address (byte address >> 2)
  input  wire [31:0]  wr_data_i,
  input  wire [3:0]   wr_be_i,
  // engine writes
  input  wire         eng_we_i,
  input  wire [4:0]   eng_bank_i,    // 5 (y % 5) + x % 5
  input  wire [6:0]   eng_addr_i,
  input  wire [7:0]   eng_data_i,
  // window read
  input  wire [6:0]   base_i,
  input  wire [1:0]   mode_i,
  input  wire [4:0]   r_i,
  input  wire [4:0]   c_i,
  output wire [199:0] window_o
);

  localparam [1:0]  ModeImage = 2'd0;  // 7 blocks per row
  localparam [1:0]  ModeS2    = 2'd1;  // 3 blocks per row
  localparam [14:0] WaImage   = 15'h0100;  // byte 0x00400
  localparam [14:0] ImgWords  = 15'd196;

  // ---- host image writes: word k = pixels 4k..4k+3 of row k / 7
  wire [14:0] k       = wr_addr_i - WaImage;
  wire        img_hit = wr_valid_i && (wr_addr_i >= WaImage) && (k < ImgWords);
  // upper quotient bits are zero by range (k <= 195: y <= 27, k % 7 <= 6)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [7:0] y     = k[7:0] / 8'd7;
  wire [7:0] xq    = k[7:0] % 8'd7;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [4:0] py    = y[4:0] + 5'd2;             // padded row, 2..29
  wire [4:0] px0   = {xq[2:0], 2'b00} + 5'd2;   // padded column of pixel 0, 2..26
  wire [4:0] py_q  = py / 5'd5;
  wire [4:0] py_m  = py % 5'd5;
  wire [4:0] px0_q = px0 / 5'd5;
  wire [4:0] px0_m = px0 % 5'd5;

  wire [31:0] quant;   // pixel j's value (0..127) at [8j +: 8]
  genvar j;
  generate
    for (j = 0; j < 4; j = j + 1) begin : g_pix
      assign quant[8*j+7] = 1'b0;
      lenet5_quantize u_quant (
        .pixel_i(wr_data_i[8*j +: 8]),
        .value_o(quant[8*j +: 7])
      );
    end
  endgenerate

  // ---- read: each bank's block row and column
  wire [4:0] r_q = r_i / 5'd5;
  wire [4:0] r_m = r_i % 5'd5;
  wire [4:0] c_q = c_i / 5'd5;
  wire [4:0] c_m = c_i % 5'd5;
  reg  [4:0] r_m_q, c_m_q;  // for the rotation one cycle later
  always @(posedge clk_i) begin
    r_m_q <= r_m;
    c_m_q <= c_m;
  end

  wire [199:0] bank_q;  // bank b's read data at [8b +: 8]

  genvar br, bc;
  generate
    for (br = 0; br < 5; br = br + 1) begin : g_row
      for (bc = 0; bc < 5; bc = bc + 1) begin : g_col
        localparam integer B = 5 * br + bc;
        localparam [4:0] Br = br;
        localparam [4:0] Bc = bc;
        // read address
        wire [6:0] rb = {2'b00, r_q} + {6'd0, (Br < r_m)};
        wire [6:0] cb = {2'b00, c_q} + {6'd0, (Bc < c_m)};
        wire [6:0] row_off = (mode_i == ModeImage) ? (rb << 3) - rb
                           : (mode_i == ModeS2)    ? (rb << 1) + rb
                                                   : rb;
        wire [6:0] raddr = base_i + row_off + cb;
        // host write: bank row py % 5; pixel j = (bc - px0 % 5) mod 5 of the word
        wire [4:0] pj  = (Bc >= px0_m) ? Bc - px0_m : Bc + 5'd5 - px0_m;
        wire       img_we = img_hit && (Br == py_m) && (pj < 5'd4) && wr_be_i[pj[1:0]];
        wire [6:0] img_addr = ({2'b00, py_q} << 3) - {2'b00, py_q} + {2'b00, px0_q}
                              + {6'd0, (Bc < px0_m)};
        wire       eng_we = eng_we_i && (eng_bank_i == B[4:0]);

        lenet5_ram #(
          .Bytes(1),
          .Depth(128),
          .AddrW(7)
        ) u_ram (
          .clk_i  (clk_i),
          .we_i   (img_we || eng_we),
          .waddr_i(img_we ? img_addr : eng_addr_i),
          .wdata_i(img_we ? quant[8*pj[1:0] +: 8] : eng_data_i),
          .raddr_i(raddr),
          .rdata_o(bank_q[8*B +: 8])
        );
      end
    end
  endgenerate

  // ---- rotation into window order: rows by r % 5, then columns by c % 5
  genvar dr, dc;
  generate
    for (dr = 0; dr < 5; dr = dr + 1) begin : g_wrow
      localparam [4:0] Dr = dr;
      // (r + dr) % 5 < 5: bits 4..3 are always 0
      /* verilator lint_off UNUSEDSIGNAL */
      wire [4:0] sr = (r_m_q + Dr >= 5'd5) ? r_m_q + Dr - 5'd5 : r_m_q + Dr;
      /* verilator lint_on UNUSEDSIGNAL */
      wire [7:0]  brow_lsb = {2'b00, sr[2:0], 3'b000} + {sr[2:0], 5'b00000};  // 40 sr
      wire [39:0] brow = bank_q[brow_lsb +: 40];
      for (dc = 0; dc < 5; dc = dc + 1) begin : g_wcol
        localparam [4:0] Dc = dc;
        // (c + dc) % 5 < 5: bits 4..3 are always 0
        /* verilator lint_off UNUSEDSIGNAL */
        wire [4:0] sc = (c_m_q + Dc >= 5'd5) ? c_m_q + Dc - 5'd5 : c_m_q + Dc;
        /* verilator lint_on UNUSEDSIGNAL */
        assign window_o[8*(5*dr + dc) +: 8] = brow[8*sc[2:0] +: 8];
      end
    end
  endgenerate

endmodule
