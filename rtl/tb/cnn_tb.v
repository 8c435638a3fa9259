// cnn_tb: file-driven testbench for cnn_top (Icarus -g2012 and Verilator --timing).
//
// Plusargs:
//   +weights=DIR   weight directory (read by the DUT's ROMs themselves)
//   +pixels=FILE   $readmemh file of images*784 pixel bytes, raster order
//   +images=N      number of images in FILE (<= MaxImages)
//   +out=FILE      tap log, one line per beat:
//                    conv1 <k0> <k1> <k2>      (signed decimal)
//                    pool1 <k0> <k1> <k2>
//                    fc1 <o0> ... <o9>         (signed decimal)
//                    class <c>
//                  and finally "cycles <clock cycles from reset release to last class>"
//   +bubbles       idle pixel_valid_i pseudo-randomly (LFSR) between pixels
//   +seed=N        LFSR seed for +bubbles (non-zero)
// All images are streamed back-to-back after a single reset. Per image, stdout gets
// the cycle index of its last pixel and of its class strobe (the latency).
module cnn_tb;

  parameter integer MaxImages  = 2000;
  parameter integer Pixels     = 784;
  parameter integer Watchdog   = 4;  // allowed cycles per pixel on average

  reg         clk = 1'b0;
  reg         rst_n = 1'b0;
  reg         pixel_valid = 1'b0;
  reg  [7:0]  pixel = 8'd0;

  wire        conv1_valid, pool1_valid, fc1_valid, class_valid;
  wire [41:0] conv1_data;
  wire [38:0] pool1_data;
  wire [229:0] fc1_data;
  wire [3:0]  class_idx;

  cnn_top u_dut (
    .clk_i        (clk),
    .rst_ni       (rst_n),
    .pixel_valid_i(pixel_valid),
    .pixel_i      (pixel),
    .conv1_valid_o(conv1_valid),
    .conv1_data_o (conv1_data),
    .pool1_valid_o(pool1_valid),
    .pool1_data_o (pool1_data),
    .fc1_valid_o  (fc1_valid),
    .fc1_data_o   (fc1_data),
    .class_valid_o(class_valid),
    .class_o      (class_idx)
  );

  always #5 clk = ~clk;

  reg [7:0]        pixels [0:MaxImages*Pixels-1];
  reg [8*1024-1:0] pix_file;
  reg [8*1024-1:0] out_file;
  integer          images;
  integer          bubbles;
  integer          seed;
  integer          fd;
  integer          total;

  initial begin
    if (!$value$plusargs("pixels=%s", pix_file)) begin
      $display("cnn_tb: ERROR: +pixels=FILE is required");
      $finish;
    end
    if (!$value$plusargs("out=%s", out_file)) $sformat(out_file, "%0s", "cnn_tb.out");
    if (!$value$plusargs("images=%d", images)) images = 1;
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    bubbles = $test$plusargs("bubbles");
    if (images > MaxImages) begin
      $display("cnn_tb: ERROR: +images=%0d exceeds MaxImages=%0d", images, MaxImages);
      $finish;
    end
    total = images * Pixels;
    $readmemh(pix_file, pixels, 0, total - 1);
    fd = $fopen(out_file, "w");
    if (fd == 0) begin
      $display("cnn_tb: ERROR: cannot open %0s", out_file);
      $finish;
    end
  end

  // --- stimulus: everything on the rising edge, nonblocking -----------------------
  integer    cycle = 0;       // index of the current rising edge
  integer    sent = 0;        // pixels handed to the DUT so far
  reg [15:0] lfsr = 16'hACE1;
  integer    last_pixel_cycle [0:MaxImages-1];
  integer    pixel_edge [0:Pixels-1];  // edge at which pixel n of the current image is sampled

  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (cycle == 0) lfsr <= seed[15:0] ^ 16'hACE1;
    else            lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
    rst_n <= (cycle >= 3);
    // the pixel presented in cycle N is sampled by the DUT at edge N+1
    if (rst_n && sent < total && !(bubbles != 0 && lfsr[2:0] < 3'd3)) begin
      pixel_valid <= 1'b1;
      pixel       <= pixels[sent];
      sent        <= sent + 1;
      pixel_edge[sent % Pixels] = cycle + 1;
      if ((sent % Pixels) == Pixels - 1) last_pixel_cycle[sent / Pixels] = cycle + 1;
    end else begin
      pixel_valid <= 1'b0;
    end
  end

  // --- monitor ---------------------------------------------------------------------
  integer classes = 0;
  integer first_cycle = -1;
  integer k;
  // latency of each tap, in cycles, from the edge that samples the pixel completing
  // the beat to the edge at which the beat is seen (min/max over the run)
  integer conv_n = 0, pool_n = 0;
  integer lat, lat_min [0:3], lat_max [0:3];
  initial for (k = 0; k < 4; k = k + 1) begin lat_min[k] = 1 << 30; lat_max[k] = -1; end
  task note_latency(input integer tap, input integer px);
    begin
      lat = cycle - pixel_edge[px];
      if (lat < lat_min[tap]) lat_min[tap] = lat;
      if (lat > lat_max[tap]) lat_max[tap] = lat;
    end
  endtask

  always @(posedge clk) begin
    if (rst_n && first_cycle < 0) first_cycle = cycle;
    if (conv1_valid) begin  // beat (r, c) is completed by pixel (r+6, c+6)
      note_latency(0, (conv_n / 22 + 6) * 28 + conv_n % 22 + 6);
      conv_n = (conv_n + 1) % 484;
    end
    if (pool1_valid) begin  // beat (r, c) is completed by pixel (2r+7, 2c+7)
      note_latency(1, (2 * (pool_n / 11) + 7) * 28 + 2 * (pool_n % 11) + 7);
      pool_n = (pool_n + 1) % 121;
    end
    if (fc1_valid) note_latency(2, Pixels - 1);
    if (class_valid) note_latency(3, Pixels - 1);
    if (conv1_valid)
      $fwrite(fd, "conv1 %0d %0d %0d\n", $signed(conv1_data[0 +: 14]),
              $signed(conv1_data[14 +: 14]), $signed(conv1_data[28 +: 14]));
    if (pool1_valid)
      $fwrite(fd, "pool1 %0d %0d %0d\n", pool1_data[0 +: 13], pool1_data[13 +: 13],
              pool1_data[26 +: 13]);
    if (fc1_valid) begin
      $fwrite(fd, "fc1");
      for (k = 0; k < 10; k = k + 1) $fwrite(fd, " %0d", $signed(fc1_data[23*k +: 23]));
      $fwrite(fd, "\n");
    end
    if (class_valid) begin
      $fwrite(fd, "class %0d\n", class_idx);
      $display("cnn_tb: image %0d class %0d last_pixel_edge %0d class_edge %0d latency %0d",
               classes, class_idx, last_pixel_cycle[classes], cycle,
               cycle - last_pixel_cycle[classes]);
      classes = classes + 1;
      if (classes == images) begin
        $fwrite(fd, "cycles %0d\n", cycle - first_cycle);
        $fclose(fd);
        $display("cnn_tb: done, %0d images in %0d cycles", images, cycle - first_cycle);
        $display("cnn_tb: latency (cycles, min/max) conv1 %0d/%0d pool1 %0d/%0d fc1 %0d/%0d class %0d/%0d",
                 lat_min[0], lat_max[0], lat_min[1], lat_max[1], lat_min[2], lat_max[2],
                 lat_min[3], lat_max[3]);
        $finish;
      end
    end
    if (cycle > images * Pixels * Watchdog + 1000) begin
      $display("cnn_tb: ERROR: watchdog expired after %0d cycles (%0d classes of %0d)",
               cycle, classes, images);
      $fclose(fd);
      $finish;
    end
  end

endmodule
