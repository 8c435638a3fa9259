// fr_weight_rom: read-only table of signed 8-bit weights, loaded with $readmemh from the
// FIXED file name FileName, relative to the simulator's current working directory (no
// directory, no plusarg): the notebook's .mem format, two hex digits per token, two's
// complement. NumPorts independent read ports; port p returns the token at address
// addr_i[p]. Reads are combinational (latency 0); users register them.
// (Copied from rtl/cnn_weight_rom.v; only the file location differs.)
//
// In simulation every word is pre-filled with a sentinel in bit 8 (a two-digit token can
// never set it); any word still carrying it after loading means the file is missing or
// short, and the simulation stops with $fatal naming the file. Synthesis (SYNTHESIS
// defined) only sees the plain $readmemh of FileName.
module fr_weight_rom #(
  parameter         FileName = "weights.mem",
  parameter integer Depth    = 49,
  parameter integer NumPorts = 1,
  parameter integer AddrW    = 6
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
  integer i;
  integer loaded;
  initial begin
    for (i = 0; i < Depth; i = i + 1) rom[i] = 9'h100;
    $readmemh(FileName, rom);
    loaded = 0;
    for (i = 0; i < Depth; i = i + 1) if (!rom[i][8]) loaded = loaded + 1;
    if (loaded != Depth) begin
      $display("fr_weight_rom: ERROR: weight file '%0s' (working directory) is missing or short",
               FileName);
      $display("fr_weight_rom:   (%0d of %0d tokens loaded)", loaded, Depth);
      $fatal(1, "fr_weight_rom: cannot load '%0s'", FileName);
    end
  end
`else
  initial $readmemh(FileName, rom);
`endif

endmodule
