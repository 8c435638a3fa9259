// requant_tb: lenet5_requant against vectors from requant_check.py, one per cycle.
// +vectors=FILE: $readmemh lines {acc (32 bits), M (32), s (8), expected y (8)}; +n=N.
// Prints "requant_tb: PASS n" or the first mismatches and "requant_tb: FAIL".
module requant_tb;
  parameter integer MaxN = 200000;
  reg clk = 1'b0;
  reg rst_n = 1'b0;
  always #5 clk = ~clk;

  reg  [79:0] vec [0:MaxN-1];
  reg         valid = 1'b0;
  reg  [31:0] acc = 32'd0;
  reg  [30:0] mult = 31'd0;
  reg  [5:0]  shift = 6'd0;
  wire        valid_o;
  wire [7:0]  data_o;

  lenet5_requant dut (
    .clk_i  (clk),
    .rst_ni (rst_n),
    .valid_i(valid),
    .acc_i  (acc),
    .mult_i (mult),
    .shift_i(shift),
    .valid_o(valid_o),
    .data_o (data_o)
  );

  integer n, i, got, errors;
  reg [1023:0] path;
  always @(posedge clk) begin
    if (valid_o) begin
      if (data_o !== vec[got][7:0]) begin
        errors = errors + 1;
        if (errors < 10)
          $display("requant_tb: acc %0d M %0d s %0d: got %0d, expected %0d",
                   $signed(vec[got][79:48]), vec[got][47:16], vec[got][15:8],
                   $signed(data_o), $signed(vec[got][7:0]));
      end
      got = got + 1;
    end
  end

  initial begin
    if (!$value$plusargs("vectors=%s", path)) $finish;
    if (!$value$plusargs("n=%d", n)) $finish;
    $readmemh(path, vec, 0, n - 1);
    got = 0; errors = 0;
    repeat (2) @(negedge clk);
    rst_n = 1'b1;
    for (i = 0; i < n; i = i + 1) begin
      @(negedge clk);
      valid = 1'b1;
      acc   = vec[i][79:48];
      mult  = vec[i][46:16];
      shift = vec[i][13:8];
    end
    @(negedge clk);
    valid = 1'b0;
    repeat (5) @(negedge clk);
    if (errors == 0 && got == n) $display("requant_tb: PASS %0d", n);
    else $display("requant_tb: FAIL (%0d errors, %0d of %0d results)", errors, got, n);
    $finish;
  end
endmodule
