// two_lane_top: the seed network behind a two-pixels-per-beat ready/valid input. Each
// accepted beat carries two raster-order pixels (the first in pix2_i[7:0], the second in
// pix2_i[15:8]); they enter the project's own cnn_top (rtl/, instantiated unchanged) on
// two consecutive clocks, so the input is ready at most every other cycle. No tap ports:
// the layers are read inside u_core. Latency: a beat accepted in cycle t presents its
// first pixel to u_core in t and its second in t+1; the class follows cnn_top's timing
// (docs/rtl.md) from the image's last pixel.
module two_lane_top #(
  parameter WeightsDir = "vectors/weights"  // cnn_top's $readmemh directory unless +weights=DIR
) (
  input  wire        clk_i,
  input  wire        rst_ni,       // synchronous, active low
  input  wire        in_valid_i,
  input  wire [15:0] pix2_i,       // two pixels: first at [7:0], second at [15:8]
  output wire        in_ready_o,   // a beat is accepted in a cycle with in_valid_i && in_ready_o
  output wire        class_valid_o,
  output wire [3:0]  class_o
);

  reg       second_valid_q;  // the second pixel of the last beat goes in this cycle
  reg [7:0] second_q;

  wire take = in_valid_i && in_ready_o;
  assign in_ready_o = !second_valid_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      second_valid_q <= 1'b0;
      second_q       <= 8'd0;
    end else begin
      second_valid_q <= take;
      if (take) second_q <= pix2_i[15:8];
    end
  end

  // The taps stay inside u_core (the binding reads them there); only the class leaves.
  /* verilator lint_off PINCONNECTEMPTY */
  cnn_top #(
    .WeightsDir(WeightsDir)
  ) u_core (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .pixel_valid_i(take || second_valid_q),
    .pixel_i      (take ? pix2_i[7:0] : second_q),
    .conv1_valid_o(),
    .conv1_data_o (),
    .pool1_valid_o(),
    .pool1_data_o (),
    .fc1_valid_o  (),
    .fc1_data_o   (),
    .class_valid_o(class_valid_o),
    .class_o      (class_o)
  );
  /* verilator lint_on PINCONNECTEMPTY */

endmodule
