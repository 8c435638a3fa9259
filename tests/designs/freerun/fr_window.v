// fr_window: turns the raster pixel stream into K x K windows. Keeps the
// row/column position of the next pixel, a (K-1)-row fr_line_buffer and a
// K x K window register that shifts left by one column per accepted pixel.
// After the pixel at (r, c) is accepted, window_o holds x[r-K+1+i][c-K+1+j] at
// slice (i*K + j)*DataW, and valid_o is high for one cycle if r, c >= K-1.
// Latency: 1 cycle (valid_o / window_o are registered on the accepting edge).
// Positions wrap at the end of each image, so images may follow back-to-back;
// a window is only flagged valid once all K of its rows belong to this image.
// (Copy of rtl/cnn_window.v with module names prefixed fr_.)
module fr_window #(
  parameter integer K     = 7,
  parameter integer ImgW  = 28,
  parameter integer ImgH  = 28,
  parameter integer DataW = 8
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  input  wire                 valid_i,
  input  wire [DataW-1:0]     pixel_i,
  output wire                 valid_o,
  output wire [K*K*DataW-1:0] window_o
);

  localparam integer ColW = $clog2(ImgW);
  localparam integer RowW = $clog2(ImgH);
  localparam integer FirstFullI = K - 1;
  localparam [ColW-1:0] ColFirstFull = FirstFullI[ColW-1:0];
  localparam [RowW-1:0] RowFirstFull = FirstFullI[RowW-1:0];

  // position of the pixel being accepted
  wire [ColW-1:0] col;
  wire [RowW-1:0] row;
  reg             valid_q;

  fr_raster_counter #(
    .Width (ImgW),
    .Height(ImgH)
  ) u_pos (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(valid_i),
    .col_o  (col),
    .row_o  (row)
  );

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
    end else begin
      valid_q <= valid_i && (col >= ColFirstFull) && (row >= RowFirstFull);
    end
  end

  wire [K*DataW-1:0] column;

  fr_line_buffer #(
    .Lines  (K - 1),
    .LineLen(ImgW),
    .DataW  (DataW),
    .ColW   (ColW)
  ) u_line_buffer (
    .clk_i   (clk_i),
    .valid_i (valid_i),
    .col_i   (col),
    .pixel_i (pixel_i),
    .column_o(column)
  );

  // Window register: every row shifts left by one column, the new column enters
  // at j = K-1. Kept as one register (one update event per accepted pixel).
  wire [K*K*DataW-1:0] window_d;
  reg  [K*K*DataW-1:0] window_q;

  genvar i;
  generate
    for (i = 0; i < K; i = i + 1) begin : g_row
      assign window_d[i*K*DataW +: K*DataW] =
          {column[i*DataW +: DataW], window_q[i*K*DataW+DataW +: (K-1)*DataW]};
    end
  endgenerate

  always @(posedge clk_i) begin
    if (valid_i) window_q <= window_d;
  end

  assign window_o = window_q;
  assign valid_o = valid_q;

endmodule
