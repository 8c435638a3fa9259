// tb_host: Icarus (-g2012) testbench that acts as the host of hs_load_top (default) or,
// compiled with -DHS_OBI, of hs_obi_top: it writes the weights and biases
// (vectors/weights/*.mem, packed as README.md says), then per image writes the image,
// starts the engine, waits for done and reads the class, and logs every tap beat for
// hs_ref.py compare, which holds them against the reference (cnn-cosim eval --dump).
//
// Parameters: Fault (passed to the top, default 0).
// Plusargs:
//   +pixels=FILE     $readmemh file of images*784 pixel bytes (hs_ref.py pixels), required
//   +weights=DIR     the seed network's weight directory (vectors/weights), required
//   +images=N        images to run (default 1)
//   +log=FILE        the beat log (default tb_host.log)
//   +seed=S          random seed (default 1)
//   +gap_pct=P       load port: chance of an idle cycle before a write; OBI: of idle cycles
//                    between transactions (default 20)
//   +split_pct=P     OBI: chance that an image word is written as two transactions with
//                    complementary random byte enables, garbage in the disabled lanes
//                    (default 30)
//   +restart_pct=P   chance per image of a second start (load port: a start_i pulse; OBI:
//                    a CTRL write) while the engine is busy, which it must ignore (default 10)
//   +zero_init       clear the five host memories at time 0 by hierarchical reference (like
//                    the zero initial values a Verilator model starts from), so that bytes
//                    the design never writes (Fault=3) read 0 instead of x
//
// Log lines (one per beat, image numbered from 0):
//   conv IMG K R C VALUE | pool IMG K R C VALUE | fc IMG O VALUE | class IMG CLASS CYCLES
// CYCLES: from the cycle the core's start_i is high to the first cycle done is high.
//
// Checks here (each failure counted in "errors"): every tap valid high for one cycle at a
// time; per image exactly 1452 conv1 beats in channel-major raster order, 363 pool1 beats
// in the same order, 10 fc1 beats in index order, all between start and done; stage_q
// going Idle/Done -> Conv -> Pool -> Fc -> Class -> Done; done a level (low from the
// cycle after start until the class, then high until the next start); class_o equal to
// the argmax of the logged logits (ties to the lowest). OBI: rvalid exactly in the cycle
// after each grant, never a grant in a response cycle, read-back of the written weights
// (mismatches counted apart: expected under Fault=3), STATUS busy while not done.
// A start with no done within Watchdog cycles ends the run with "tb_host: TIMEOUT"; an OBI
// request not granted within GntWatchdog cycles with "tb_host: NOGRANT"; otherwise the
// last line is "tb_host: FINISHED (errors E, readback mismatches M)".
module tb_host;

  parameter integer Fault       = 0;
  parameter integer MaxImages   = 10000;
  parameter integer Pixels      = 784;
  parameter integer Watchdog    = 40000;
  parameter integer GntWatchdog = 2000;

  reg clk_i  = 1'b0;
  reg rst_ni = 1'b0;

  always #5 clk_i = ~clk_i;

`ifdef HS_OBI
  reg         obi_req   = 1'b0;
  reg  [15:0] obi_addr  = 16'd0;
  reg         obi_we    = 1'b0;
  reg  [3:0]  obi_be    = 4'd0;
  reg  [31:0] obi_wdata = 32'd0;
  wire        obi_gnt;
  wire        obi_rvalid;
  wire [31:0] obi_rdata;

  hs_obi_top #(
    .Fault(Fault)
  ) u_dut (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .obi_req_i   (obi_req),
    .obi_gnt_o   (obi_gnt),
    .obi_addr_i  (obi_addr),
    .obi_we_i    (obi_we),
    .obi_be_i    (obi_be),
    .obi_wdata_i (obi_wdata),
    .obi_rvalid_o(obi_rvalid),
    .obi_rdata_o (obi_rdata)
  );
`else
  reg         load_we   = 1'b0;
  reg  [2:0]  load_sel  = 3'd0;
  reg  [11:0] load_addr = 12'd0;
  reg  [31:0] load_data = 32'd0;
  reg         start     = 1'b0;
  wire        done;
  wire [3:0]  cls;

  hs_load_top #(
    .Fault(Fault)
  ) u_dut (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .load_we_i  (load_we),
    .load_sel_i (load_sel),
    .load_addr_i(load_addr),
    .load_data_i(load_data),
    .start_i    (start),
    .done_o     (done),
    .class_o    (cls)
  );
`endif

  // ---- taps (the same paths in both tops) --------------------------------------------
  wire              conv_valid = u_dut.u_core.u_conv.conv_valid_q;
  wire signed [13:0] conv_v    = u_dut.u_core.u_conv.conv_q;
  wire [1:0]        conv_k     = u_dut.u_core.u_conv.conv_ch_q;
  wire [4:0]        conv_r     = u_dut.u_core.u_conv.conv_row_q;
  wire [4:0]        conv_c     = u_dut.u_core.u_conv.conv_col_q;
  wire              pool_valid = u_dut.u_core.u_pool.pool_valid_q;
  wire [12:0]       pool_v     = u_dut.u_core.u_pool.pool_q;
  wire [1:0]        pool_k     = u_dut.u_core.u_pool.pool_ch_q;
  wire [3:0]        pool_r     = u_dut.u_core.u_pool.pool_row_q;
  wire [3:0]        pool_c     = u_dut.u_core.u_pool.pool_col_q;
  wire              fc_valid   = u_dut.u_core.u_fc.logit_valid_q;
  wire signed [22:0] fc_v      = u_dut.u_core.u_fc.logit_q;
  wire [3:0]        fc_o       = u_dut.u_core.u_fc.logit_idx_q;
  wire [2:0]        stage      = u_dut.u_core.stage_q;
  wire              core_start = u_dut.u_core.start_i;
  wire              core_done  = u_dut.u_core.done_o;
  wire              core_busy  = u_dut.u_core.busy_o;
  wire              cls_valid  = u_dut.u_core.class_valid_q;
  wire [3:0]        core_class = u_dut.u_core.class_q;

  // ---- plusargs, weights, pixels -------------------------------------------------------
  reg [7:0]        pixels [0:MaxImages*Pixels-1];
  reg [7:0]        cw [0:146];
  reg [7:0]        cb [0:2];
  reg [7:0]        fw [0:3629];
  reg [7:0]        fb [0:9];
  reg [8*1024-1:0] pix_file, wdir, log_file, fname;
  integer          images, seed, gap_pct, split_pct, restart_pct, fd;
  integer          errors = 0, rb_mismatch = 0;
  integer          img = -1;  // the image being computed (taps are logged under it)

  task load_weights;
    begin
      $sformat(fname, "%0s/conv1_weight_1.mem", wdir); $readmemh(fname, cw, 0, 48);
      $sformat(fname, "%0s/conv1_weight_2.mem", wdir); $readmemh(fname, cw, 49, 97);
      $sformat(fname, "%0s/conv1_weight_3.mem", wdir); $readmemh(fname, cw, 98, 146);
      $sformat(fname, "%0s/conv1_bias.mem", wdir);     $readmemh(fname, cb);
      $sformat(fname, "%0s/fc_weight.mem", wdir);      $readmemh(fname, fw);
      $sformat(fname, "%0s/fc_bias.mem", wdir);        $readmemh(fname, fb);
      if (^cw[146] === 1'bx || ^cb[2] === 1'bx || ^fw[3629] === 1'bx || ^fb[9] === 1'bx) begin
        $display("tb_host: ERROR: weight files in %0s missing or short", wdir);
        $finish;
      end
    end
  endtask

  // ---- cycle counter and monitors ----------------------------------------------------
  integer cycle = 0;          // posedges so far; cycle n lasts from posedge n to n+1
  integer start_cycle = 0;
  integer n_conv, n_pool, n_fc;
  integer lat_min = 0, lat_max = 0, lat_last = 0;
  integer t_conv0, t_conv1, t_pool0, t_pool1, t_fc0, t_fc1;  // first/last beat - start
  reg     prev_conv = 1'b0, prev_pool = 1'b0, prev_fc = 1'b0, prev_done = 1'b0;
  reg     prev_start = 1'b0;
  reg [2:0] prev_stage = 3'd0;
  reg signed [22:0] best;
  reg [3:0]         best_idx;

  task fail(input [8*80-1:0] what);
    begin
      errors = errors + 1;
      if (errors <= 20) $display("tb_host: ERROR cycle %0d image %0d: %0s", cycle, img, what);
    end
  endtask

  always @(posedge clk_i) begin
    cycle <= cycle + 1;
    if (rst_ni) begin
      if (core_start && !core_busy) begin
        start_cycle = cycle;
        n_conv = 0; n_pool = 0; n_fc = 0;
      end
      if (conv_valid) begin
        $fwrite(fd, "conv %0d %0d %0d %0d %0d\n", img, conv_k, conv_r, conv_c, conv_v);
        if (prev_conv) fail("conv1 valid high two cycles in a row");
        if (n_conv != conv_k * 484 + conv_r * 22 + conv_c) fail("conv1 beat out of order");
        if (n_conv == 0) t_conv0 = cycle - start_cycle;
        t_conv1 = cycle - start_cycle;
        if (stage != 3'd1) fail("conv1 beat outside StConv");
        n_conv = n_conv + 1;
      end
      if (pool_valid) begin
        $fwrite(fd, "pool %0d %0d %0d %0d %0d\n", img, pool_k, pool_r, pool_c, pool_v);
        if (prev_pool) fail("pool1 valid high two cycles in a row");
        if (n_pool != pool_k * 121 + pool_r * 11 + pool_c) fail("pool1 beat out of order");
        if (n_pool == 0) t_pool0 = cycle - start_cycle;
        t_pool1 = cycle - start_cycle;
        if (stage != 3'd2) fail("pool1 beat outside StPool");
        n_pool = n_pool + 1;
      end
      if (fc_valid) begin
        $fwrite(fd, "fc %0d %0d %0d\n", img, fc_o, fc_v);
        if (prev_fc) fail("fc1 valid high two cycles in a row");
        if (n_fc != fc_o) fail("fc1 beat out of order");
        if (n_fc == 0) t_fc0 = cycle - start_cycle;
        t_fc1 = cycle - start_cycle;
        if (stage != 3'd3) fail("fc1 beat outside StFc");
        if (fc_o == 0 || fc_v > best) begin
          best     = fc_v;
          best_idx = fc_o;
        end
        n_fc = n_fc + 1;
      end
      if (cls_valid) begin
        if (n_conv != 1452 || n_pool != 363 || n_fc != 10) fail("beat counts at the class");
        if (core_class !== best_idx) fail("class is not the argmax of the logged logits");
        if (!core_done) fail("class_valid_q without done");
        lat_last = cycle - start_cycle;
        if (lat_min == 0 || cycle - start_cycle < lat_min) lat_min = cycle - start_cycle;
        if (cycle - start_cycle > lat_max) lat_max = cycle - start_cycle;
      end
      if (prev_done && !core_done && !prev_start) fail("done fell without a start");
      if (prev_start && prev_done && core_done) fail("done still high the cycle after start");
      if (!prev_done && core_done && !cls_valid) fail("done rose without class_valid_q");
      if (stage != prev_stage) begin
        case (stage)
          3'd1: if (prev_stage != 3'd0 && prev_stage != 3'd5) fail("stage: to Conv");
          3'd2: if (prev_stage != 3'd1) fail("stage: to Pool");
          3'd3: if (prev_stage != 3'd2) fail("stage: to Fc");
          3'd4: if (prev_stage != 3'd3) fail("stage: to Class");
          3'd5: if (prev_stage != 3'd4) fail("stage: to Done");
          default: fail("stage: unknown");
        endcase
      end
      prev_conv  = conv_valid;
      prev_pool  = pool_valid;
      prev_fc    = fc_valid;
      prev_done  = core_done;
      prev_start = core_start;
      prev_stage = stage;
    end
  end

`ifdef HS_OBI
  // OBI protocol monitor: rvalid exactly in the cycle after a grant, no grant meanwhile
  reg     granted_q = 1'b0;
  integer grants = 0, gnt_low = 0;

  always @(posedge clk_i) begin
    if (rst_ni) begin
      if (obi_rvalid !== granted_q) fail("rvalid is not exactly the cycle after a grant");
      if (obi_rvalid && obi_gnt) fail("gnt high in a response cycle");
      if (obi_req && !obi_gnt) gnt_low = gnt_low + 1;
      if (obi_req && obi_gnt) grants = grants + 1;
      granted_q <= obi_req && obi_gnt;
    end else begin
      granted_q <= 1'b0;
    end
  end

  // One transaction, called at a negedge (returns at a negedge, the response read):
  // req with stable address phase until granted, then the response in the next cycle.
  task obi(input [15:0] a, input w, input [3:0] b, input [31:0] d, output [31:0] r);
    integer waited;
    begin
      while (($random(seed) & 32'h7fff_ffff) % 100 < gap_pct) begin
        obi_addr  = $random(seed);  // garbage while req is low
        obi_wdata = $random(seed);
        obi_we    = $random(seed);
        obi_be    = $random(seed);
        @(negedge clk_i);
      end
      obi_req = 1'b1; obi_addr = a; obi_we = w; obi_be = b; obi_wdata = d;
      waited = 0;
      #1;
      while (!obi_gnt) begin
        waited = waited + 1;
        if (waited > GntWatchdog) begin
          $display("tb_host: no grant within %0d cycles (request to 0x%04h)", GntWatchdog, a);
          $display("tb_host: NOGRANT");
          $fclose(fd);
          $finish;
        end
        @(negedge clk_i); #1;
      end
      @(negedge clk_i);              // the grant edge has passed: response cycle
      obi_req = 1'b0; obi_addr = $random(seed); obi_wdata = $random(seed);
      #1;
      if (!obi_rvalid) fail("no rvalid in the cycle after the grant");
      r = obi_rdata;
    end
  endtask

  reg [31:0] rd;

  task write_word(input [2:0] sel, input [11:0] w, input [31:0] d, input [3:0] b);
    reg [15:0] base;
    begin
      case (sel)
        3'd0: base = 16'h1000;
        3'd1: base = 16'h2000;
        3'd2: base = 16'h2400;
        3'd3: base = 16'h4000;
        default: base = 16'h3000;
      endcase
      obi(base + {w, 2'b00}, 1'b1, b, d, rd);
    end
  endtask

  task read_word(input [2:0] sel, input [11:0] w, output [31:0] r);
    reg [15:0] base;
    begin
      case (sel)
        3'd0: base = 16'h1000;
        3'd1: base = 16'h2000;
        3'd2: base = 16'h2400;
        3'd3: base = 16'h4000;
        default: base = 16'h3000;
      endcase
      obi(base + {w, 2'b00}, 1'b0, 4'hf, 32'd0, r);
    end
  endtask
`else
  // One word on the load port, called at a negedge (returns at a negedge)
  task write_word(input [2:0] sel, input [11:0] w, input [31:0] d, input [3:0] b);
    begin
      if (b != 4'hf) fail("load port: partial word");
      while (($random(seed) & 32'h7fff_ffff) % 100 < gap_pct) begin
        load_sel  = $random(seed);  // garbage while load_we is low
        load_addr = $random(seed);
        load_data = $random(seed);
        @(negedge clk_i);
      end
      load_we = 1'b1; load_sel = sel; load_addr = w; load_data = d;
      @(negedge clk_i);
      load_we = 1'b0;
    end
  endtask
`endif

  // ---- the host ------------------------------------------------------------------------
  integer i, j, m, wait_cycles, restarts = 0;
  reg [31:0] word, want, g;
  reg [3:0]  mask;
  reg [31:0] lanes;

  function [31:0] pack4(input [7:0] b0, input [7:0] b1, input [7:0] b2, input [7:0] b3);
    pack4 = {b3, b2, b1, b0};
  endfunction

  function [31:0] sext(input [7:0] v);
    sext = {{24{v[7]}}, v};
  endfunction

  initial begin
    if (!$value$plusargs("pixels=%s", pix_file) || !$value$plusargs("weights=%s", wdir)) begin
      $display("tb_host: ERROR: +pixels=FILE and +weights=DIR are required");
      $finish;
    end
    if (!$value$plusargs("images=%d", images)) images = 1;
    if (!$value$plusargs("log=%s", log_file)) log_file = "tb_host.log";
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    if (!$value$plusargs("gap_pct=%d", gap_pct)) gap_pct = 20;
    if (!$value$plusargs("split_pct=%d", split_pct)) split_pct = 30;
    if (!$value$plusargs("restart_pct=%d", restart_pct)) restart_pct = 10;
    if ($test$plusargs("zero_init")) begin
      for (i = 0; i < 196; i = i + 1) u_dut.u_core.u_image.mem_q[i] = 32'd0;
      for (i = 0; i < 37; i = i + 1)  u_dut.u_core.u_conv_w.mem_q[i] = 32'd0;
      for (i = 0; i < 3; i = i + 1)   u_dut.u_core.u_conv_b.mem_q[i] = 32'd0;
      for (i = 0; i < 908; i = i + 1) u_dut.u_core.u_fc_w.mem_q[i] = 32'd0;
      for (i = 0; i < 10; i = i + 1)  u_dut.u_core.u_fc_b.mem_q[i] = 32'd0;
    end
    load_weights;
    $readmemh(pix_file, pixels, 0, images * Pixels - 1);
    fd = $fopen(log_file, "w");
`ifdef HS_OBI
    $display("tb_host: hs_obi_top, Fault %0d, %0d images, seed %0d", Fault, images, seed);
`else
    $display("tb_host: hs_load_top, Fault %0d, %0d images, seed %0d", Fault, images, seed);
`endif

    repeat (3) @(negedge clk_i);
    rst_ni = 1'b1;
    @(negedge clk_i);

    // weights and biases, once
    for (i = 0; i < 37; i = i + 1)
      write_word(3'd1, i, pack4(cw[4*i], (4*i+1 < 147) ? cw[4*i+1] : 8'h00,
                                (4*i+2 < 147) ? cw[4*i+2] : 8'h00,
                                (4*i+3 < 147) ? cw[4*i+3] : 8'h00), 4'hf);
    for (i = 0; i < 3; i = i + 1) write_word(3'd2, i, sext(cb[i]), 4'hf);
    for (i = 0; i < 908; i = i + 1)
      write_word(3'd3, i, pack4(fw[4*i], fw[4*i+1], (4*i+2 < 3630) ? fw[4*i+2] : 8'h00,
                                (4*i+3 < 3630) ? fw[4*i+3] : 8'h00), 4'hf);
    for (i = 0; i < 10; i = i + 1) write_word(3'd4, i, sext(fb[i]), 4'hf);

`ifdef HS_OBI
    // read back every weight and bias word
    for (i = 0; i < 37; i = i + 1) begin
      read_word(3'd1, i, word);
      want = pack4(cw[4*i], (4*i+1 < 147) ? cw[4*i+1] : 8'h00, (4*i+2 < 147) ? cw[4*i+2] : 8'h00,
                   (4*i+3 < 147) ? cw[4*i+3] : 8'h00);
      if (word !== want) rb_mismatch = rb_mismatch + 1;
    end
    for (i = 0; i < 3; i = i + 1) begin
      read_word(3'd2, i, word);
      if (word !== sext(cb[i])) rb_mismatch = rb_mismatch + 1;
    end
    for (i = 0; i < 908; i = i + 1) begin
      read_word(3'd3, i, word);
      want = pack4(fw[4*i], fw[4*i+1], (4*i+2 < 3630) ? fw[4*i+2] : 8'h00,
                   (4*i+3 < 3630) ? fw[4*i+3] : 8'h00);
      if (word !== want) rb_mismatch = rb_mismatch + 1;
    end
    for (i = 0; i < 10; i = i + 1) begin
      read_word(3'd4, i, word);
      if (word !== sext(fb[i])) rb_mismatch = rb_mismatch + 1;
    end
    // nothing mapped: writes ignored, reads 0
    obi(16'h0ffc, 1'b1, 4'hf, 32'hffff_ffff, word);
    obi(16'h0ffc, 1'b0, 4'hf, 32'd0, word);
    if (word !== 32'd0) fail("unmapped address does not read 0");
    obi(16'h0004, 1'b0, 4'hf, 32'd0, word);
    if (word !== 32'd0) fail("STATUS after reset is not 0");
`endif

    for (m = 0; m < images; m = m + 1) begin
      // the image: 196 words, 4 pixels per word, little-endian
      for (i = 0; i < 196; i = i + 1) begin
        word = pack4(pixels[m*Pixels + 4*i], pixels[m*Pixels + 4*i + 1],
                     pixels[m*Pixels + 4*i + 2], pixels[m*Pixels + 4*i + 3]);
`ifdef HS_OBI
        if (($random(seed) & 32'h7fff_ffff) % 100 < split_pct) begin
          // two writes with complementary byte enables, garbage in the disabled lanes
          mask  = 4'd1 + (($random(seed) & 32'h7fff_ffff) % 14);  // 1 .. 14
          lanes = {{8{mask[3]}}, {8{mask[2]}}, {8{mask[1]}}, {8{mask[0]}}};
          g     = $random(seed);
          write_word(3'd0, i, (word & lanes) | (g & ~lanes), mask);
          g     = $random(seed);
          write_word(3'd0, i, (word & ~lanes) | (g & lanes), ~mask);
        end else begin
          write_word(3'd0, i, word, 4'hf);
        end
`else
        write_word(3'd0, i, word, 4'hf);
`endif
      end
`ifdef HS_OBI
      // read back one image word (a random one)
      j = ($random(seed) & 32'h7fff_ffff) % 196;
      read_word(3'd0, j, word);
      want = pack4(pixels[m*Pixels + 4*j], pixels[m*Pixels + 4*j + 1],
                   pixels[m*Pixels + 4*j + 2], pixels[m*Pixels + 4*j + 3]);
      if (word !== want) rb_mismatch = rb_mismatch + 1;
`endif
      img = m;
`ifdef HS_OBI
      obi(16'h0000, 1'b1, 4'h1, 32'h0000_0001, word);  // CTRL: start
      wait_cycles = 0;
      word = 32'd0;
      if (($random(seed) & 32'h7fff_ffff) % 100 < restart_pct) begin
        repeat (($random(seed) & 32'h7fff_ffff) % 11000) @(negedge clk_i);
        obi(16'h0000, 1'b1, 4'hf, 32'hffff_ffff, word);  // start again while busy: ignored
        restarts = restarts + 1;
      end
      while (word[0] !== 1'b1) begin
        obi(16'h0004, 1'b0, 4'hf, 32'd0, word);       // STATUS
        if (word[0] !== 1'b1 && word[1] !== 1'b1) fail("STATUS: neither done nor busy");
        if (word[0] === 1'b1 && word[1] === 1'b1) fail("STATUS: done and busy");
        if (word[31:2] !== 30'd0) fail("STATUS: upper bits set");
        wait_cycles = cycle - start_cycle;
        if (wait_cycles > Watchdog) begin
          $display("tb_host: image %0d: done never rose within %0d cycles of start (stage %0d)",
                   m, Watchdog, stage);
          $display("tb_host: TIMEOUT");
          $fclose(fd);
          $finish;
        end
      end
      obi(16'h0008, 1'b0, 4'hf, 32'd0, word);         // CLASS
      if (word[31:4] !== 28'd0) fail("CLASS: upper bits set");
      $fwrite(fd, "class %0d %0d %0d\n", m, word[3:0], lat_last);
`else
      start = 1'b1;
      @(negedge clk_i);
      start = 1'b0;
      wait_cycles = 0;
      j = -1;
      if (($random(seed) & 32'h7fff_ffff) % 100 < restart_pct) begin
        j = 1 + ($random(seed) & 32'h7fff_ffff) % 11000;
        restarts = restarts + 1;
      end
      while (done !== 1'b1) begin
        start = (wait_cycles == j);  // start again while busy: ignored
        @(negedge clk_i);
        start = 1'b0;
        wait_cycles = wait_cycles + 1;
        if (wait_cycles > Watchdog) begin
          $display("tb_host: image %0d: done never rose within %0d cycles of start (stage %0d)",
                   m, Watchdog, stage);
          $display("tb_host: TIMEOUT");
          $fclose(fd);
          $finish;
        end
      end
      // done is a level: it stays high (and class_o valid) until the next start
      j = ($random(seed) & 32'h7fff_ffff) % 5;
      repeat (j) begin
        @(negedge clk_i);
        if (done !== 1'b1) fail("done fell before the next start");
      end
      $fwrite(fd, "class %0d %0d %0d\n", m, cls, lat_last);
`endif
    end

    $fclose(fd);
    $display("tb_host: cycles start_i -> done_o: min %0d max %0d", lat_min, lat_max);
    $display("tb_host: last image, cycles after start_i: conv1 beats %0d .. %0d, pool1 %0d .. %0d, fc1 %0d .. %0d, done %0d",
             t_conv0, t_conv1, t_pool0, t_pool1, t_fc0, t_fc1, lat_last);
`ifdef HS_OBI
    $display("tb_host: OBI: %0d grants, %0d cycles with req high and gnt low", grants, gnt_low);
`endif
    $display("tb_host: %0d cycles in all, %0d starts while busy (ignored)", cycle, restarts);
    $display("tb_host: FINISHED (errors %0d, readback mismatches %0d)", errors, rb_mismatch);
    $finish;
  end

endmodule
