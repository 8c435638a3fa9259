// tb_freerun: Icarus (-g2012) testbench comparing freerun_top (tests/designs/freerun) with
// the project's cnn_top (rtl/) beat for beat: every conv1, pool1 and fc1 beat and every
// class. Run it in a directory holding the six weight files (freerun_top opens fixed names
// in the working directory; run.sh sets that up).
//
// Plusargs:
//   +pixels=FILE   $readmemh file of images*784 pixel bytes (../stall/make_pixels.py), required
//   +images=N      number of images (default 1, at most MaxImages)
//   +weights=DIR   cnn_top's weight directory
//   +seed=S        random seed (default 1)
//   +max_gap=G     idle edges between an image's done and the next reset: random 0..G
//                  (default 300; 0: rst is sampled high at the edge right after done)
//   +max_errors=M  mismatch lines printed before going quiet (default 20)
//
// Per image: rst is held high for 1..3 edges (4 before the first image), then released;
// with cycle 0 the first edge sampling rst low, pixel n is driven on px so that it is
// sampled at edge 3 + n. At every other edge px carries random bytes, so a design that
// samples at other edges, or keeps sampling after pixel 783, produces wrong or extra
// beats. cnn_top (reset once, images back-to-back with gaps) gets the same pixels with
// pixel_valid_i at the same edges, so both designs' strobes must coincide: that is
// checked ("timing"), and the data of each freerun_top beat is compared with the oldest
// queued reference beat of its layer. At each done: 484*i conv1, 121*i pool1, i fc1 beats
// so far. Ends with "tb_freerun: PASS" or "tb_freerun: FAIL".
module tb_freerun;

  parameter integer MaxImages  = 2000;
  parameter integer Pixels     = 784;
  parameter integer StartDelay = 3;  // pixel 0 is sampled at edge 3 after cycle 0
  parameter integer ConvBeats  = 484;
  parameter integer PoolBeats  = 121;
  parameter integer QDepth     = 64;

  reg        clk = 1'b0;
  reg        rst = 1'b1;
  reg  [7:0] px  = 8'd0;
  wire       done;
  wire [3:0] label;
  wire         c1_v, p1_v, f1_v;
  wire [41:0]  c1_d;
  wire [38:0]  p1_d;
  wire [229:0] f1_d;

  always #5 clk = ~clk;

  freerun_top u_dut (
    .clk  (clk),
    .rst  (rst),
    .px   (px),
    .done (done),
    .label(label),
    .c1_v (c1_v),
    .c1_d (c1_d),
    .p1_v (p1_v),
    .p1_d (p1_d),
    .f1_v (f1_v),
    .f1_d (f1_d)
  );

  reg          ref_rst_n = 1'b0;
  reg          ref_valid = 1'b0;
  reg  [7:0]   ref_px    = 8'd0;
  wire         ref_conv_valid, ref_pool_valid, ref_fc_valid, ref_cls_valid;
  wire [41:0]  ref_conv_data;
  wire [38:0]  ref_pool_data;
  wire [229:0] ref_fc_data;
  wire [3:0]   ref_cls_data;

  cnn_top u_ref (
    .clk_i        (clk),
    .rst_ni       (ref_rst_n),
    .pixel_valid_i(ref_valid),
    .pixel_i      (ref_px),
    .conv1_valid_o(ref_conv_valid),
    .conv1_data_o (ref_conv_data),
    .pool1_valid_o(ref_pool_valid),
    .pool1_data_o (ref_pool_data),
    .fc1_valid_o  (ref_fc_valid),
    .fc1_data_o   (ref_fc_data),
    .class_valid_o(ref_cls_valid),
    .class_o      (ref_cls_data)
  );

  // ---- plusargs and pixels ---------------------------------------------------------------
  reg [7:0]        pixels [0:MaxImages*Pixels-1];
  reg [8*1024-1:0] pix_file;
  integer          images, seed, max_gap, max_errors;

  initial begin
    if (!$value$plusargs("pixels=%s", pix_file)) begin
      $display("tb_freerun: ERROR: +pixels=FILE is required");
      $display("tb_freerun: FAIL");
      $finish;
    end
    if (!$value$plusargs("images=%d", images)) images = 1;
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    if (!$value$plusargs("max_gap=%d", max_gap)) max_gap = 300;
    if (!$value$plusargs("max_errors=%d", max_errors)) max_errors = 20;
    if (images < 1 || images > MaxImages) begin
      $display("tb_freerun: ERROR: +images=%0d is not in 1..%0d", images, MaxImages);
      $display("tb_freerun: FAIL");
      $finish;
    end
    $readmemh(pix_file, pixels, 0, images * Pixels - 1);
    $display("tb_freerun: %0d images, seed %0d, max_gap %0d", images, seed, max_gap);
  end

  // ---- stimulus --------------------------------------------------------------------------
  localparam integer PhReset = 0, PhRun = 1, PhGap = 2;
  integer cycle = 0;        // index of the current rising edge
  integer phase = PhReset;
  integer rst_left = 4;     // edges still to sample rst high
  integer gap_left = 0;
  integer rel = 0;          // this edge's index counted from cycle 0 of the current image
  integer cycle0 = -1;      // absolute index of cycle 0 of the current image
  integer img = 0;          // image being fed
  integer n;
  integer rnd;
  integer period_min = 1 << 30, period_max = 0;  // edges from one cycle 0 to the next

  always @(posedge clk) begin
    cycle     <= cycle + 1;
    ref_rst_n <= (cycle >= 1);
    rnd        = $random(seed);
    px        <= rnd[7:0];      // garbage unless a pixel is due
    ref_valid <= 1'b0;
    ref_px    <= rnd[15:8];
    case (phase)
      PhReset: begin
        if (rst_left > 0) begin
          rst      <= 1'b1;
          rst_left  = rst_left - 1;
        end else begin
          rst    <= 1'b0;       // the next edge is cycle 0
          phase   = PhRun;
          rel     = -1;
          if (cycle0 >= 0 && cycle + 1 - cycle0 < period_min) period_min = cycle + 1 - cycle0;
          if (cycle0 >= 0 && cycle + 1 - cycle0 > period_max) period_max = cycle + 1 - cycle0;
          cycle0  = cycle + 1;
        end
      end
      PhRun: begin
        rel = rel + 1;
        n   = rel + 1 - StartDelay;  // the pixel the next edge (rel + 1) samples
        if (n >= 0 && n < Pixels) begin
          px        <= pixels[img * Pixels + n];
          ref_valid <= 1'b1;
          ref_px    <= pixels[img * Pixels + n];
        end
        if (done) begin  // the image is finished: idle, then reset for the next one
          img      = img + 1;
          phase    = PhGap;
          gap_left = (rnd >>> 16 & 32'h7fff) % (max_gap + 1);
          if (gap_left == 0 && img < images) begin  // reset sampled at the very next edge
            rst      <= 1'b1;
            rst_left  = (rnd >>> 20 & 3) % 3;
            phase     = PhReset;
          end
        end
      end
      default: begin  // PhGap
        if (gap_left > 0) begin
          gap_left = gap_left - 1;
        end else if (img < images) begin
          rst      <= 1'b1;
          rst_left  = (rnd >>> 20 & 3) % 3;  // 1..3 edges with rst high in all
          phase     = PhReset;
        end
      end
    endcase
  end

  // ---- monitor ---------------------------------------------------------------------------
  reg [41:0]  q_conv [0:QDepth-1];
  reg [38:0]  q_pool [0:QDepth-1];
  reg [229:0] q_fc   [0:QDepth-1];
  reg [3:0]   q_cls  [0:QDepth-1];
  integer     ref_conv_n = 0, ref_pool_n = 0, ref_fc_n = 0, ref_cls_n = 0;
  integer     dut_conv_n = 0, dut_pool_n = 0, dut_fc_n = 0, dut_cls_n = 0;
  integer     errors = 0;
  integer     k;
  // edges (from cycle 0) at which strobes were seen, min/max over the images
  integer     e_min [0:3], e_max [0:3];
  integer     seen_conv = 0, seen_pool = 0;
  initial for (k = 0; k < 4; k = k + 1) begin e_min[k] = 1 << 30; e_max[k] = -1; end

  task note_edge(input integer which);
    begin
      if (cycle - cycle0 < e_min[which]) e_min[which] = cycle - cycle0;
      if (cycle - cycle0 > e_max[which]) e_max[which] = cycle - cycle0;
    end
  endtask

  task report(input [8*64-1:0] what);
    begin
      errors = errors + 1;
      if (errors <= max_errors) $display("tb_freerun: MISMATCH at cycle %0d: %0s", cycle, what);
      if (errors == max_errors + 1) $display("tb_freerun: (further mismatch lines suppressed)");
    end
  endtask

  always @(posedge clk) begin
    if (ref_conv_valid) begin q_conv[ref_conv_n % QDepth] = ref_conv_data; ref_conv_n = ref_conv_n + 1; end
    if (ref_pool_valid) begin q_pool[ref_pool_n % QDepth] = ref_pool_data; ref_pool_n = ref_pool_n + 1; end
    if (ref_fc_valid)   begin q_fc[ref_fc_n % QDepth]     = ref_fc_data;   ref_fc_n = ref_fc_n + 1;     end
    if (ref_cls_valid)  begin q_cls[ref_cls_n % QDepth]   = ref_cls_data;  ref_cls_n = ref_cls_n + 1;   end

    if (ref_rst_n && (c1_v !== ref_conv_valid || p1_v !== ref_pool_valid ||
                      f1_v !== ref_fc_valid || done !== ref_cls_valid)) begin
      report("timing: strobes differ from cnn_top's");
      if (errors <= max_errors)
        $display("tb_freerun:   c1_v %b p1_v %b f1_v %b done %b, cnn_top %b %b %b %b (edge %0d of image %0d)",
                 c1_v, p1_v, f1_v, done, ref_conv_valid, ref_pool_valid, ref_fc_valid,
                 ref_cls_valid, cycle - cycle0, img);
    end

    if (done) begin
      note_edge(3);
      if (dut_conv_n != ConvBeats * (dut_cls_n + 1) || dut_pool_n != PoolBeats * (dut_cls_n + 1) ||
          dut_fc_n != dut_cls_n + 1) begin
        report("beat counts at done");
        if (errors <= max_errors)
          $display("tb_freerun:   image %0d: %0d conv1, %0d pool1, %0d fc1 beats so far", dut_cls_n,
                   dut_conv_n, dut_pool_n, dut_fc_n);
      end
      if (dut_cls_n >= ref_cls_n) report("done without a reference class");
      else if (label !== q_cls[dut_cls_n % QDepth]) begin
        report("label");
        if (errors <= max_errors)
          $display("tb_freerun:   image %0d: label %0d, reference %0d", dut_cls_n, label,
                   q_cls[dut_cls_n % QDepth]);
      end
      dut_cls_n = dut_cls_n + 1;
    end

    if (c1_v) begin
      if (dut_conv_n % ConvBeats == 0) note_edge(0);
      if (dut_conv_n >= ref_conv_n) report("conv1 beat without a reference beat");
      else if (c1_d !== q_conv[dut_conv_n % QDepth]) begin
        report("conv1");
        if (errors <= max_errors)
          $display("tb_freerun:   image %0d conv1 (%0d,%0d): got %0d %0d %0d, reference %0d %0d %0d",
                   dut_conv_n / ConvBeats, (dut_conv_n % ConvBeats) / 22, dut_conv_n % 22,
                   $signed(c1_d[0 +: 14]), $signed(c1_d[14 +: 14]), $signed(c1_d[28 +: 14]),
                   $signed(q_conv[dut_conv_n % QDepth][0 +: 14]),
                   $signed(q_conv[dut_conv_n % QDepth][14 +: 14]),
                   $signed(q_conv[dut_conv_n % QDepth][28 +: 14]));
      end
      dut_conv_n = dut_conv_n + 1;
    end

    if (p1_v) begin
      if (dut_pool_n % PoolBeats == 0) note_edge(1);
      if (dut_pool_n >= ref_pool_n) report("pool1 beat without a reference beat");
      else if (p1_d !== q_pool[dut_pool_n % QDepth]) begin
        report("pool1");
        if (errors <= max_errors)
          $display("tb_freerun:   image %0d pool1 (%0d,%0d): got %0d %0d %0d, reference %0d %0d %0d",
                   dut_pool_n / PoolBeats, (dut_pool_n % PoolBeats) / 11, dut_pool_n % 11,
                   p1_d[0 +: 13], p1_d[13 +: 13], p1_d[26 +: 13],
                   q_pool[dut_pool_n % QDepth][0 +: 13], q_pool[dut_pool_n % QDepth][13 +: 13],
                   q_pool[dut_pool_n % QDepth][26 +: 13]);
      end
      dut_pool_n = dut_pool_n + 1;
    end

    if (f1_v) begin
      note_edge(2);
      if (dut_fc_n >= ref_fc_n) report("fc1 beat without a reference beat");
      else if (f1_d !== q_fc[dut_fc_n % QDepth]) begin
        report("fc1");
        if (errors <= max_errors)
          for (k = 0; k < 10; k = k + 1)
            $display("tb_freerun:   image %0d fc1[%0d]: got %0d, reference %0d", dut_fc_n, k,
                     $signed(f1_d[23*k +: 23]), $signed(q_fc[dut_fc_n % QDepth][23*k +: 23]));
      end
      dut_fc_n = dut_fc_n + 1;
    end

    if (done && dut_cls_n == images) finish_run;
    if (cycle > images * (Pixels + 400) + 1000) begin
      $display("tb_freerun: ERROR: watchdog expired after %0d cycles (%0d of %0d labels)", cycle,
               dut_cls_n, images);
      errors = errors + 1;
      finish_run;
    end
  end

  task finish_run;
    begin
      if (ref_conv_n != dut_conv_n || ref_pool_n != dut_pool_n || ref_fc_n != dut_fc_n ||
          ref_cls_n != dut_cls_n) begin
        errors = errors + 1;
        $display("tb_freerun: ERROR: beat counts differ: conv1 %0d/%0d pool1 %0d/%0d fc1 %0d/%0d class %0d/%0d",
                 dut_conv_n, ref_conv_n, dut_pool_n, ref_pool_n, dut_fc_n, ref_fc_n, dut_cls_n,
                 ref_cls_n);
      end
      $display("tb_freerun: beats compared: conv1 %0d, pool1 %0d, fc1 %0d, class %0d",
               dut_conv_n, dut_pool_n, dut_fc_n, dut_cls_n);
      $display("tb_freerun: strobe edges from cycle 0 (min/max): first c1_v %0d/%0d, first p1_v %0d/%0d, f1_v %0d/%0d, done %0d/%0d",
               e_min[0], e_max[0], e_min[1], e_max[1], e_min[2], e_max[2], e_min[3], e_max[3]);
      $display("tb_freerun: image period (cycle 0 to the next image's cycle 0, edges) min %0d max %0d",
               period_min, period_max);
      if (errors == 0) $display("tb_freerun: PASS (%0d images)", images);
      else             $display("tb_freerun: FAIL (%0d errors)", errors);
      $finish;
    end
  endtask

endmodule
