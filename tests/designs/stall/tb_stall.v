// tb_stall: Icarus (-g2012) testbench comparing mnist_accel (tests/designs/stall) with the
// project's cnn_top (rtl/) beat for beat: every conv1, pool1 and fc1 beat and every class.
//
// Plusargs:
//   +pixels=FILE      $readmemh file of images*784 pixel bytes (make_pixels.py), required
//   +images=N         number of images (default 1, at most MaxImages)
//   +weights=DIR      cnn_top's weight directory (rtl layout)
//   +WEIGHT_DIR=DIR2  mnist_accel's weight directory (make_weights.py layout)
//   +bubble_pct=P     chance in percent that s_pix_tvalid stays low in a cycle in which the
//                     testbench may change it (default 25; 0 = valid whenever possible)
//   +seed=S           random seed (default 1)
//   +max_errors=M     mismatch lines printed before going quiet (default 20)
//
// Stimulus: AXI-stream rules: once s_pix_tvalid is high it stays high with stable data
// until accepted; while it is low s_pix_tdata carries random bytes. cnn_top is fed in
// lockstep with pixel_valid_i = tvalid && tready, i.e. exactly the accepted pixels, at the
// edge mnist_accel accepts them (mnist_accel's stalls are bubbles for cnn_top). Reference
// beats therefore always come first; they are queued and each mnist_accel beat is compared
// with the oldest queued beat of its layer (conv1 lanes sign-extended 14 -> 16 bits, fc1
// 23 -> 32 bits, pool1 and class as they are).
//
// Checks beyond equality: a mnist_accel beat without a reference beat; valid strobes high
// for two cycles in a row; at each class strobe, exactly 484*i conv1, 121*i pool1 and i fc1
// beats so far (i = images so far, fc1 strictly before the class); at the end, empty
// queues and all pixels accepted. Prints statistics (cycles per image, the longest
// s_pix_tready-low stretch) and a final "tb_stall: PASS" or "tb_stall: FAIL" line.
module tb_stall;

  parameter integer MaxImages = 2000;
  parameter integer Pixels    = 784;
  parameter integer ConvBeats = 484;
  parameter integer PoolBeats = 121;
  parameter integer Channels  = 3;
  parameter integer Classes   = 10;
  parameter integer QDepth    = 64;
  parameter integer Watchdog  = 60000;  // allowed cycles per image

  reg        clock   = 1'b0;
  reg        reset_n = 1'b0;
  reg        tvalid  = 1'b0;
  reg  [7:0] tdata   = 8'd0;
  wire       tready;
  wire       cls_valid;
  wire [3:0] cls_data;

  always #5 clock = ~clock;

  mnist_accel u_ma (
    .clock       (clock),
    .reset_n     (reset_n),
    .s_pix_tvalid(tvalid),
    .s_pix_tdata (tdata),
    .s_pix_tready(tready),
    .m_cls_valid (cls_valid),
    .m_cls_data  (cls_data)
  );

  wire         ref_conv_valid, ref_pool_valid, ref_fc_valid, ref_cls_valid;
  wire [41:0]  ref_conv_data;
  wire [38:0]  ref_pool_data;
  wire [229:0] ref_fc_data;
  wire [3:0]   ref_cls_data;

  cnn_top u_ref (
    .clk_i        (clock),
    .rst_ni       (reset_n),
    .pixel_valid_i(tvalid && tready),
    .pixel_i      (tdata),
    .conv1_valid_o(ref_conv_valid),
    .conv1_data_o (ref_conv_data),
    .pool1_valid_o(ref_pool_valid),
    .pool1_data_o (ref_pool_data),
    .fc1_valid_o  (ref_fc_valid),
    .fc1_data_o   (ref_fc_data),
    .class_valid_o(ref_cls_valid),
    .class_o      (ref_cls_data)
  );

  // ---- both sides of every tap, in one common format ---------------------------------
  wire         dut_conv_valid = u_ma.u_conv.conv_valid_q;
  wire         dut_pool_valid = u_ma.u_pool.pool_valid_q;
  wire         dut_fc_valid   = u_ma.u_fc.logit_valid_q;
  wire [47:0]  dut_conv, exp_conv;
  wire [38:0]  dut_pool = u_ma.u_pool.pool_q;
  wire [319:0] dut_fc, exp_fc;

  genvar g;
  generate
    for (g = 0; g < Channels; g = g + 1) begin : g_conv_lane
      assign dut_conv[16*g +: 16] = u_ma.u_conv.conv_q[g];
      assign exp_conv[16*g +: 16] = {{2{ref_conv_data[14*g+13]}}, ref_conv_data[14*g +: 14]};
    end
    for (g = 0; g < Classes; g = g + 1) begin : g_fc_lane
      assign dut_fc[32*g +: 32] = u_ma.u_fc.logit_q[g];
      assign exp_fc[32*g +: 32] = {{9{ref_fc_data[23*g+22]}}, ref_fc_data[23*g +: 23]};
    end
  endgenerate

  // ---- plusargs and pixels ---------------------------------------------------------------
  reg [7:0]        pixels [0:MaxImages*Pixels-1];
  reg [8*1024-1:0] pix_file;
  integer          images, total, bubble_pct, seed, max_errors;

  initial begin
    if (!$value$plusargs("pixels=%s", pix_file)) begin
      $display("tb_stall: ERROR: +pixels=FILE is required");
      $display("tb_stall: FAIL");
      $finish;
    end
    if (!$value$plusargs("images=%d", images)) images = 1;
    if (!$value$plusargs("bubble_pct=%d", bubble_pct)) bubble_pct = 25;
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    if (!$value$plusargs("max_errors=%d", max_errors)) max_errors = 20;
    if (images < 1 || images > MaxImages) begin
      $display("tb_stall: ERROR: +images=%0d is not in 1..%0d", images, MaxImages);
      $display("tb_stall: FAIL");
      $finish;
    end
    total = images * Pixels;
    $readmemh(pix_file, pixels, 0, total - 1);
    $display("tb_stall: %0d images, bubble_pct %0d, seed %0d", images, bubble_pct, seed);
  end

  // ---- stimulus --------------------------------------------------------------------------
  integer cycle = 0;  // index of the current rising edge
  integer next  = 0;  // pixels put on the stream so far
  integer rnd;

  always @(posedge clock) begin
    cycle   <= cycle + 1;
    reset_n <= (cycle >= 3);
    if (reset_n && (!tvalid || tready)) begin  // nothing pending (or accepted at this edge)
      rnd = $random(seed);
      if (next < total && (rnd & 32'h7fff_ffff) % 100 >= bubble_pct) begin
        tvalid <= 1'b1;
        tdata  <= pixels[next];
        next    = next + 1;
      end else begin
        tvalid <= 1'b0;
        tdata  <= rnd[15:8];  // garbage while not valid
      end
    end
  end

  // ---- reference queues --------------------------------------------------------------------
  reg [47:0]  q_conv [0:QDepth-1];
  reg [38:0]  q_pool [0:QDepth-1];
  reg [319:0] q_fc   [0:QDepth-1];
  reg [3:0]   q_cls  [0:QDepth-1];
  integer     ref_conv_n = 0, ref_pool_n = 0, ref_fc_n = 0, ref_cls_n = 0;  // pushed
  integer     dut_conv_n = 0, dut_pool_n = 0, dut_fc_n = 0, dut_cls_n = 0;  // popped
  integer     errors = 0;
  integer     k;

  task report(input [8*64-1:0] what);
    begin
      errors = errors + 1;
      if (errors <= max_errors) $display("tb_stall: MISMATCH at cycle %0d: %0s", cycle, what);
      if (errors == max_errors + 1) $display("tb_stall: (further mismatch lines suppressed)");
    end
  endtask

  // ---- statistics ----------------------------------------------------------------------------
  integer first_cycle = -1, last_cls_cycle = -1, per_img, per_min = 1 << 30, per_max = 0;
  integer low_run = 0, low_max = 0, win_low_max = 0, run_has_cls = 0;
  integer accepted = 0;
  // latencies in cycles from the edge accepting the completing pixel to the edge sampling the
  // strobe (the rtl/ docs' "pixel in cycle t -> strobe in cycle t+L"): conv1 beats, and fc1 /
  // class / s_pix_tready high again after an image's last pixel; min/max over the run
  integer last_accept = 0, img_end = 0, wait_ready = 0;
  integer lat_min [0:3], lat_max [0:3];
  initial for (k = 0; k < 4; k = k + 1) begin lat_min[k] = 1 << 30; lat_max[k] = -1; end
  task note_latency(input integer tap, input integer lat);
    begin
      if (lat < lat_min[tap]) lat_min[tap] = lat;
      if (lat > lat_max[tap]) lat_max[tap] = lat;
    end
  endtask
  reg     prev_conv = 1'b0, prev_pool = 1'b0, prev_fc = 1'b0, prev_cls = 1'b0;

  always @(posedge clock) begin
    if (reset_n) begin
      if (first_cycle < 0) first_cycle = cycle;
      if (wait_ready && tready) begin note_latency(3, cycle - img_end); wait_ready = 0; end
      if (dut_conv_valid) note_latency(0, cycle - last_accept);  // before this edge's accept
      if (tvalid && tready) begin
        accepted = accepted + 1;
        last_accept = cycle;
        if (accepted % Pixels == 0) img_end = cycle;
      end
      if (dut_fc_valid) note_latency(1, cycle - img_end);
      if (cls_valid) begin note_latency(2, cycle - img_end); wait_ready = 1; end
      // ready-low stretches (cycles), split into those ending an image and the others
      if (!tready) begin
        low_run = low_run + 1;
        if (cls_valid) run_has_cls = 1;
      end else if (low_run > 0) begin
        if (low_run > low_max) low_max = low_run;
        if (!run_has_cls && low_run > win_low_max) win_low_max = low_run;
        low_run = 0;
        run_has_cls = 0;
      end

      // reference beats first: they are never later than mnist_accel's
      if (ref_conv_valid) begin q_conv[ref_conv_n % QDepth] = exp_conv;     ref_conv_n = ref_conv_n + 1; end
      if (ref_pool_valid) begin q_pool[ref_pool_n % QDepth] = ref_pool_data; ref_pool_n = ref_pool_n + 1; end
      if (ref_fc_valid)   begin q_fc[ref_fc_n % QDepth]     = exp_fc;       ref_fc_n = ref_fc_n + 1;     end
      if (ref_cls_valid)  begin q_cls[ref_cls_n % QDepth]   = ref_cls_data; ref_cls_n = ref_cls_n + 1;   end
      if (ref_conv_n - dut_conv_n > QDepth || ref_pool_n - dut_pool_n > QDepth ||
          ref_fc_n - dut_fc_n > QDepth || ref_cls_n - dut_cls_n > QDepth)
        report("reference queue overflow (mnist_accel beats missing)");

      if (dut_conv_valid && prev_conv) report("conv_valid_q high for two cycles in a row");
      if (dut_pool_valid && prev_pool) report("pool_valid_q high for two cycles in a row");
      if (dut_fc_valid && prev_fc)     report("logit_valid_q high for two cycles in a row");
      if (cls_valid && prev_cls)       report("m_cls_valid high for two cycles in a row");
      prev_conv = dut_conv_valid;
      prev_pool = dut_pool_valid;
      prev_fc   = dut_fc_valid;
      prev_cls  = cls_valid;

      // class strobe: counts of this and earlier images' beats seen before this edge
      if (cls_valid) begin
        if (dut_conv_n != ConvBeats * (dut_cls_n + 1) || dut_pool_n != PoolBeats * (dut_cls_n + 1) ||
            dut_fc_n != dut_cls_n + 1) begin
          report("beat counts at the class strobe");
          if (errors <= max_errors)
            $display("tb_stall:   image %0d: %0d conv1, %0d pool1, %0d fc1 beats so far (want %0d, %0d, %0d)",
                     dut_cls_n, dut_conv_n, dut_pool_n, dut_fc_n, ConvBeats * (dut_cls_n + 1),
                     PoolBeats * (dut_cls_n + 1), dut_cls_n + 1);
        end
        if (dut_cls_n >= ref_cls_n) report("class strobe without a reference class");
        else if (cls_data !== q_cls[dut_cls_n % QDepth]) begin
          report("class");
          if (errors <= max_errors)
            $display("tb_stall:   image %0d: class %0d, reference %0d", dut_cls_n, cls_data,
                     q_cls[dut_cls_n % QDepth]);
        end
        per_img = cycle - ((last_cls_cycle < 0) ? first_cycle : last_cls_cycle);
        if (dut_cls_n > 0 && per_img < per_min) per_min = per_img;
        if (dut_cls_n > 0 && per_img > per_max) per_max = per_img;
        if (dut_cls_n == 0) $display("tb_stall: image 0: class %0d after %0d cycles", cls_data, per_img);
        last_cls_cycle = cycle;
        dut_cls_n = dut_cls_n + 1;
      end

      if (dut_conv_valid) begin
        if (dut_conv_n >= ref_conv_n) report("conv1 beat without a reference beat");
        else if (dut_conv !== q_conv[dut_conv_n % QDepth]) begin
          report("conv1");
          if (errors <= max_errors)
            $display("tb_stall:   image %0d conv1 (%0d,%0d): got %0d %0d %0d, reference %0d %0d %0d",
                     dut_conv_n / ConvBeats, (dut_conv_n % ConvBeats) / 22, dut_conv_n % 22,
                     $signed(dut_conv[0 +: 16]), $signed(dut_conv[16 +: 16]), $signed(dut_conv[32 +: 16]),
                     $signed(q_conv[dut_conv_n % QDepth][0 +: 16]),
                     $signed(q_conv[dut_conv_n % QDepth][16 +: 16]),
                     $signed(q_conv[dut_conv_n % QDepth][32 +: 16]));
        end
        dut_conv_n = dut_conv_n + 1;
      end

      if (dut_pool_valid) begin
        if (dut_pool_n >= ref_pool_n) report("pool1 beat without a reference beat");
        else if (dut_pool !== q_pool[dut_pool_n % QDepth]) begin
          report("pool1");
          if (errors <= max_errors)
            $display("tb_stall:   image %0d pool1 (%0d,%0d): got %0d %0d %0d, reference %0d %0d %0d",
                     dut_pool_n / PoolBeats, (dut_pool_n % PoolBeats) / 11, dut_pool_n % 11,
                     dut_pool[0 +: 13], dut_pool[13 +: 13], dut_pool[26 +: 13],
                     q_pool[dut_pool_n % QDepth][0 +: 13], q_pool[dut_pool_n % QDepth][13 +: 13],
                     q_pool[dut_pool_n % QDepth][26 +: 13]);
        end
        dut_pool_n = dut_pool_n + 1;
      end

      if (dut_fc_valid) begin
        if (dut_fc_n >= ref_fc_n) report("fc1 beat without a reference beat");
        else if (dut_fc !== q_fc[dut_fc_n % QDepth]) begin
          report("fc1");
          if (errors <= max_errors)
            for (k = 0; k < Classes; k = k + 1)
              $display("tb_stall:   image %0d fc1[%0d]: got %0d, reference %0d", dut_fc_n, k,
                       $signed(dut_fc[32*k +: 32]), $signed(q_fc[dut_fc_n % QDepth][32*k +: 32]));
        end
        dut_fc_n = dut_fc_n + 1;
      end

      if (dut_cls_n == images && cls_valid) finish_run;
      if (cycle > images * Watchdog + 10000) begin
        $display("tb_stall: ERROR: watchdog expired after %0d cycles (%0d of %0d classes)",
                 cycle, dut_cls_n, images);
        errors = errors + 1;
        finish_run;
      end
    end
  end

  task finish_run;
    begin
      if (ref_conv_n != dut_conv_n || ref_pool_n != dut_pool_n || ref_fc_n != dut_fc_n ||
          ref_cls_n != dut_cls_n) begin
        errors = errors + 1;
        $display("tb_stall: ERROR: beat counts differ: conv1 %0d/%0d pool1 %0d/%0d fc1 %0d/%0d class %0d/%0d (mnist_accel/cnn_top)",
                 dut_conv_n, ref_conv_n, dut_pool_n, ref_pool_n, dut_fc_n, ref_fc_n, dut_cls_n, ref_cls_n);
      end
      if (accepted != total) begin
        errors = errors + 1;
        $display("tb_stall: ERROR: %0d of %0d pixels accepted", accepted, total);
      end
      $display("tb_stall: beats compared: conv1 %0d, pool1 %0d, fc1 %0d, class %0d",
               dut_conv_n, dut_pool_n, dut_fc_n, dut_cls_n);
      $display("tb_stall: cycles: %0d from reset release to the last class; per image (class to class) min %0d max %0d",
               cycle - first_cycle, per_min, per_max);
      $display("tb_stall: longest s_pix_tready-low stretch: %0d cycles (end of image), %0d cycles (within an image)",
               low_max, win_low_max);
      $display("tb_stall: latency (cycles, min/max): conv1 %0d/%0d after its completing pixel; after an image's last pixel fc1 %0d/%0d class %0d/%0d s_pix_tready %0d/%0d",
               lat_min[0], lat_max[0], lat_min[1], lat_max[1], lat_min[2], lat_max[2], lat_min[3], lat_max[3]);
      if (errors == 0) $display("tb_stall: PASS (%0d images)", images);
      else             $display("tb_stall: FAIL (%0d errors)", errors);
      $finish;
    end
  endtask

endmodule
