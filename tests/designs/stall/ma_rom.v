// ma_rom: read-only table of Depth DataW-bit words (two's-complement weights, two hex
// digits per token) loaded with $readmemh from "<dir>/<FileName>", where <dir> is the
// simulation plusarg +WEIGHT_DIR=<dir>, else the parameter WeightDir. Ports registered
// read ports: rd_data[p] = rom[rd_addr[p]] from the edge after rd_addr[p] was presented
// (latency 1 cycle); a constant address gives a constant word from the first edge on.
//
// Simulation (SYNTHESIS not defined): the file is first read into a probe array whose
// words are pre-filled with a sentinel bit above the data (a DataW-bit token never sets
// it); if any word still carries it, the file is missing or short and the simulation
// stops with $fatal naming the file. Synthesis only sees $readmemh of WeightDir.
module ma_rom #(
  parameter         WeightDir = "weights",
  parameter         FileName  = "weights.mem",
  parameter integer Depth     = 49,
  parameter integer Ports     = 1,
  parameter integer AddrW     = (Depth > 1) ? $clog2(Depth) : 1,
  parameter integer DataW     = 8
) (
  input  wire                   clock,
  input  wire [Ports*AddrW-1:0] rd_addr,
  output wire [Ports*DataW-1:0] rd_data
);

  reg [DataW-1:0] rom [0:Depth-1];

  genvar p;
  generate
    for (p = 0; p < Ports; p = p + 1) begin : g_port
      reg [DataW-1:0] data_q;
      always @(posedge clock) data_q <= rom[rd_addr[p*AddrW +: AddrW]];
      assign rd_data[p*DataW +: DataW] = data_q;
    end
  endgenerate

`ifndef SYNTHESIS
  reg [DataW:0]    probe [0:Depth-1];  // bit DataW: "not loaded" sentinel
  reg [8*1024-1:0] dir;
  reg [8*1024-1:0] path;
  integer          i;
  integer          loaded;
  initial begin
    for (i = 0; i < Depth; i = i + 1) probe[i] = {1'b1, {DataW{1'b0}}};
    if (!$value$plusargs("WEIGHT_DIR=%s", dir)) $sformat(dir, "%0s", WeightDir);
    $sformat(path, "%0s/%0s", dir, FileName);
    $readmemh(path, probe);
    loaded = 0;
    for (i = 0; i < Depth; i = i + 1) if (!probe[i][DataW]) loaded = loaded + 1;
    if (loaded != Depth) begin
      $display("ma_rom: ERROR: weight file '%0s' is missing or short (%0d of %0d values loaded)",
               path, loaded, Depth);
      $fatal(1, "ma_rom: cannot load '%0s'", path);
    end
    for (i = 0; i < Depth; i = i + 1) rom[i] = probe[i][DataW-1:0];
  end
`else
  initial $readmemh({WeightDir, "/", FileName}, rom);
`endif

endmodule
