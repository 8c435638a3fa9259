// fr_pixel_gate: marks which cycles of the free-running pixel input carry the image.
// Cycle 0 is the first rising edge at which rst_ni is sampled high (the top's rst low).
// pixel_valid_o is high in the Pixels cycles that end at edges StartDelay .. StartDelay +
// Pixels - 1, so pixel n is sampled at edge StartDelay + n (pixel 0 at edge 3, pixel 783 at
// edge 786 for the defaults); afterwards it stays low until the next reset (the counters
// saturate, they do not wrap to a next image). pixel_valid_o is decoded from registers
// only (latency 0 with respect to the counters; no dependence on the pixel input).
module fr_pixel_gate #(
  parameter integer StartDelay = 3,
  parameter integer Pixels     = 784
) (
  input  wire clk_i,
  input  wire rst_ni,
  output wire pixel_valid_o
);

  localparam integer     WaitW = $clog2(StartDelay + 1);
  localparam integer     CntW  = $clog2(Pixels + 1);
  localparam [WaitW-1:0] Ready = StartDelay[WaitW-1:0];
  localparam [CntW-1:0]  Done  = Pixels[CntW-1:0];

  reg [WaitW-1:0] wait_q;  // edges since cycle 0, saturating at StartDelay
  reg [CntW-1:0]  cnt_q;   // pixels sampled so far, saturating at Pixels

  assign pixel_valid_o = (wait_q == Ready) && (cnt_q != Done);

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      wait_q <= {WaitW{1'b0}};
      cnt_q  <= {CntW{1'b0}};
    end else if (wait_q != Ready) begin
      wait_q <= wait_q + 1'b1;
    end else if (cnt_q != Done) begin
      cnt_q <= cnt_q + 1'b1;
    end
  end

endmodule
