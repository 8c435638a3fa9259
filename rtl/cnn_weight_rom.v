// cnn_weight_rom: read-only table of signed 8-bit weights, loaded with $readmemh
// from "<dir>/<FileName>" (the notebook's .mem format: two hex digits per token,
// two's complement). NumPorts independent read ports; port p returns the token at
// address addr_i[p]. Reads are combinational (latency 0); users register them.
//
// Directory: the simulation plusarg +weights=DIR, else the WeightsDir parameter.
// In simulation every word is pre-filled with a sentinel in bit 8 (a two-digit
// token can never set it); any word still carrying it after loading means the
// file is missing or short, and the simulation stops with $fatal naming the file.
// Synthesis (SYNTHESIS defined) only sees the plain $readmemh of WeightsDir.
module cnn_weight_rom #(
  parameter         WeightsDir = "vectors/weights",
  parameter         FileName   = "weights.mem",
  parameter integer Depth      = 49,
  parameter integer NumPorts   = 1,
  parameter integer AddrW      = 6
) (
  input  wire [NumPorts*AddrW-1:0] addr_i,
  output wire [NumPorts*8-1:0]     data_o
);

  // Bit 8 is the load sentinel; it is only inspected by the simulation-time check
  // below, never read by the datapath.
  /* verilator lint_off UNUSEDSIGNAL */
  reg [8:0] rom [0:Depth-1];
  /* verilator lint_on UNUSEDSIGNAL */

  genvar p;
  generate
    for (p = 0; p < NumPorts; p = p + 1) begin : g_port
      assign data_o[p*8 +: 8] = rom[addr_i[p*AddrW +: AddrW]][7:0];
    end
  endgenerate

`ifndef SYNTHESIS
  reg [8*1024-1:0] dir;
  reg [8*1024-1:0] path;
  integer          i;
  integer          loaded;
  initial begin
    for (i = 0; i < Depth; i = i + 1) rom[i] = 9'h100;
    if (!$value$plusargs("weights=%s", dir)) $sformat(dir, "%0s", WeightsDir);
    $sformat(path, "%0s/%0s", dir, FileName);
    $readmemh(path, rom);
    loaded = 0;
    for (i = 0; i < Depth; i = i + 1) if (!rom[i][8]) loaded = loaded + 1;
    if (loaded != Depth) begin
      $display("cnn_weight_rom: ERROR: weight file '%0s' is missing or short (%0d of %0d tokens loaded)",
               path, loaded, Depth);
      $fatal(1, "cnn_weight_rom: cannot load '%0s'", path);
    end
  end
`else
  initial $readmemh({WeightsDir, "/", FileName}, rom);
`endif

endmodule
