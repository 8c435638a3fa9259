// ma_ram: simple dual-port synchronous RAM, Depth words of Width bits, one write port
// and one read port. A word is written on the rising edge when wr_en is high; the read
// port is registered: rd_data holds mem[rd_addr] from the edge after rd_addr was
// presented (latency 1 cycle). Reading the address written in the same cycle returns the
// old word. No reset: every word is written before it is read (see ma_conv / ma_fc).
module ma_ram #(
  parameter integer Width = 8,
  parameter integer Depth = 224,
  parameter integer AddrW = $clog2(Depth)
) (
  input  wire             clock,
  input  wire             wr_en,
  input  wire [AddrW-1:0] wr_addr,
  input  wire [Width-1:0] wr_data,
  input  wire [AddrW-1:0] rd_addr,
  output wire [Width-1:0] rd_data
);

  reg [Width-1:0] mem [0:Depth-1];
  reg [Width-1:0] rd_data_q;

  always @(posedge clock) begin
    if (wr_en) mem[wr_addr] <= wr_data;
    rd_data_q <= mem[rd_addr];
  end

  assign rd_data = rd_data_q;

endmodule
