// hs_obi_top: the host-loaded seed-network engine (hs_core) behind an OBI (OpenHW Open
// Bus Interface 1.x) subordinate port: 16-bit byte addresses, 32-bit data, no err, no
// rready.
//
// Handshake: a transaction is granted in a cycle with obi_req_i && obi_gnt_o (address
// phase); its response is obi_rvalid_o high for exactly one cycle, the cycle after the
// grant, with obi_rdata_o for a read (0 for a write, and 0 whenever obi_rvalid_o is low).
// At most one transaction is outstanding: obi_gnt_o is low in the response cycle, and
// also, pseudo-randomly, in about one cycle in four (bits [1:0] of a 16-bit LFSR seeded
// with GntSeed, advancing every cycle, equal to 0). obi_gnt_o depends on registers only,
// never on obi_req_i. A granted write takes effect at the end of its response cycle, so a
// transaction granted after the response sees it.
//
// Memory map (byte addresses; obi_be_i honoured per byte lane on every write):
//   0x0000 CTRL    W  bit 0 (lane 0): 1 starts the engine (ignored while busy); reads 0
//   0x0004 STATUS  R  bit 0 done (level, class ready, until the next start), bit 1 busy
//   0x0008 CLASS   R  [3:0] the class of the last finished image
//   0x1000 image          784 B: pixel p at 0x1000 + p (row-major), 4 per word LE
//   0x2000 conv1 weights  147 B: weight k*49 + i*7 + j at 0x2000 + that
//   0x2400 conv1 bias     3 words: b_k at 0x2400 + 4k, sign-extended (lane 0 used)
//   0x3000 fc bias        10 words: bf_o at 0x3000 + 4o, sign-extended (lane 0 used)
//   0x4000 fc weights     3,630 B: weight o*363 + n at 0x4000 + that
// The memories read back what was written (a word beyond a memory reads 0); anything else
// is ignored on write and reads 0. Memories must not be written while busy.
// Latency: the CTRL write granted in cycle g starts the engine in g+1 (hs_core's start_i)
// and STATUS reads done from g+11,282 on (a read granted in that cycle or later).
//
// Fault (verification aid, default 0 = correct): 1: done never rises; 2: obi_gnt_o never
// rises; 3: byte lane 2 of every write is dropped. Other values: correct.
module hs_obi_top #(
  parameter integer Fault   = 0,
  parameter [15:0]  GntSeed = 16'hACE1  // nonzero
) (
  input  wire        clk_i,
  input  wire        rst_ni,        // synchronous, active low
  input  wire        obi_req_i,
  output wire        obi_gnt_o,
  // byte address; bits [1:0] unused: the byte lanes are selected by obi_be_i
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [15:0] obi_addr_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire        obi_we_i,
  input  wire [3:0]  obi_be_i,
  input  wire [31:0] obi_wdata_i,
  output wire        obi_rvalid_o,
  output wire [31:0] obi_rdata_o
);

  // ---------------------------------------------------------------- grant
  reg  [15:0] lfsr_q;
  reg         pending_q;  // the response of the transaction granted last cycle is due

  wire gnt    = (Fault != 2) && !pending_q && (lfsr_q[1:0] != 2'b00);
  wire accept = obi_req_i && gnt;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      lfsr_q    <= GntSeed;
      pending_q <= 1'b0;
    end else begin
      // x^16 + x^14 + x^13 + x^11 + 1
      lfsr_q    <= {lfsr_q[14:0], lfsr_q[15] ^ lfsr_q[13] ^ lfsr_q[12] ^ lfsr_q[10]};
      pending_q <= accept;
    end
  end

  assign obi_gnt_o = gnt;

  // ---------------------------------------------------------------- address decode
  wire [3:0] page     = obi_addr_i[15:12];
  wire       in_csr   = (page == 4'h0);
  wire       in_image = (page == 4'h1);
  wire       in_convw = (obi_addr_i[15:10] == 6'b0010_00);  // 0x2000 .. 0x23ff
  wire       in_convb = (obi_addr_i[15:10] == 6'b0010_01);  // 0x2400 .. 0x27ff
  wire       in_fcb   = (page == 4'h3);
  wire       in_fcw   = (page == 4'h4);
  wire       in_mem   = in_image || in_convw || in_convb || in_fcb || in_fcw;
  wire [9:0] csr_word = obi_addr_i[11:2];

  // memory select and word address (hs_core's SelImage .. SelFcB; 7 selects nothing)
  wire [2:0]  sel  = in_image ? 3'd0 : in_convw ? 3'd1 : in_convb ? 3'd2 :
                     in_fcw   ? 3'd3 : in_fcb   ? 3'd4 : 3'd7;
  wire [11:0] word = (in_convw || in_convb) ? {4'd0, obi_addr_i[9:2]} : {2'd0, obi_addr_i[11:2]};

  // ---------------------------------------------------------------- core
  reg         wr_en_q;   // a granted memory write, applied in the response cycle
  reg  [2:0]  wr_sel_q;
  reg  [11:0] wr_addr_q;
  reg  [31:0] wr_data_q;
  reg  [3:0]  wr_be_q;
  reg         start_q;   // a granted CTRL write of bit 0
  reg         rd_mem_q;  // the response reads a memory word (else csr_q)
  reg  [31:0] csr_q;     // the register word read, 0 for a write or an unmapped address

  wire        done, busy;
  wire [3:0]  class_idx;
  wire [31:0] mem_rdata;

  wire [31:0] csr_value = (csr_word == 10'd1) ? {30'd0, busy, done} :
                          (csr_word == 10'd2) ? {28'd0, class_idx} : 32'd0;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      wr_en_q   <= 1'b0;
      wr_sel_q  <= 3'd0;
      wr_addr_q <= 12'd0;
      wr_data_q <= 32'd0;
      wr_be_q   <= 4'd0;
      start_q   <= 1'b0;
      rd_mem_q  <= 1'b0;
      csr_q     <= 32'd0;
    end else begin
      wr_en_q <= accept && obi_we_i && in_mem;
      start_q <= accept && obi_we_i && in_csr && (csr_word == 10'd0) && obi_be_i[0] &&
                 obi_wdata_i[0];
      if (accept) begin
        wr_sel_q  <= sel;
        wr_addr_q <= word;
        wr_data_q <= obi_wdata_i;
        wr_be_q   <= obi_be_i;
        rd_mem_q  <= !obi_we_i && in_mem;
        csr_q     <= (!obi_we_i && in_csr) ? csr_value : 32'd0;
      end
    end
  end

  hs_core #(
    .Fault(Fault)
  ) u_core (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .wr_en_i  (wr_en_q),
    .wr_sel_i (wr_sel_q),
    .wr_addr_i(wr_addr_q),
    .wr_data_i(wr_data_q),
    .wr_be_i  (wr_be_q),
    .rd_sel_i (sel),        // read in the address phase, the word arrives with rvalid
    .rd_addr_i(word),
    .rd_data_o(mem_rdata),
    .start_i  (start_q),
    .done_o   (done),
    .busy_o   (busy),
    .class_o  (class_idx)
  );

  assign obi_rvalid_o = pending_q;
  assign obi_rdata_o  = !pending_q ? 32'd0 : rd_mem_q ? mem_rdata : csr_q;

endmodule
