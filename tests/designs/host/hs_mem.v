// hs_mem: a memory the host loads, Words 32-bit words, with one byte-enabled word write
// port (the bus side), Ports registered byte read ports (the engine side) and one
// registered word read port (read-back over the bus).
//
// Write: in a cycle with we_i high and wr_addr_i < Words, byte lane b of word wr_addr_i
// takes wr_data_i[8b +: 8] where wr_be_i[b] is set (little-endian: byte address 4w + b);
// a word address at or beyond Words is ignored.
// Byte read port p: rd_data_o[8p +: 8] is byte rd_addr_i[p*ByteAW +: ByteAW] (byte address
// 4w + b is lane b of word w), registered: it holds the byte from the edge after the address
// was presented (latency 1 cycle). Word read: rd_word_o holds word rd_word_addr_i (0 at
// or beyond Words), latency 1 cycle. A read of a word written at the same edge returns the
// old contents. No reset and no initial contents: the host writes every byte the engine
// reads before it starts the engine.
module hs_mem #(
  parameter integer Words  = 196,
  parameter integer Ports  = 1,
  parameter integer AddrW  = 12,                // bus word address width
  parameter integer WordAW = $clog2(Words),     // index width of the array
  parameter integer ByteAW = WordAW + 2         // engine byte address width
) (
  input  wire                    clk_i,
  input  wire                    we_i,
  input  wire [AddrW-1:0]        wr_addr_i,
  input  wire [31:0]             wr_data_i,
  input  wire [3:0]              wr_be_i,
  input  wire [Ports*ByteAW-1:0] rd_addr_i,
  output wire [Ports*8-1:0]      rd_data_o,
  input  wire [AddrW-1:0]        rd_word_addr_i,
  output wire [31:0]             rd_word_o
);

  localparam [AddrW-1:0] WordsA = Words[AddrW-1:0];  // Words < 2^AddrW

  reg [31:0] mem_q [0:Words-1];

  wire wr_ok = we_i && (wr_addr_i < WordsA);
  integer b;

  always @(posedge clk_i) begin
    for (b = 0; b < 4; b = b + 1) begin
      if (wr_ok && wr_be_i[b]) mem_q[wr_addr_i[WordAW-1:0]][8*b +: 8] <= wr_data_i[8*b +: 8];
    end
  end

  // ---------------------------------------------------------------- engine byte ports
  genvar p;
  generate
    for (p = 0; p < Ports; p = p + 1) begin : g_port
      wire [ByteAW-1:0] addr = rd_addr_i[p*ByteAW +: ByteAW];
      wire [31:0]       word = mem_q[addr[ByteAW-1:2]];
      reg  [7:0]        byte_q;

      always @(posedge clk_i) byte_q <= word[8*addr[1:0] +: 8];

      assign rd_data_o[8*p +: 8] = byte_q;
    end
  endgenerate

  // ---------------------------------------------------------------- bus read-back port
  reg [31:0] word_q;

  always @(posedge clk_i) begin
    word_q <= (rd_word_addr_i < WordsA) ? mem_q[rd_word_addr_i[WordAW-1:0]] : 32'd0;
  end

  assign rd_word_o = word_q;

endmodule
