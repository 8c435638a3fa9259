// lenet5_ram: simple dual-port synchronous RAM of Depth words, Bytes byte lanes per word,
// one write port with a write enable per byte lane and one read port. Each lane is its own
// memory array (so yosys infers Bytes plain RAMs without bit-enable emulation). The read is
// registered: rdata_o holds the word at raddr_i from the edge after raddr_i was presented;
// reading the word written in the same cycle returns the old word. No reset: the host
// writes every word before an inference reads it (unwritten words are masked or unused).
// Latency: 1 cycle (raddr_i -> rdata_o).
module lenet5_ram #(
  parameter integer Bytes = 1,
  parameter integer Depth = 128,
  parameter integer AddrW = 7
) (
  input  wire               clk_i,
  input  wire [Bytes-1:0]   we_i,     // lane b of waddr_i takes wdata_i[8b +: 8]
  input  wire [AddrW-1:0]   waddr_i,
  input  wire [8*Bytes-1:0] wdata_i,
  input  wire [AddrW-1:0]   raddr_i,
  output wire [8*Bytes-1:0] rdata_o
);

  genvar b;
  generate
    for (b = 0; b < Bytes; b = b + 1) begin : g_lane
      reg [7:0] mem_q [0:Depth-1];
      reg [7:0] rdata_q;
      always @(posedge clk_i) begin
        if (we_i[b]) mem_q[waddr_i] <= wdata_i[8*b +: 8];
        rdata_q <= mem_q[raddr_i];
      end
      assign rdata_o[8*b +: 8] = rdata_q;
    end
  endgenerate

endmodule
