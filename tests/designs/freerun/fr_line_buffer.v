// fr_line_buffer: Lines rows of LineLen pixels each, indexed by column. For the
// pixel at column col_i, column_o presents the pixels of the Lines previous image
// rows at that column followed by the incoming pixel itself (oldest row in the
// lowest slice, incoming pixel in the highest). When valid_i is high the stored
// column shifts up by one row (the oldest pixel drops out, pixel_i enters).
// Latency: column_o is combinational from col_i / pixel_i; storage updates on
// the clock edge that accepts the pixel. No reset: contents are only consumed
// once Lines fresh rows have been written (see fr_window).
// (Copy of rtl/cnn_line_buffer.v with module names prefixed fr_.)
module fr_line_buffer #(
  parameter integer Lines   = 6,
  parameter integer LineLen = 28,
  parameter integer DataW   = 8,
  parameter integer ColW    = 5
) (
  input  wire                       clk_i,
  input  wire                       valid_i,
  input  wire [ColW-1:0]            col_i,
  input  wire [DataW-1:0]           pixel_i,
  output wire [(Lines+1)*DataW-1:0] column_o
);

  genvar l;
  generate
    for (l = 0; l < Lines; l = l + 1) begin : g_line
      reg  [DataW-1:0] mem [0:LineLen-1];
      // the row below this one (or the incoming pixel) moves up into this row
      wire [DataW-1:0] below = column_o[(l+1)*DataW +: DataW];
      assign column_o[l*DataW +: DataW] = mem[col_i];
      always @(posedge clk_i) begin
        if (valid_i) mem[col_i] <= below;
      end
    end
  endgenerate

  assign column_o[Lines*DataW +: DataW] = pixel_i;

endmodule
