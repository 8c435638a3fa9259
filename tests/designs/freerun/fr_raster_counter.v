// fr_raster_counter: row/column position of the next element of a Width x Height
// raster stream. Advances on every valid_i beat and wraps at the end of the frame,
// so frames may follow back-to-back with no reset between them.
// Latency: the position moves on the clock edge that accepts a beat.
// (Copy of rtl/cnn_raster_counter.v with module names prefixed fr_.)
module fr_raster_counter #(
  parameter integer Width  = 28,
  parameter integer Height = 28,
  parameter integer ColW   = $clog2(Width),
  parameter integer RowW   = $clog2(Height)
) (
  input  wire            clk_i,
  input  wire            rst_ni,
  input  wire            valid_i,
  output wire [ColW-1:0] col_o,
  output wire [RowW-1:0] row_o
);

  localparam integer    ColLastI = Width - 1;
  localparam integer    RowLastI = Height - 1;
  localparam [ColW-1:0] ColLast  = ColLastI[ColW-1:0];
  localparam [RowW-1:0] RowLast  = RowLastI[RowW-1:0];

  reg [ColW-1:0] col_q;
  reg [RowW-1:0] row_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      col_q <= {ColW{1'b0}};
      row_q <= {RowW{1'b0}};
    end else if (valid_i) begin
      if (col_q == ColLast) begin
        col_q <= {ColW{1'b0}};
        row_q <= (row_q == RowLast) ? {RowW{1'b0}} : row_q + 1'b1;
      end else begin
        col_q <= col_q + 1'b1;
      end
    end
  end

  assign col_o = col_q;
  assign row_o = row_q;

endmodule
